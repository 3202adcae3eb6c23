"""The clerk console: a table of applications with 受理 / 办结 / 不予办理 forms that POST and 303 back."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import httpx

from tests.sandbox.helpers import application_body, certificate_body, file_headers, pdf_bytes, transfer_body


def _submit(api: httpx.Client) -> dict[str, str]:
    body = application_body()
    response = api.post("/api/applications", json=body, headers={"Idempotency-Key": body["application_id"]})
    assert response.status_code == 201
    return {**body, **response.json()}


def _row(page: str, reference_no: str) -> str:
    match = re.search(rf"<tr><td>{reference_no}</td>.*?</tr>", page, re.S)
    assert match, "row not found"
    return match.group(0)


def _status(api: httpx.Client, application_id: str) -> str:
    return str(api.get(f"/api/applications/{application_id}").json()["status"])


def test_console_lists_applications_newest_first(api: httpx.Client) -> None:
    older, newer = _submit(api), _submit(api)
    page = httpx.get(f"{api.base_url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert html.index(newer["reference_no"]) < html.index(older["reference_no"])
    row = _row(html, newer["reference_no"])
    expected = ("存档证明", "张伟", "110105********0012", "北京市朝阳区人才服务中心", "已提交", "受理", "不予办理原因")
    for text in expected:
        assert text in row, text
    assert "110105199805120012" not in html  # ID numbers are masked
    assert "办结</button>" not in row
    assert 'http-equiv="refresh"' not in html and ">刷新</a>" in html


def test_console_actions(api: httpx.Client) -> None:
    app = _submit(api)
    base, application_id = str(api.base_url), app["application_id"]
    with httpx.Client(base_url=base) as browser:
        accepted = browser.post(f"/console/applications/{application_id}/accept")
        assert accepted.status_code == 303 and accepted.headers["location"] == "/?notice=accept"
        assert _status(api, application_id) == "accepted"
        row = _row(browser.get("/").text, app["reference_no"])
        assert "申请已受理" in row and "办结</button>" in row and "受理</button>" not in row.replace("不予办理", "")

        again = browser.post(f"/console/applications/{application_id}/accept")
        assert again.headers["location"].startswith("/?error=invalid_transition&flash=")
        banner = browser.get(again.headers["location"]).text
        assert "不能执行这个操作" in banner and "申请当前为「申请已受理」，不能受理" in banner

        no_reason = browser.post(f"/console/applications/{application_id}/refuse", data={"reason": ""})
        assert no_reason.headers["location"].startswith("/?error=validation_error&flash=")
        assert "请填写不予办理原因" in browser.get(no_reason.headers["location"]).text
        assert _status(api, application_id) == "accepted"

        completed = browser.post(f"/console/applications/{application_id}/complete")
        assert completed.status_code == 303 and _status(api, application_id) == "completed"
        row = _row(browser.get("/").text, app["reference_no"])
        assert "已办结" in row and "证明编号 CDZM" in row
        assert re.findall(r"<button[^>]*>([^<]+)</button>", row) == ["撤销证明"]  # the only step left


def test_console_refuse_with_reason(api: httpx.Client) -> None:
    app = _submit(api)
    with httpx.Client(base_url=str(api.base_url)) as browser:
        response = browser.post(
            f"/console/applications/{app['application_id']}/refuse", data={"reason": "所附材料与存档信息不符"}
        )
        assert response.status_code == 303 and response.headers["location"] == "/?notice=refuse"
        row = _row(browser.get("/").text, app["reference_no"])
        assert "不予办理" in row and "所附材料与存档信息不符" in row
    change = api.get("/api/status-changes", params={"after": 0, "limit": 500}).json()["changes"]
    assert any(
        c["application_id"] == app["application_id"]
        and c["status"] == "refused"
        and c["reason"] == "所附材料与存档信息不符"
        for c in change
    )


def test_console_rejects_cross_site_posts(api: httpx.Client) -> None:
    app = _submit(api)
    response = httpx.post(
        f"{api.base_url}/console/applications/{app['application_id']}/accept", headers={"Origin": "http://evil.example"}
    )
    assert response.headers["location"] == "/?error=bad_origin"
    assert _status(api, app["application_id"]) == "submitted"


def test_console_fault_switch(api: httpx.Client) -> None:
    with httpx.Client(base_url=str(api.base_url)) as browser:
        response = browser.post("/console/faults", data={"mode": "down", "delay_seconds": "0"})
        assert response.status_code == 303
        assert api.get("/api/agencies").status_code == 503
        assert "停机" in browser.get("/").text
        browser.post("/console/faults", data={"mode": "none", "delay_seconds": "0"})
        assert api.get("/api/agencies").status_code == 200
        bad = browser.post("/console/faults", data={"mode": "none", "delay_seconds": "abc"})
        assert bad.headers["location"] == "/?error=bad_faults"


def _upload(api: httpx.Client, body: dict[str, Any], material: str = "unit_letter") -> tuple[str, bytes]:
    data, file_id = pdf_bytes(), str(uuid.uuid4())
    response = api.put(
        f"/api/applications/{body['application_id']}/files/{file_id}",
        content=data,
        headers=file_headers(material, data),
    )
    assert response.status_code == 201
    body.setdefault("materials", []).append(
        {"file_id": file_id, "material": material, "sha256": hashlib.sha256(data).hexdigest()}
    )
    return file_id, data


def test_console_links_the_files_and_the_download_is_the_same_bytes(api: httpx.Client) -> None:
    body = certificate_body("lina")
    file_id, data = _upload(api, body)
    # a file PUT under the id but not listed in the application is shown, marked
    stray = pdf_bytes()
    api.put(
        f"/api/applications/{body['application_id']}/files/stray",
        content=stray,
        headers=file_headers("review_letter", stray),
    )
    assert (
        api.post("/api/applications", json=body, headers={"Idempotency-Key": body["application_id"]}).status_code == 201
    )
    row = _row(httpx.get(f"{api.base_url}/").text, body["reference_no"])
    href = f"/sandbox/applications/{body['application_id']}/files/{file_id}"
    assert f'<a href="{href}" download>单位介绍信</a>' in row
    assert "政审函</a>" in row and "未列入申请" in row
    assert "用途：办理落户" in row and "领取方式：电子证明" in row
    download = httpx.get(f"{api.base_url}{href}")
    assert download.status_code == 200 and download.content == data
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")


def test_console_shows_a_transfer_and_completes_it(api: httpx.Client) -> None:
    body = transfer_body("sunhao", "33010001", "1", transfer={"initiated_by": "unit"})
    _upload(api, body)
    assert (
        api.post("/api/applications", json=body, headers={"Idempotency-Key": body["application_id"]}).status_code == 201
    )
    row = _row(httpx.get(f"{api.base_url}/").text, body["reference_no"])
    for text in (
        "档案转递",
        "孙浩",
        "贵阳市人才服务中心",
        "转入机构：杭州市人才服务中心（33010001）",
        "拟存档性质：单位委托",
        "新单位：杭州云栖科技有限公司（91330106MA27QK3B27）",
        "发起方：单位",
        "单位介绍信</a>",
    ):
        assert text in row, text
    application_id = body["application_id"]
    with httpx.Client(base_url=str(api.base_url)) as browser:
        for action, form in (
            ("accept", {}),
            ("issue_letter", {"letter_no": ""}),
            ("send", {"method": "courier", "tracking_no": "SF1234567890"}),
            ("receive", {}),
        ):
            assert browser.post(f"/console/applications/{application_id}/{action}", data=form).headers[
                "location"
            ] == f"/?notice={action}"
        completed = browser.post(f"/console/applications/{application_id}/complete")
        assert completed.headers["location"] == "/?notice=complete"
        row = _row(browser.get("/").text, body["reference_no"])
    assert _status(api, application_id) == "completed"
    assert "申请已办结（档案已入库）" in row and "证明编号" not in row
    assert "快递 邮件号 SF1234567890" in row and "调档函编号 DDH" in row
