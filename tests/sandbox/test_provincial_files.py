"""Material files: PUT before the application, idempotent by (application_id, file_id), listed, counted."""

from __future__ import annotations

import hashlib
import re
import uuid

import httpx
import pytest

from tests.sandbox.helpers import LiveServer, file_headers, pdf_bytes

MAX_FILE_BYTES = 20 * 1024 * 1024


def put(
    api: httpx.Client, application_id: str, file_id: str, data: bytes, material: str = "unit_letter", **headers: str
) -> httpx.Response:
    return api.put(
        f"/api/applications/{application_id}/files/{file_id}",
        content=data,
        headers={**file_headers(material, data), **headers},
    )


def sandbox_files(api: httpx.Client, application_id: str) -> list[dict[str, object]]:
    response = httpx.get(f"{api.base_url}/sandbox/applications/{application_id}/files")
    assert response.status_code == 200
    return list(response.json()["files"])


def test_put_new_then_replay(api: httpx.Client) -> None:
    application_id, file_id, data = str(uuid.uuid4()), str(uuid.uuid4()), pdf_bytes()
    first = put(api, application_id, file_id, data)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert set(answer) == {"file_id", "material", "sha256", "size", "content_type", "received_at"}
    assert answer["file_id"] == file_id and answer["material"] == "unit_letter"
    assert answer["sha256"] == hashlib.sha256(data).hexdigest() and answer["size"] == len(data)
    assert answer["content_type"] == "application/pdf"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", answer["received_at"])
    assert sandbox_files(api, application_id)[0]["put_count"] == 1

    again = put(api, application_id, file_id, data)
    assert again.status_code == 200 and again.json() == answer
    assert sandbox_files(api, application_id)[0]["put_count"] == 2

    listed = api.get(f"/api/applications/{application_id}/files")
    assert listed.status_code == 200 and listed.json() == {"files": [answer]}


def test_put_mismatch(api: httpx.Client) -> None:
    application_id, file_id, data = str(uuid.uuid4()), str(uuid.uuid4()), pdf_bytes()
    assert put(api, application_id, file_id, data).status_code == 201
    other_bytes = put(api, application_id, file_id, pdf_bytes())
    assert other_bytes.status_code == 422
    assert other_bytes.json()["code"] == "idempotency_mismatch" and other_bytes.json()["field"] == "file_id"
    other_material = put(api, application_id, file_id, data, material="review_letter")
    assert other_material.status_code == 422 and other_material.json()["code"] == "idempotency_mismatch"
    # a refused PUT is not counted, and the stored file is untouched
    [held] = sandbox_files(api, application_id)
    assert held["put_count"] == 1 and held["sha256"] == hashlib.sha256(data).hexdigest()
    download = httpx.get(f"{api.base_url}/sandbox/applications/{application_id}/files/{file_id}")
    assert download.content == data


def test_list_keeps_order_and_separates_applications(api: httpx.Client) -> None:
    application_id, other_id = str(uuid.uuid4()), str(uuid.uuid4())
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for n, file_id in enumerate(ids):
        material = "review_letter" if n == 1 else "unit_letter"
        assert put(api, application_id, file_id, pdf_bytes(), material=material).status_code == 201
    assert put(api, other_id, str(uuid.uuid4()), pdf_bytes()).status_code == 201
    files = api.get(f"/api/applications/{application_id}/files").json()["files"]
    assert [f["file_id"] for f in files] == ids
    assert [f["material"] for f in files] == ["unit_letter", "review_letter", "unit_letter"]
    assert api.get(f"/api/applications/{uuid.uuid4()}/files").json() == {"files": []}


def test_sha_mismatch(api: httpx.Client) -> None:
    application_id, file_id, data = str(uuid.uuid4()), str(uuid.uuid4()), pdf_bytes()
    wrong = hashlib.sha256(data + b"x").hexdigest()
    response = put(api, application_id, file_id, data, **{"X-Content-SHA256": wrong})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error" and body["field"] == "X-Content-SHA256"
    assert re.search(r"[\u4e00-\u9fff]", body["message"])
    assert sandbox_files(api, application_id) == []


def test_upper_case_sha_is_accepted(api: httpx.Client) -> None:
    data = pdf_bytes()
    response = put(
        api, str(uuid.uuid4()), "letter-1", data, **{"X-Content-SHA256": hashlib.sha256(data).hexdigest().upper()}
    )
    assert response.status_code == 201 and response.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_not_a_pdf(api: httpx.Client) -> None:
    data = b"GIF89a not a pdf at all"
    response = put(api, str(uuid.uuid4()), str(uuid.uuid4()), data)
    assert response.status_code == 422 and response.json()["field"] == "file"
    assert "PDF" in response.json()["message"]
    empty = put(api, str(uuid.uuid4()), str(uuid.uuid4()), b"")
    assert empty.status_code == 422 and empty.json()["field"] == "file"


def test_only_application_pdf(api: httpx.Client) -> None:
    data = pdf_bytes()
    response = put(api, str(uuid.uuid4()), str(uuid.uuid4()), data, **{"Content-Type": "application/octet-stream"})
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type" and response.json()["field"] == "Content-Type"
    with_charset = put(api, str(uuid.uuid4()), str(uuid.uuid4()), data, **{"Content-Type": "Application/PDF; x=1"})
    assert with_charset.status_code == 201


def test_over_size(api: httpx.Client) -> None:
    application_id = str(uuid.uuid4())
    at_limit = b"%PDF-" + b"0" * (MAX_FILE_BYTES - 5)
    assert put(api, application_id, "at-limit", at_limit).status_code == 201
    over = at_limit + b"0"
    response = put(api, application_id, "over", over)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large" and "20 MB" in response.json()["message"]
    assert [f["file_id"] for f in sandbox_files(api, application_id)] == ["at-limit"]


@pytest.mark.parametrize(
    ("headers", "status", "field"),
    [
        ({"X-Material": "photo"}, 422, "X-Material"),
        ({"X-Material": ""}, 400, "X-Material"),
        ({"X-Content-SHA256": ""}, 400, "X-Content-SHA256"),
        ({"X-Content-SHA256": "abc"}, 422, "X-Content-SHA256"),
    ],
)
def test_header_errors(api: httpx.Client, headers: dict[str, str], status: int, field: str) -> None:
    response = put(api, str(uuid.uuid4()), str(uuid.uuid4()), pdf_bytes(), **headers)
    assert response.status_code == status and response.json()["field"] == field


@pytest.mark.parametrize(
    ("application_id", "file_id", "field"),
    [
        ("not-a-uuid", "f1", "application_id"),
        ("0b6f7e4e-3a35-4c8e-9a37-5d0b8d1c2e3f", "-lead", "file_id"),
        ("0b6f7e4e-3a35-4c8e-9a37-5d0b8d1c2e3f", "a b", "file_id"),
        ("0b6f7e4e-3a35-4c8e-9a37-5d0b8d1c2e3f", "a.pdf", "file_id"),
        ("0b6f7e4e-3a35-4c8e-9a37-5d0b8d1c2e3f", "x" * 65, "file_id"),
    ],
)
def test_ids_are_checked(api: httpx.Client, application_id: str, file_id: str, field: str) -> None:
    response = put(api, application_id, file_id, pdf_bytes())
    assert response.status_code == 422 and response.json()["field"] == field


def test_files_need_a_service_token(api: httpx.Client) -> None:
    data = pdf_bytes()
    url = f"{api.base_url}/api/applications/{uuid.uuid4()}/files/{uuid.uuid4()}"
    assert httpx.put(url, content=data, headers=file_headers("unit_letter", data)).status_code == 401
    assert httpx.get(f"{api.base_url}/api/applications/{uuid.uuid4()}/files").status_code == 401


def test_faults_apply_to_files(api: httpx.Client) -> None:
    base = str(api.base_url)
    application_id, file_id, data = str(uuid.uuid4()), str(uuid.uuid4()), pdf_bytes()
    httpx.put(f"{base}/sandbox/faults", json={"mode": "down", "delay_seconds": 0})
    down = put(api, application_id, file_id, data)
    assert down.status_code == 503 and down.json()["code"] == "unavailable"
    assert api.get(f"/api/applications/{application_id}/files").status_code == 503
    assert sandbox_files(api, application_id) == []

    httpx.put(f"{base}/sandbox/faults", json={"mode": "timeout_after_commit", "delay_seconds": 1.5})
    with pytest.raises(httpx.ReadTimeout):
        api.put(
            f"/api/applications/{application_id}/files/{file_id}",
            content=data,
            headers=file_headers("unit_letter", data),
            timeout=0.5,
        )
    # stored before the stall: the client lists the files after a timeout instead of sending again
    httpx.put(f"{base}/sandbox/faults", json={"mode": "none", "delay_seconds": 0})
    [listed] = api.get(f"/api/applications/{application_id}/files").json()["files"]
    assert listed["file_id"] == file_id and listed["sha256"] == hashlib.sha256(data).hexdigest()
    assert sandbox_files(api, application_id)[0]["put_count"] == 1


def test_bytes_are_kept_next_to_the_database(api: httpx.Client, live_provincial: LiveServer) -> None:
    application_id, file_id, data = str(uuid.uuid4()), "letter", pdf_bytes()
    assert put(api, application_id, file_id, data).status_code == 201
    assert live_provincial.data_dir is not None
    folder = live_provincial.data_dir / "provincial"
    assert (folder / "files" / application_id / f"{file_id}.pdf").read_bytes() == data
    assert (folder / "provincial.sqlite3").exists()
    assert not list((folder / "files" / application_id).glob(".upload-*"))  # no temporary files left


def test_download(api: httpx.Client) -> None:
    application_id, file_id, data = str(uuid.uuid4()), str(uuid.uuid4()), pdf_bytes()
    put(api, application_id, file_id, data, material="review_letter")
    response = httpx.get(f"{api.base_url}/sandbox/applications/{application_id}/files/{file_id}")
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="{file_id}.pdf"'
    missing = httpx.get(f"{api.base_url}/sandbox/applications/{application_id}/files/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "file_not_found"
