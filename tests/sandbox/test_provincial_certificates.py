"""Certificate kinds and 政审 at the sandbox provincial system: rules per kind, facts from the archive, revocation."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import certificate_body, file_headers, pdf_bytes

REVIEW = {"purpose": "party", "unit": {"name": "中共杭州云栖科技有限公司委员会", "uscc": "91330106MA27QK3B27"},
          "contact_name": "陈静", "contact_phone": "0571-87006666"}


def submit(api: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return api.post("/api/applications", json=body, headers={"Idempotency-Key": body["application_id"]})


def act(api: httpx.Client, application_id: str, action: str, **body: str) -> httpx.Response:
    return httpx.post(f"{api.base_url}/sandbox/applications/{application_id}/{action}", json=body or None)


def put_letter(api: httpx.Client, application_id: str, material: str) -> dict[str, str]:
    data = pdf_bytes()
    file_id = str(uuid.uuid4())
    response = api.put(f"/api/applications/{application_id}/files/{file_id}", content=data,
                       headers=file_headers(material, data))
    assert response.status_code == 201, response.text
    return {"file_id": file_id, "material": material, "sha256": hashlib.sha256(data).hexdigest()}


def completed(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    assert submit(api, body).status_code == 201
    assert act(api, body["application_id"], "accept").status_code == 200
    done = act(api, body["application_id"], "complete")
    assert done.status_code == 200, done.text
    result = api.get(f"/api/applications/{body['application_id']}/result")
    assert result.status_code == 200
    return dict(result.json())


def test_experience_certificate_states_the_work_history(api: httpx.Client) -> None:
    result = completed(api, certificate_body("zhangwei", kind="experience_certificate"))
    assert result["kind"] == "experience_certificate" and result["certificate_no"].startswith("JLZM")
    units = [p["unit"] for p in result["facts"]["periods"]]
    assert units == ["北京朝阳数智科技有限公司", "北京望京云图信息技术有限公司"]
    assert result["facts"]["periods"][-1]["end"] is None


def test_kinship_needs_the_relative_and_certifies_only_what_the_archive_records(api: httpx.Client) -> None:
    missing = submit(api, certificate_body("zhangwei", kind="kinship_certificate"))
    assert missing.status_code == 422 and missing.json()["field"] == "relative"
    bad_code = submit(api, certificate_body("zhangwei", kind="kinship_certificate",
                                            relative={"relation": "99", "name": "张建国"}))
    assert bad_code.json()["field"] == "relative.relation"
    result = completed(api, certificate_body("zhangwei", kind="kinship_certificate",
                                             relative={"relation": "51", "name": "张建国"}))
    assert result["facts"] == {"relation": "51", "relation_name": "父亲", "relative_name": "张建国"}
    unknown = certificate_body("zhangwei", kind="kinship_certificate", relative={"relation": "52", "name": "王某"})
    assert submit(api, unknown).status_code == 201
    act(api, unknown["application_id"], "accept")
    refused = act(api, unknown["application_id"], "complete")
    assert refused.status_code == 409 and "没有该亲属关系的记载" in refused.json()["message"]


def test_no_criminal_record_cannot_be_issued_against_the_record(api: httpx.Client) -> None:
    assert completed(api, certificate_body("zhangwei", kind="no_criminal_record"))["facts"] == {
        "criminal_record": False}
    body = certificate_body("zhaolei", kind="no_criminal_record")
    submit(api, body)
    act(api, body["application_id"], "accept")
    answer = act(api, body["application_id"], "complete")
    assert answer.status_code == 409 and "刑事处罚" in answer.json()["message"]


def test_political_review_needs_the_review_letter_and_the_unit_letter_when_unit_entrusted(api: httpx.Client) -> None:
    body = certificate_body("lina", kind="political_review", purpose="", review=REVIEW)
    missing = submit(api, body)
    assert missing.status_code == 422 and missing.json()["field"] == "materials"
    assert "单位介绍信" in missing.json()["message"] and "政审函" in missing.json()["message"]
    body["materials"] = [put_letter(api, body["application_id"], "review_letter"),
                         put_letter(api, body["application_id"], "unit_letter")]
    result = completed(api, body)
    facts = result["facts"]
    assert result["certificate_no"].startswith("ZSHH")
    assert facts["review_unit"]["name"] == "中共杭州云栖科技有限公司委员会" and facts["purpose_name"] == "入党"
    assert facts["political_status"] == "中共党员" and facts["periods"]


@pytest.mark.parametrize(("change", "field"), [
    ({"review": {**REVIEW, "unit": {"name": "某单位", "uscc": "91330106MA27QK3B28"}}}, "review.unit.uscc"),
    ({"review": {**REVIEW, "contact_phone": "12345"}}, "review.contact_phone"),
    ({"review": None}, "review"),
])
def test_political_review_fields(api: httpx.Client, change: dict[str, Any], field: str) -> None:
    body = {**certificate_body("zhangwei", kind="political_review", review=REVIEW), **change}
    answer = submit(api, body)
    assert answer.status_code == 422 and answer.json()["field"] == field


def test_post_needs_an_address(api: httpx.Client) -> None:
    answer = submit(api, certificate_body("zhangwei", delivery="post"))
    assert answer.status_code == 422 and answer.json()["field"] == "post_address"
    address = {"recipient": "张伟", "phone": "13800138000", "region_code": "999999", "address": "北京",
               "postcode": "100020"}
    answer = submit(api, certificate_body("zhangwei", delivery="post", post_address=address))
    assert answer.json()["field"] == "post_address.region_code"


def test_a_unit_applies_only_for_archives_it_holds(api: httpx.Client) -> None:
    yunqi = {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}
    body = certificate_body("zhangwei", applied_by_unit=yunqi)
    answer = submit(api, body)
    assert answer.status_code == 422 and answer.json()["field"] == "applied_by_unit"
    body = certificate_body("chenchen", applied_by_unit=yunqi)
    body["materials"] = [put_letter(api, body["application_id"], "unit_letter")]
    assert submit(api, body).status_code == 201


def test_revocation_follows_completion_and_reaches_the_feed(api: httpx.Client) -> None:
    body = certificate_body("zhangwei")
    assert act(api, body["application_id"], "revoke", reason="x").status_code == 404
    completed(api, body)
    no_reason = act(api, body["application_id"], "revoke")
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    assert act(api, body["application_id"], "revoke", reason="证明内容有误").status_code == 200
    changes = api.get("/api/status-changes", params={"after": 0, "limit": 500}).json()["changes"]
    mine = [(c["status"], c["reason"]) for c in changes if c["application_id"] == body["application_id"]]
    assert mine[-1] == ("revoked", "证明内容有误")
