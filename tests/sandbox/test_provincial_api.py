"""The provincial API as docs/provincial-api.md describes it, over real HTTP with real service tokens."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import LiveServer, application_body, certificate_body


def submit(api: httpx.Client, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    return api.post("/api/applications", json=body, headers={"Idempotency-Key": key or body["application_id"]})


def test_healthz_and_openapi(live_provincial: LiveServer) -> None:
    assert httpx.get(f"{live_provincial.url}/healthz").json() == {"status": "ok"}
    schema = httpx.get(f"{live_provincial.url}/schema/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/archives/lookup",
        "/api/agencies",
        "/api/applications",
        "/api/status-changes",
        "/api/applications/{application_id}",
        "/api/applications/{application_id}/result",
        "/api/applications/{application_id}/files",
        "/api/applications/{application_id}/files/{file_id}",
    ):
        assert path in paths, path
    assert "/" not in paths
    assert schema["components"]["securitySchemes"]["serviceToken"]["scheme"] == "bearer"


def test_archive_lookup(api: httpx.Client) -> None:
    response = api.post("/api/archives/lookup", json={"id_type": "01", "id_number": "110105199805120012"})
    assert response.status_code == 200
    archive = response.json()
    assert archive["archive_no"] == "11010500001234" and archive["name"] == "张伟"
    assert (archive["nature"], archive["nature_name"], archive["status"], archive["status_name"]) == (
        "2",
        "个人委托",
        "1",
        "在库",
    )
    assert archive["agency"]["code"] == "11010501" and archive["agency"]["name"] == "北京市朝阳区人才服务中心"
    assert archive["unit"] is None

    lina = api.post("/api/archives/lookup", json={"id_type": "01", "id_number": "330106199503080024"}).json()
    assert lina["nature"] == "1" and lina["unit"] == {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}


def test_archive_lookup_errors(api: httpx.Client) -> None:
    missing = api.post("/api/archives/lookup", json={"id_type": "01", "id_number": "52010220000101003X"})
    assert missing.status_code == 404 and missing.json()["code"] == "archive_not_found"
    bad = api.post("/api/archives/lookup", json={"id_type": "01", "id_number": "110105199805120013"})
    assert bad.status_code == 422 and bad.json()["field"] == "id_number" and "校验位" in bad.json()["message"]
    unknown = api.post("/api/archives/lookup", json={"id_type": "01", "id_number": "1", "x": 1})
    assert unknown.status_code == 400 and unknown.json() == {
        "code": "bad_request",
        "message": "请求中有不能识别的字段：x",
        "field": "x",
    }
    malformed = api.post("/api/archives/lookup", content=b"{not json", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["code"] == "bad_request"


def test_agencies(api: httpx.Client) -> None:
    everything = api.get("/api/agencies").json()["agencies"]
    assert len(everything) >= 16
    assert {"code", "region_code", "name", "province", "city", "address", "phone"} == set(everything[0])
    zhejiang = api.get("/api/agencies", params={"province": "浙江省"}).json()["agencies"]
    assert zhejiang and all(a["province"] == "浙江省" for a in zhejiang)
    assert api.get("/api/agencies", params={"province": "浙江"}).json()["agencies"] == zhejiang
    chaoyang = api.get("/api/agencies", params={"q": "朝阳"}).json()["agencies"]
    assert [a["code"] for a in chaoyang] == ["11010501"]


def test_submit_is_idempotent(api: httpx.Client) -> None:
    body = application_body()
    first = submit(api, body)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert set(answer) == {"application_id", "case_no", "status", "received_at"}
    assert answer["status"] == "submitted" and answer["application_id"] == body["application_id"]
    assert dt.datetime.fromisoformat(answer["received_at"]).utcoffset() == dt.timedelta(hours=8)

    reordered = dict(reversed(list(body.items())))
    again = submit(api, reordered)
    assert again.status_code == 200 and again.json() == answer

    changed = submit(api, {**body, "purpose": "办理社保"})
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_mismatch"

    state = api.get(f"/api/applications/{body['application_id']}")
    assert state.status_code == 200 and {k: state.json()[k] for k in answer} == answer  # GET tells more
    held = httpx.get(f"{api.base_url}/sandbox/applications/{body['application_id']}").json()
    assert held["submit_count"] == 2 and held["application"] == body


def test_submit_needs_the_idempotency_key(api: httpx.Client) -> None:
    body = application_body()
    missing = api.post("/api/applications", json=body)
    assert missing.status_code == 400 and missing.json()["field"] == "Idempotency-Key"
    other = submit(api, body, key="8b7df7a4-5b1e-4c9a-9d57-1c1f3c5a9e10")
    assert other.status_code == 422 and other.json()["field"] == "application_id"


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"applicant": {"id_number": "110105199805120013"}}, 422, "applicant.id_number"),
        ({"applicant": {"id_number": "11010519980512001"}}, 422, "applicant.id_number"),
        ({"applicant": {"id_type": "AA"}}, 422, "applicant.id_type"),
        ({"applicant": {"phone": "1380013800"}}, 422, "applicant.phone"),
        ({"applicant": {"phone": "23800138000"}}, 422, "applicant.phone"),
        ({"applicant": {"name": "张三"}}, 422, "applicant.name"),
        ({"applicant": {"name": ""}}, 422, "applicant.name"),
        ({"archive_no": "1101050000123"}, 422, "archive_no"),
        ({"archive_no": "99999900001234"}, 422, "archive_no"),
        ({"archive_no": "11010500009999"}, 422, "archive_no"),
        ({"agency_code": "11010599"}, 422, "agency_code"),
        ({"agency_code": "11010801"}, 422, "agency_code"),
        ({"delivery": "pigeon"}, 422, "delivery"),
        ({"kind": "transfer"}, 422, "kind"),
        ({"purpose": ""}, 422, "purpose"),
        ({"submitted_at": "2026-11-21 10:00"}, 422, "submitted_at"),
        ({"reference_no": "sq-1"}, 422, "reference_no"),
        ({"extra": 1}, 400, "extra"),
        ({"applicant": {"sex": "1"}}, 400, "applicant.sex"),
        ({"purpose": 3}, 400, "purpose"),
    ],
)
def test_validation_errors_name_the_field(
    api: httpx.Client, overrides: dict[str, Any], status: int, field: str
) -> None:
    response = submit(api, application_body(**overrides))
    assert response.status_code == status, response.text
    body = response.json()
    assert body["field"] == field
    assert body["code"] == ("validation_error" if status == 422 else "bad_request")
    assert re.search(r"[\u4e00-\u9fff]", body["message"])


def test_missing_field_is_named(api: httpx.Client) -> None:
    body = application_body()
    del body["applicant"]["phone"]
    response = submit(api, body)
    assert response.status_code == 422 and response.json()["field"] == "applicant.phone"


def test_person_without_archive_cannot_apply(api: httpx.Client) -> None:
    body = application_body(applicant={"name": "刘洋", "id_number": "52010220000101003X"})
    response = submit(api, body)
    assert response.status_code == 422 and response.json()["field"] == "archive_no"


POST_ADDRESS = {"recipient": "王芳", "phone": "13813845678", "region_code": "320102",
                "address": "江苏省南京市玄武区北京东路 41 号", "postcode": "210008"}


@pytest.mark.parametrize("username", ["wangfang", "sunhao"])
def test_other_persons_can_apply(api: httpx.Client, username: str) -> None:
    body = certificate_body(username, delivery="post", post_address=POST_ADDRESS)
    assert submit(api, body).status_code == 201


def test_unknown_application(api: httpx.Client) -> None:
    for path in ("/api/applications/nope", "/api/applications/nope/result"):
        response = api.get(path)
        assert response.status_code == 404 and response.json()["code"] == "application_not_found"


def _act(api: httpx.Client, application_id: str, action: str, **body: str) -> httpx.Response:
    return httpx.post(f"{api.base_url}/sandbox/applications/{application_id}/{action}", json=body or None)


def test_status_changes_cursor(api: httpx.Client) -> None:
    start = api.get("/api/status-changes").json()
    cursor = start["last_seq"]
    while start["changes"]:  # drain what other tests produced
        start = api.get("/api/status-changes", params={"after": cursor}).json()
        cursor = start["last_seq"]

    a, b = application_body(), application_body()
    for body in (a, b):
        assert submit(api, body).status_code == 201
    assert _act(api, a["application_id"], "accept").status_code == 200
    assert _act(api, b["application_id"], "refuse", reason="材料不全").status_code == 200
    assert _act(api, a["application_id"], "complete").status_code == 200

    page = api.get("/api/status-changes", params={"after": cursor}).json()
    changes = page["changes"]
    assert [(c["application_id"], c["status"], c["reason"]) for c in changes] == [
        (a["application_id"], "accepted", None),
        (b["application_id"], "refused", "材料不全"),
        (a["application_id"], "completed", None),
    ]
    seqs = [c["seq"] for c in changes]
    assert seqs == sorted(seqs) and seqs[0] > cursor and page["last_seq"] == seqs[-1]
    assert all(c["case_no"] and dt.datetime.fromisoformat(c["occurred_at"]).tzinfo for c in changes)

    nothing = api.get("/api/status-changes", params={"after": page["last_seq"]}).json()
    assert nothing == {"changes": [], "last_seq": page["last_seq"]}

    first = api.get("/api/status-changes", params={"after": cursor, "limit": 1}).json()
    assert [c["seq"] for c in first["changes"]] == seqs[:1] and first["last_seq"] == seqs[0]
    rest = api.get("/api/status-changes", params={"after": first["last_seq"], "limit": 5}).json()
    assert [c["seq"] for c in rest["changes"]] == seqs[1:]

    assert api.get("/api/status-changes", params={"limit": 0}).status_code == 400
    assert api.get("/api/status-changes", params={"after": "x"}).json()["field"] == "after"


def test_result_only_after_completion(api: httpx.Client) -> None:
    body = application_body()
    application_id = body["application_id"]
    submit(api, body)
    not_ready = api.get(f"/api/applications/{application_id}/result")
    assert not_ready.status_code == 409 and not_ready.json()["code"] == "not_ready"
    _act(api, application_id, "accept")
    assert api.get(f"/api/applications/{application_id}/result").status_code == 409
    _act(api, application_id, "complete")
    assert api.get(f"/api/applications/{application_id}").json()["status"] == "completed"
    result = api.get(f"/api/applications/{application_id}/result")
    assert result.status_code == 200
    data = result.json()
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    assert re.fullmatch(rf"CDZM{today:%Y}\d{{8}}", data["certificate_no"])
    assert data["issued_on"] == f"{today:%Y%m%d}"
    assert data["kind"] == "archive_certificate" and data["application_id"] == application_id
    assert data["holder"] == {"name": "张伟", "id_type": "01", "id_number": "110105199805120012"}
    assert (data["archive_no"], data["nature"], data["nature_name"], data["stored_since"]) == (
        "11010500001234",
        "2",
        "个人委托",
        "20200715",
    )
    assert data["agency"]["code"] == "11010501" and data["agency"]["region_code"] == "110105"


def test_refused_application_has_no_result(api: httpx.Client) -> None:
    body = application_body()
    submit(api, body)
    _act(api, body["application_id"], "refuse", reason="本人已申请过")
    response = api.get(f"/api/applications/{body['application_id']}/result")
    assert response.status_code == 409 and response.json()["code"] == "not_ready"


def test_step_order_is_enforced(api: httpx.Client) -> None:
    body = application_body()
    application_id = body["application_id"]
    submit(api, body)
    early = _act(api, application_id, "complete")
    assert early.status_code == 409 and "已提交" in early.json()["message"]
    no_reason = _act(api, application_id, "refuse", reason="  ")
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    assert _act(api, application_id, "accept").status_code == 200
    assert _act(api, application_id, "accept").status_code == 409
    assert _act(api, application_id, "complete").status_code == 200
    late = _act(api, application_id, "refuse", reason="太晚了")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"
    assert _act(api, "nope", "accept").status_code == 404
    history = httpx.get(f"{api.base_url}/sandbox/applications/{application_id}").json()["history"]
    assert [h["status"] for h in history] == ["accepted", "completed"]
