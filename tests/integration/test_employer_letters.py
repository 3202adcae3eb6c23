"""Material and the unit's side over real HTTP: what an application needs is told at once, a unit is asked
by its 统一社会信用代码, HR uploads one letter for several requests (or declines with a reason), a unit starts a
transfer for a new hire who confirms it, and the letter reaches the provincial system once, byte for byte."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
from pypdf import PdfReader

from tests.support.flows import detail, hr, post, put_file, signed_in, submit, timeline, uploaded
from tests.support.portal_client import Browser, same_origin
from tests.support.stack import Stack, wait_until
from tests.uploads import corpus

YUNQI = {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}
LETTER = {"material": "unit_letter", "role": "current_unit"}


def ask_unit(stack: Stack, who: str, unit: dict[str, str] | None = None) -> tuple[Browser, dict[str, Any]]:
    browser = signed_in(stack, who)
    r = submit(stack, browser, materials=[{**LETTER, "ask_unit": unit or YUNQI}])
    assert r.status_code == 201, r.text
    return browser, r.json()


def sandbox_files(stack: Stack, application_id: str) -> list[dict[str, Any]]:
    record = stack.sandbox_application(application_id)
    return list(record.get("files", [])) if record else []


def forwarded(stack: Stack, browser: Browser, app_id: str) -> bool:
    return "已转送至存档机构" in timeline(stack, browser, app_id)


def test_the_letter_a_unit_entrusted_archive_needs_is_told_at_once(stack: Stack) -> None:
    lina = signed_in(stack, "lina")
    needs = lina.get(f"{stack.portal}/api/applications/requirements", params={"kind": "archive_certificate"}).json()
    assert [(m["material_name"], m["role"]) for m in needs["materials"]] == [("单位介绍信", "current_unit")]
    assert needs["materials"][0]["unit"] == YUNQI
    assert "单位介绍信" in needs["notice"]
    missing = submit(stack, lina)
    assert missing.status_code == 422 and "单位介绍信" in missing.json()["message"]
    zhang = signed_in(stack, "zhangwei")
    assert zhang.get(f"{stack.portal}/api/applications/requirements",
                     params={"kind": "archive_certificate"}).json()["materials"] == []


def test_a_wrong_check_character_is_caught(stack: Stack) -> None:
    lina = signed_in(stack, "lina")
    r = submit(stack, lina, materials=[{**LETTER, "ask_unit": {"name": YUNQI["name"], "uscc": "91330106MA27QK3B28"}}])
    assert r.status_code == 422
    assert "校验位" in r.json()["message"]
    assert r.json()["fields"][0]["field"] == "materials[0].ask_unit.uscc"


def test_hr_uploads_one_letter_for_two_requests_and_both_go_on(stack: Stack) -> None:
    lina, first = ask_unit(stack, "lina")
    chen, second = ask_unit(stack, "chenchen")
    for body in (first, second):
        assert body["status_label"] == "等待单位上传介绍信"
        request = body["materials"][0]["request"]
        assert len(request["code"]) == 8 and request["link"].endswith("/unit/requests/" + request["code"])
    codes = [first["materials"][0]["request"]["code"], second["materials"][0]["request"]["code"]]

    yunqi = hr(stack)
    listed = {i["code"]: i for i in yunqi.get(f"{stack.portal}/api/unit/requests").json()["items"]}
    assert set(codes) <= set(listed)
    assert listed[codes[0]]["applicant_name"] == "李娜"
    assert listed[codes[0]]["applicant_id_masked"] == "330106********0024"
    assert "330106199503080024" not in yunqi.get(f"{stack.portal}/api/unit/requests").text
    assert "13905712345" not in yunqi.get(f"{stack.portal}/api/unit/requests").text

    letter = corpus.signed_looking_pdf()
    document_id = uploaded(stack, yunqi, letter)
    r = post(stack, yunqi, "/api/unit/requests/fulfil", {"document_id": document_id, "codes": codes})
    assert r.status_code == 200, r.text
    assert [i["state"] for i in r.json()["items"]] == ["fulfilled", "fulfilled"]
    again = post(stack, yunqi, "/api/unit/requests/fulfil", {"document_id": document_id, "codes": codes})
    assert again.status_code == 409

    for browser, body in ((lina, first), (chen, second)):
        wait_until(lambda b=browser, a=body["id"]: forwarded(stack, b, a), timeout=30)
        shown = detail(stack, browser, body["id"])
        assert shown["materials"][0]["state"] == "attached"
        assert "杭州云栖科技有限公司已上传单位介绍信" in [e["note"] for e in shown["timeline"]]
        files = sandbox_files(stack, body["id"])
        assert len(files) == 1 and files[0]["put_count"] == 1
        there = httpx.get(f"{stack.provincial}/sandbox/applications/{body['id']}/files/{files[0]['file_id']}")
        assert there.content == letter  # the original, signature and all, not the sanitised copy
        # the applicant may read the letter naming them
        assert browser.get(f"{stack.portal}{shown['materials'][0]['document']['files'][0]['download_url']}"
                           ).status_code == 200


def test_a_declined_request_tells_the_reason_and_the_applicant_can_upload_instead(stack: Stack) -> None:
    chen, body = ask_unit(stack, "chenchen")
    code = body["materials"][0]["request"]["code"]
    yunqi = hr(stack)
    short = post(stack, yunqi, f"/api/unit/requests/{code}/decline", {"reason": " "})
    assert short.status_code == 422 and "原因" in short.json()["message"]
    r = post(stack, yunqi, f"/api/unit/requests/{code}/decline", {"reason": "该员工已离职，请联系新单位"})
    assert r.status_code == 200 and r.json()["state"] == "declined"
    shown = detail(stack, chen, body["id"])
    assert shown["status_label"] == "待补充材料"
    assert shown["materials"][0]["state"] == "declined"
    assert shown["materials"][0]["request"]["reason"] == "该员工已离职，请联系新单位"
    assert "单位未同意出具介绍信" in [e["label"] for e in shown["timeline"]]

    document_id = uploaded(stack, chen, corpus.jpeg(), corpus.jpeg(200, 300), corpus.jpeg(300, 200))
    r = post(stack, chen, f"/api/applications/{body['id']}/materials",
             {"materials": [{**LETTER, "document_id": document_id}]})
    assert r.status_code == 200, r.text
    assert r.json()["materials"][0]["state"] == "attached"
    assert r.json()["timeline"][-1]["label"] == "材料已上传"  # the answer shows the change it made
    wait_until(lambda: forwarded(stack, chen, body["id"]), timeout=30)
    files = sandbox_files(stack, body["id"])
    assert len(files) == 1 and files[0]["content_type"] == "application/pdf"
    there = httpx.get(f"{stack.provincial}/sandbox/applications/{body['id']}/files/{files[0]['file_id']}")
    assert len(PdfReader(io.BytesIO(there.content)).pages) == 3  # three photos, one document


def test_a_unit_sees_only_what_names_it(stack: Stack) -> None:
    _, body = ask_unit(stack, "lina")
    code = body["materials"][0]["request"]["code"]
    jinling = hr(stack, "jinling-hr")
    assert jinling.get(f"{stack.portal}/api/unit/requests/{code}").status_code == 404
    assert code not in jinling.get(f"{stack.portal}/api/unit/requests").text
    document_id = uploaded(stack, jinling, corpus.plain_pdf())
    r = post(stack, jinling, "/api/unit/requests/fulfil", {"document_id": document_id, "codes": [code]})
    assert r.status_code == 404
    assert post(stack, jinling, f"/api/unit/requests/{code}/decline", {"reason": "不是我单位员工"}).status_code == 404
    assert detail(stack, signed_in(stack, "lina"), body["id"])["materials"][0]["state"] == "requested"
    # a person is not a unit, and a unit is not a person
    assert signed_in(stack, "zhangwei").get(f"{stack.portal}/api/unit/requests").status_code == 403
    assert jinling.get(f"{stack.portal}/api/applications/{body['id']}").status_code == 403


def test_a_unit_starts_a_transfer_that_the_new_hire_confirms(stack: Stack) -> None:
    yunqi = hr(stack)
    letter = corpus.plain_pdf(1)
    document_id = uploaded(stack, yunqi, letter)
    body = {"name": "孙浩", "id_number": "52010319940922071X", "target_agency_code": "33010001",
            "document_id": document_id}
    bad = post(stack, yunqi, "/api/unit/transfers", {**body, "id_number": "520103199409220718"},
               **{"Idempotency-Key": str(uuid.uuid4())})
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "id_number"
    key = str(uuid.uuid4())
    r = post(stack, yunqi, "/api/unit/transfers", body, **{"Idempotency-Key": key})
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    assert r.json()["status_label"] == "等待本人确认" and r.json()["holder_id_masked"] == "520103********071X"
    assert post(stack, yunqi, "/api/unit/transfers", body, **{"Idempotency-Key": key}).json()["id"] == app_id
    assert app_id in yunqi.get(f"{stack.portal}/api/unit/applications").text
    assert app_id not in hr(stack, "jinling-hr").get(f"{stack.portal}/api/unit/applications").text

    assert signed_in(stack, "zhangwei").get(f"{stack.portal}/api/applications/{app_id}").status_code == 404
    sun = signed_in(stack, "sunhao")
    assert app_id in [i["id"] for i in sun.get(f"{stack.portal}/api/applications").json()["items"]]
    shown = detail(stack, sun, app_id)
    assert shown["can_confirm"] and shown["transfer"]["started_by"] == "杭州云栖科技有限公司"
    assert shown["transfer"]["target_agency_name"] == "杭州市人才服务中心"
    assert stack.sandbox_application(app_id) is None  # nothing is forwarded before the hire agrees
    r = post(stack, sun, f"/api/applications/{app_id}/confirm", {"materials": []})
    assert r.status_code == 200, r.text
    wait_until(lambda: forwarded(stack, sun, app_id), timeout=30)
    record = stack.sandbox_application(app_id)
    assert record is not None and record["kind"] == "archive_transfer"
    assert record["application"]["transfer"]["unit"]["uscc"] == YUNQI["uscc"]
    files = sandbox_files(stack, app_id)
    assert len(files) == 1
    assert httpx.get(f"{stack.provincial}/sandbox/applications/{app_id}/files/{files[0]['file_id']}"
                     ).content == letter
    assert post(stack, sun, f"/api/applications/{app_id}/confirm", {"materials": []}).status_code == 409


def test_access_matrix_of_upload_and_request_routes(stack: Stack) -> None:
    """Anonymous, person A, person B, unit X, unit Y × every upload and request route: only the right one gets in."""
    person_a, body = ask_unit(stack, "lina")
    app_id, code = body["id"], body["materials"][0]["request"]["code"]
    person_b, unit_x, unit_y = signed_in(stack, "wangfang"), hr(stack), hr(stack, "jinling-hr")
    anonymous = Browser()
    doc_a = uploaded(stack, person_a, corpus.plain_pdf())
    file_a = person_a.get(f"{stack.portal}/api/documents/{doc_a}").json()["files"][0]["id"]
    doc_x = uploaded(stack, unit_x, corpus.plain_pdf())
    routes: list[tuple[str, str, Any]] = [
        ("GET", f"/api/documents/{doc_a}", None),
        ("GET", f"/api/documents/{doc_a}/files/{file_a}", None),
        ("PUT", f"/api/documents/{doc_a}/files/{uuid.uuid4()}", b"%PDF"),
        ("DELETE", f"/api/documents/{doc_a}/files/{file_a}", None),
        ("DELETE", f"/api/documents/{doc_a}", None),
        ("GET", f"/api/applications/{app_id}", None),
        ("POST", f"/api/applications/{app_id}/materials", {"materials": [{**LETTER, "document_id": doc_a}]}),
        ("POST", f"/api/applications/{app_id}/confirm", {"materials": []}),
        ("GET", f"/api/unit/requests/{code}", None),
        ("POST", f"/api/unit/requests/{code}/decline", {"reason": "测试访问控制"}),
        ("POST", "/api/unit/requests/fulfil", {"document_id": doc_x, "codes": [code]}),
    ]
    allowed = {
        "person_a": {0, 1, 2, 3, 4, 5, 6, 7}, "unit_x": {8, 9, 10},
    }
    who = {"anonymous": anonymous, "person_a": person_a, "person_b": person_b, "unit_x": unit_x, "unit_y": unit_y}
    for name, browser in who.items():
        for i, (method, path, payload) in enumerate(routes):
            if i in allowed.get(name, set()):
                continue  # the owner's own access is tested above; here only what must be refused
            kwargs: dict[str, Any] = {"headers": same_origin(stack.portal)}
            if isinstance(payload, bytes):
                kwargs["content"] = payload
            elif payload is not None:
                kwargs["json"] = payload
            r = browser.request(method, f"{stack.portal}{path}", **kwargs)
            expected = {401} if name == "anonymous" else {403, 404}
            assert r.status_code in expected, (name, method, path, r.status_code, r.text)
            assert "李娜" not in r.text and "330106" not in r.text
    # nothing changed for the owner
    assert detail(stack, person_a, app_id)["materials"][0]["state"] == "requested"
    assert person_a.get(f"{stack.portal}/api/documents/{doc_a}").status_code == 200
    assert put_file(stack, unit_y, doc_x, corpus.plain_pdf()).status_code == 404


def test_a_letter_needed_but_unknown_during_an_outage_is_asked_for_afterwards(stack: Stack) -> None:
    chen = signed_in(stack, "zhoujie")  # used by no other test, so no archive of his is cached yet
    stack.set_fault("down")
    try:
        r = submit(stack, chen)  # the archive cannot be looked up, so what it needs is not known yet
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
    finally:
        stack.set_fault("none")
    wait_until(lambda: detail(stack, chen, app_id)["status"] == "awaiting_material", timeout=30)
    shown = detail(stack, chen, app_id)
    assert shown["materials"][0]["state"] == "missing" and "需补充材料" in [e["label"] for e in shown["timeline"]]
    assert stack.sandbox_application(app_id) is None
    r = post(stack, chen, f"/api/applications/{app_id}/materials",
             {"materials": [{**LETTER, "document_id": uploaded(stack, chen, corpus.plain_pdf())}]})
    assert r.status_code == 200, r.text
    wait_until(lambda: forwarded(stack, chen, app_id), timeout=30)
    assert len(sandbox_files(stack, app_id)) == 1


def test_files_and_application_land_once_when_the_provincial_system_times_out_after_storing(stack: Stack) -> None:
    lina = signed_in(stack, "lina")
    stack.set_fault("timeout_after_commit", delay_seconds=5)  # longer than the BFF's 3 s timeout
    try:
        r = submit(stack, lina, materials=[{**LETTER, "document_id": uploaded(stack, lina, corpus.plain_pdf())}])
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        wait_until(lambda: stack.sandbox_application(app_id) is not None, timeout=30)
    finally:
        stack.set_fault("none")
    wait_until(lambda: forwarded(stack, lina, app_id), timeout=40)
    files = sandbox_files(stack, app_id)
    assert [f["put_count"] for f in files] == [1]
    assert stack.sandbox_application(app_id)["submit_count"] == 1  # type: ignore[index]
