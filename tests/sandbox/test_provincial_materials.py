"""Applications that list material files, and transfers (SPEC §3, §5): each failure names its field."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import JINLING, YUNQI, certificate_body, file_headers, pdf_bytes, transfer_body


def submit(api: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return api.post("/api/applications", json=body, headers={"Idempotency-Key": body["application_id"]})


def upload(api: httpx.Client, body: dict[str, Any], material: str = "unit_letter") -> dict[str, str]:
    """PUT a file under the body's application id and list it in the body's materials; returns the reference."""
    data, file_id = pdf_bytes(), str(uuid.uuid4())
    response = api.put(
        f"/api/applications/{body['application_id']}/files/{file_id}",
        content=data,
        headers=file_headers(material, data),
    )
    assert response.status_code == 201, response.text
    ref = {"file_id": file_id, "material": material, "sha256": hashlib.sha256(data).hexdigest()}
    body.setdefault("materials", []).append(ref)
    return ref


def assert_invalid(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "validation_error" and error["field"] == field, error
    assert re.search(r"[\u4e00-\u9fff]", error["message"])
    return str(error["message"])


def _act(api: httpx.Client, application_id: str, action: str, **body: str) -> httpx.Response:
    return httpx.post(f"{api.base_url}/sandbox/applications/{application_id}/{action}", json=body or None)


# --- the files an application lists ---------------------------------------------------------------------------


def test_listing_a_file_not_uploaded(api: httpx.Client) -> None:
    body = certificate_body("zhangwei")
    body["materials"] = [{"file_id": str(uuid.uuid4()), "material": "unit_letter", "sha256": "0" * 64}]
    message = assert_invalid(submit(api, body), "materials[0].file_id")
    assert "上传" in message


def test_a_file_uploaded_under_another_application_does_not_count(api: httpx.Client) -> None:
    other = certificate_body("zhangwei")
    ref = upload(api, other)
    body = certificate_body("zhangwei", materials=[ref])
    assert_invalid(submit(api, body), "materials[0].file_id")


def test_listed_file_must_match_what_was_put(api: httpx.Client) -> None:
    body = certificate_body("zhangwei")
    ref = upload(api, body)
    body["materials"] = [{**ref, "sha256": hashlib.sha256(b"other").hexdigest()}]
    assert_invalid(submit(api, body), "materials[0].file_id")
    body["materials"] = [{**ref, "material": "review_letter"}]
    assert_invalid(submit(api, body), "materials[0].material")
    body["materials"] = [{**ref, "sha256": "xyz"}]
    assert_invalid(submit(api, body), "materials[0].sha256")
    body["materials"] = [ref, ref]
    assert_invalid(submit(api, body), "materials[1].file_id")
    body["materials"] = [{**ref, "material": "photo"}]
    assert_invalid(submit(api, body), "materials[0].material")
    body["materials"] = [{**ref, "extra": 1}]
    bad = submit(api, body)
    assert bad.status_code == 400 and bad.json()["field"] == "materials[0].extra"
    body["materials"] = [{**ref, "sha256": ref["sha256"].upper()}]
    assert submit(api, body).status_code == 201


def test_materials_are_part_of_the_idempotent_body(api: httpx.Client) -> None:
    body = certificate_body("lina")
    upload(api, body)
    first = submit(api, body)
    assert first.status_code == 201, first.text
    assert submit(api, body).status_code == 200 and submit(api, body).json() == first.json()
    second = upload(api, {"application_id": body["application_id"]})
    changed = submit(api, {**body, "materials": [*body["materials"], second]})
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_mismatch"
    held = httpx.get(f"{api.base_url}/sandbox/applications/{body['application_id']}").json()
    assert held["application"]["materials"] == body["materials"] and held["submit_count"] == 3
    assert [f["file_id"] for f in held["files"]] == [body["materials"][0]["file_id"], second["file_id"]]


# --- certificates: 单位委托 needs a 单位介绍信 -------------------------------------------------------------------


def test_unit_entrusted_certificate_needs_a_unit_letter(api: httpx.Client) -> None:
    body = certificate_body("lina")
    message = assert_invalid(submit(api, body), "materials")
    assert "单位介绍信" in message and "杭州云栖科技有限公司" in message
    upload(api, body, "review_letter")  # a 政审函 is not a 单位介绍信
    assert_invalid(submit(api, body), "materials")
    upload(api, body)
    assert submit(api, body).status_code == 201


@pytest.mark.parametrize("username", ["zhangwei", "wangfang", "sunhao"])
def test_other_certificates_need_no_material(api: httpx.Client, username: str) -> None:
    assert submit(api, certificate_body(username)).status_code == 201


def test_chenchen_is_unit_entrusted_too(api: httpx.Client) -> None:
    archive = api.post("/api/archives/lookup", json={"id_type": "01", "id_number": "330108199706150822"}).json()
    assert archive["nature"] == "1" and archive["unit"] == YUNQI and archive["agency"]["code"] == "33010001"
    body = certificate_body("chenchen")
    assert_invalid(submit(api, body), "materials")
    upload(api, body)
    assert submit(api, body).status_code == 201


# --- transfers ---------------------------------------------------------------------------------------------------


def test_personal_transfer_needs_no_material(api: httpx.Client) -> None:
    body = transfer_body("zhangwei", "32010201")
    response = submit(api, body)
    assert response.status_code == 201, response.text
    held = httpx.get(f"{api.base_url}/sandbox/applications/{body['application_id']}").json()
    assert held["kind"] == "archive_transfer"
    assert held["application"]["transfer"] == body["transfer"]
    assert held["application"]["delivery"] == "electronic" and held["application"]["purpose"] == ""
    assert submit(api, body).status_code == 200


def test_new_hire_transfer_needs_the_new_employers_letter(api: httpx.Client) -> None:
    body = transfer_body("sunhao", "33010001", "1", transfer={"initiated_by": "unit"})
    message = assert_invalid(submit(api, body), "materials")
    assert "新单位（杭州云栖科技有限公司）" in message and "已提交 0 份" in message
    upload(api, body)
    assert submit(api, body).status_code == 201


def test_leaving_a_unit_entrusted_archive_needs_the_current_employers_letter(api: httpx.Client) -> None:
    body = transfer_body("lina", "32010201", "2")
    message = assert_invalid(submit(api, body), "materials")
    assert "现存档单位（杭州云栖科技有限公司）" in message
    upload(api, body)
    assert submit(api, body).status_code == 201


def test_unit_to_unit_transfer_needs_two_letters(api: httpx.Client) -> None:
    body = transfer_body("chenchen", "32010201", "1", transfer={"unit": JINLING})
    assert "2 份单位介绍信" in assert_invalid(submit(api, body), "materials")
    upload(api, body)
    message = assert_invalid(submit(api, body), "materials")
    assert "南京金陵软件有限公司" in message and "杭州云栖科技有限公司" in message and "已提交 1 份" in message
    upload(api, body)
    assert submit(api, body).status_code == 201


def test_same_unit_writes_one_letter(api: httpx.Client) -> None:
    body = transfer_body("chenchen", "33010601", "1")  # 杭州 → 西湖区, still with 杭州云栖
    assert_invalid(submit(api, body), "materials")
    upload(api, body)
    assert submit(api, body).status_code == 201


@pytest.mark.parametrize(
    ("username", "target", "nature", "transfer", "field"),
    [
        ("sunhao", "33010001", "1", {"unit": {**YUNQI, "uscc": "91330106MA27QK3B20"}}, "transfer.unit.uscc"),
        ("sunhao", "33010001", "1", {"unit": {**YUNQI, "uscc": "91330106MA27QK3B2"}}, "transfer.unit.uscc"),
        ("sunhao", "33010001", "1", {"unit": {**YUNQI, "uscc": "91330106ma27qk3b27"}}, "transfer.unit.uscc"),
        ("sunhao", "33010001", "1", {"unit": {**YUNQI, "name": "云" * 301}}, "transfer.unit.name"),
        ("sunhao", "33010001", "1", {"unit": {**YUNQI, "name": " "}}, "transfer.unit.name"),
        ("sunhao", "33010001", "1", {"unit": None}, "transfer.unit"),
        ("sunhao", "33010001", "2", {"unit": YUNQI}, "transfer.unit"),
        ("sunhao", "33019999", "2", {}, "transfer.target_agency_code"),
        ("sunhao", "5201000", "2", {}, "transfer.target_agency_code"),
        ("sunhao", "52010001", "2", {}, "transfer.target_agency_code"),
        ("lina", "33010001", "1", {}, "transfer.target_agency_code"),
        ("sunhao", "33010001", "3", {}, "transfer.target_nature"),
        ("sunhao", "33010001", "2", {"initiated_by": "unit"}, "transfer.initiated_by"),
        ("sunhao", "33010001", "2", {"initiated_by": "hr"}, "transfer.initiated_by"),
    ],
)
def test_transfer_validation(
    api: httpx.Client, username: str, target: str, nature: str, transfer: dict[str, Any], field: str
) -> None:
    body = transfer_body(username, target, nature, transfer=transfer)
    upload(api, body)
    upload(api, body)
    assert_invalid(submit(api, body), field)


def test_same_agency_is_refused_with_a_reason(api: httpx.Client) -> None:
    message = assert_invalid(submit(api, transfer_body("zhangwei", "11010501")), "transfer.target_agency_code")
    assert "相同" in message


def test_transfer_block_only_for_transfers(api: httpx.Client) -> None:
    transfer = transfer_body("zhangwei", "32010201")
    del transfer["transfer"]
    assert_invalid(submit(api, transfer), "transfer")
    certificate = certificate_body("zhangwei", transfer=transfer_body("zhangwei", "32010201")["transfer"])
    assert_invalid(submit(api, certificate), "transfer")
    missing = transfer_body("zhangwei", "32010201")
    del missing["transfer"]["initiated_by"]
    assert_invalid(submit(api, missing), "transfer.initiated_by")


def test_certificates_still_need_a_purpose(api: httpx.Client) -> None:
    body = certificate_body("zhangwei")
    del body["purpose"]
    assert_invalid(submit(api, body), "purpose")
    assert_invalid(submit(api, certificate_body("zhangwei", purpose=None)), "purpose")
    assert_invalid(submit(api, certificate_body("zhangwei", delivery=None)), "delivery")


def test_a_transfer_may_send_null_delivery_and_purpose(api: httpx.Client) -> None:
    body = {**transfer_body("zhangwei", "32010201"), "delivery": None, "purpose": None}
    assert submit(api, body).status_code == 201
    body = {**transfer_body("zhangwei", "32010201"), "purpose": "p" * 201}
    assert_invalid(submit(api, body), "purpose")


def test_no_archive_no_transfer(api: httpx.Client) -> None:
    body = transfer_body("zhangwei", "32010201")
    body["applicant"] = {"name": "刘洋", "id_type": "01", "id_number": "52010220000101003X", "phone": "13985012345"}
    assert "转递" in assert_invalid(submit(api, body), "archive_no")


def test_a_transfer_completes_without_a_certificate(api: httpx.Client) -> None:
    body = transfer_body("sunhao", "33010001", "1")
    upload(api, body)
    assert submit(api, body).status_code == 201
    application_id = body["application_id"]
    for action, extra in (
        ("accept", {}),
        ("issue_letter", {}),
        ("send", {"method": "confidential", "tracking_no": "JY2026112100001"}),
        ("receive", {}),
    ):
        assert _act(api, application_id, action, **extra).status_code == 200
    done = _act(api, application_id, "complete")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["certificate_no"] is None
    result = api.get(f"/api/applications/{application_id}/result")
    assert result.status_code == 409 and result.json()["code"] == "no_result"
    changes = api.get("/api/status-changes", params={"after": 0, "limit": 500}).json()["changes"]
    assert [c["status"] for c in changes if c["application_id"] == application_id] == [
        "accepted",
        "letter_issued",
        "sent",
        "received",
        "completed",
    ]
