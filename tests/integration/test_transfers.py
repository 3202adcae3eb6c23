"""档案转递 over real HTTP (SPEC §3): the letters asked all at once, the 接转流向, every step of the normal path
and each exception as the clerk console records them, withdrawal, a transfer started at the receiving
agency's window, the provincial reminder, and the rating."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.support.flows import detail, post, signed_in
from tests.support.portal_client import Browser, same_origin
from tests.support.stack import Stack, wait_until

JINLING = {"name": "南京金陵软件有限公司", "uscc": "91320102MA1MBP6W7H"}
HANGZHOU = "33010001"


def transfer(stack: Stack, browser: Browser, target: str, nature: str = "2", unit: dict[str, str] | None = None,
             **changes: Any) -> httpx.Response:
    body: dict[str, Any] = {"kind": "archive_transfer", "phone": "18685123071",
                            "transfer": {"target_agency_code": target, "target_nature": nature, "unit": unit}}
    body.update(changes)
    return browser.post(f"{stack.portal}/api/applications", json=body,
                        headers={"Idempotency-Key": str(uuid.uuid4()), **same_origin(stack.portal)})


def clerk(stack: Stack, app_id: str, action: str, **body: Any) -> httpx.Response:
    r = httpx.post(f"{stack.provincial}/sandbox/applications/{app_id}/{action}", json=body or None, timeout=10)
    assert r.status_code == 200, r.text
    return r


def forwarded(stack: Stack, browser: Browser, app_id: str) -> dict[str, Any]:
    return dict(wait_until(lambda: (d := detail(stack, browser, app_id))["notice"] is None
                           and any(e["status"] == "forwarded" for e in d["timeline"]) and d))


def reaches(stack: Stack, browser: Browser, app_id: str, status: str) -> dict[str, Any]:
    """The application once it shows ``status`` (one started at a window appears only after a poll)."""
    def shown() -> dict[str, Any] | None:
        r = browser.get(f"{stack.portal}/api/applications/{app_id}")
        return r.json() if r.status_code == 200 and r.json()["status"] == status else None
    return dict(wait_until(shown))


def started(stack: Stack, who: str, target: str, **kwargs: Any) -> tuple[Browser, str]:
    browser = signed_in(stack, who)
    r = transfer(stack, browser, target, **kwargs)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    forwarded(stack, browser, app_id)
    return browser, app_id


def test_letters_are_asked_for_all_at_once(stack: Stack) -> None:
    url = f"{stack.portal}/api/applications/requirements"
    sunhao = signed_in(stack, "sunhao")  # 个人委托: only the new employer's letter, when the target is 单位委托
    none = sunhao.get(url, params={"kind": "archive_transfer", "target_nature": "2"}).json()
    assert none["materials"] == []
    one = sunhao.get(url, params={"kind": "archive_transfer", "target_nature": "1", "unit_name": JINLING["name"],
                                  "unit_uscc": JINLING["uscc"]}).json()
    assert [(m["role"], m["unit"]["name"]) for m in one["materials"]] == [("new_unit", JINLING["name"])]
    lina = signed_in(stack, "lina")  # 单位委托 at 云栖: the current employer's letter too, in the same answer
    two = lina.get(url, params={"kind": "archive_transfer", "target_nature": "1", "unit_name": JINLING["name"],
                                "unit_uscc": JINLING["uscc"]}).json()
    assert [m["role"] for m in two["materials"]] == ["new_unit", "current_unit"]
    assert "现存档单位" in two["notice"] and "新就业单位" in two["notice"]
    missing = transfer(stack, lina, "32010001", nature="1", unit=JINLING)
    assert missing.status_code == 422
    assert "现存档单位" in missing.json()["message"] and "新就业单位" in missing.json()["message"]


def test_the_route_names_the_flow_and_refuses_the_same_agency(stack: Stack) -> None:
    wujing = signed_in(stack, "wujing")  # 个人委托 at 贵阳市人才服务中心 (52010001)
    url = f"{stack.portal}/api/applications/transfer-route"
    flows = {code: wujing.get(url, params={"target_agency_code": code}).json()["flow_name"]
             for code in ("52010201", "52030001", HANGZHOU)}
    assert flows == {"52010201": "地市内转移", "52030001": "省内转移", HANGZHOU: "省外转移"}
    route = wujing.get(url, params={"target_agency_code": HANGZHOU}).json()
    assert route["to_agency_address"].startswith("浙江省杭州市") and route["to_agency_phone"] == "0571-87006666"
    same = wujing.get(url, params={"target_agency_code": "52010001"})
    assert same.status_code == 422 and "无需转递" in same.json()["message"]
    unknown = transfer(stack, wujing, "99999999")
    assert unknown.status_code == 422 and unknown.json()["fields"][0]["field"] == "transfer.target_agency_code"


def test_typed_fields_are_checked_before_anything_is_forwarded(stack: Stack) -> None:
    sunhao = signed_in(stack, "sunhao")
    bad_code = transfer(stack, sunhao, HANGZHOU, nature="1", unit={**JINLING, "uscc": "91320102MA1MBP6W7X"})
    assert bad_code.status_code == 422
    assert bad_code.json()["fields"][0]["field"] == "transfer.unit.uscc"
    assert "统一社会信用代码" in bad_code.json()["message"]
    no_unit = transfer(stack, sunhao, HANGZHOU, nature="1")
    assert no_unit.status_code == 422 and no_unit.json()["fields"][0]["field"] == "transfer.unit"
    bad_phone = transfer(stack, sunhao, HANGZHOU, phone="1234")
    assert bad_phone.status_code == 422 and bad_phone.json()["fields"][0]["field"] == "phone"
    assert "手机号码" in bad_phone.json()["message"]


def test_a_cross_province_transfer_through_every_step(stack: Stack) -> None:
    sunhao, app_id = started(stack, "sunhao", HANGZHOU)
    sent = stack.sandbox_application(app_id)
    assert sent is not None and sent["application"]["transfer"]["flow"] == "3"
    first = detail(stack, sunhao, app_id)
    assert first["status_label"] == "已提交"
    assert first["transfer"]["flow_name"] == "省外转移"
    assert first["transfer"]["from_agency_name"] == "贵阳市人才服务中心"
    assert first["next_step"]["label"] == "存档机构受理申请"

    clerk(stack, app_id, "accept")
    accepted = reaches(stack, sunhao, app_id, "accepted")
    assert accepted["next_step"]["label"] == "拟接收机构出具调档函"
    assert accepted["next_step"]["actor_name"] == "杭州市人才服务中心"
    assert accepted["next_step"]["due_on"] and accepted["next_step"]["overdue"] is False
    assert accepted["upcoming"] == ["档案已转出", "档案已收到", "申请已办结"]
    assert accepted["can_withdraw"] is False

    clerk(stack, app_id, "issue_letter")
    letter = reaches(stack, sunhao, app_id, "letter_issued")
    assert letter["next_step"]["actor_name"] == "贵阳市人才服务中心"
    clerk(stack, app_id, "send", method="confidential", tracking_no="JY5201202611210001")
    out = reaches(stack, sunhao, app_id, "sent")
    step = out["timeline"][-1]
    assert (step["label"], step["actor_name"]) == ("档案已转出", "贵阳市人才服务中心")
    assert step["lines"] == ["转递方式：机要通信", "机要编号：JY5201202611210001"]
    clerk(stack, app_id, "receive")
    reaches(stack, sunhao, app_id, "received")
    clerk(stack, app_id, "complete")
    done = reaches(stack, sunhao, app_id, "completed")
    assert done["status_label"] == "申请已办结"
    labels = [e["label"] for e in done["timeline"] if e["status"] != "forwarded"]
    assert labels == ["已提交", "申请已受理", "调函已发出", "档案已转出", "档案已收到", "申请已办结"]
    assert done["next_step"] is None and done["can_rate"] is True

    rated = post(stack, sunhao, f"/api/applications/{app_id}/rating", {"score": 5, "comment": "办理很快"})
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"]["score"] == 5 and rated.json()["can_rate"] is False
    again = post(stack, sunhao, f"/api/applications/{app_id}/rating", {"score": 1})
    assert again.status_code == 409
    listed = sunhao.get(f"{stack.portal}/api/applications").json()["items"]
    assert next(i for i in listed if i["id"] == app_id)["status_label"] == "申请已办结"


def test_a_rating_waits_for_the_end_and_is_checked(stack: Stack) -> None:
    wujing, app_id = started(stack, "wujing", "52030001")
    early = post(stack, wujing, f"/api/applications/{app_id}/rating", {"score": 4})
    assert early.status_code == 409 and "办结后" in early.json()["message"]
    clerk(stack, app_id, "cannot_receive", reason="拟存档性质与本机构服务范围不符")
    reaches(stack, wujing, app_id, "cannot_receive")
    bad = post(stack, wujing, f"/api/applications/{app_id}/rating", {"score": 6})
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "score"


def test_each_exception_says_why_and_what_next(stack: Stack) -> None:
    wujing = signed_in(stack, "wujing")
    cases = {
        "cannot_receive": (["accept"], ("cannot_receive", {"reason": "该机构不接收单纯存档"}), "档案无法接收"),
        "cannot_send": (["accept", "issue_letter"], ("cannot_send", {"reason": "档案正在借阅中"}), "档案无法转出"),
        "returned": (["accept", "issue_letter", "send", "receive"], ("return", {"reason": "档案材料缺失"}),
                     "档案已退档"),
    }
    for expected, (before, (action, body), title) in cases.items():
        r = transfer(stack, wujing, "52030001")
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        forwarded(stack, wujing, app_id)
        for step in before:
            clerk(stack, app_id, step, **({"method": "courier", "tracking_no": "SF1234567890"}
                                         if step == "send" else {}))
        clerk(stack, app_id, action, **body)
        ended = reaches(stack, wujing, app_id, expected)
        assert ended["outcome"]["title"] == title
        assert ended["outcome"]["reason"] == body["reason"]
        assert "重新申请" in ended["outcome"]["advice"]
        assert ended["timeline"][-1]["note"] == body["reason"]
        if expected == "returned":
            clerk(stack, app_id, "confirm_return")
            confirmed = reaches(stack, wujing, app_id, "return_confirmed")
            assert confirmed["outcome"]["reason"] == body["reason"]
            assert confirmed["timeline"][-1]["actor_name"] == "贵阳市人才服务中心"


def test_withdraw_before_acceptance_withdraws_it_there_too(stack: Stack) -> None:
    wujing, app_id = started(stack, "wujing", HANGZHOU)
    assert detail(stack, wujing, app_id)["can_withdraw"] is True
    r = post(stack, wujing, f"/api/applications/{app_id}/withdraw", {})
    assert r.status_code == 200, r.text
    assert r.json()["status_label"] == "已撤回" and r.json()["outcome"]["title"] == "已撤回"
    there = stack.sandbox_application(app_id)
    assert there is not None and there["status"] == "withdrawn"
    # the provincial feed's own 'withdrawn' does not add a second line
    wait_until(lambda: stack.sandbox_application(app_id) is not None)
    labels = [e["label"] for e in detail(stack, wujing, app_id)["timeline"]]
    assert labels.count("已撤回") == 1
    accepted_browser, accepted_id = started(stack, "wujing", "52010201")
    clerk(stack, accepted_id, "accept")
    reaches(stack, accepted_browser, accepted_id, "accepted")
    late = post(stack, accepted_browser, f"/api/applications/{accepted_id}/withdraw", {})
    assert late.status_code == 409 and "已受理" in late.json()["message"]


def test_a_withdrawal_the_provincial_system_cannot_take_now_changes_nothing(stack: Stack) -> None:
    wujing, app_id = started(stack, "wujing", HANGZHOU)
    stack.set_fault("down")
    try:
        r = post(stack, wujing, f"/api/applications/{app_id}/withdraw", {})
    finally:
        stack.set_fault("none")
    assert r.status_code == 503 and "稍后再试" in r.json()["message"]
    unchanged = detail(stack, wujing, app_id)
    assert unchanged["status"] == "submitted" and unchanged["can_withdraw"] is True
    there = stack.sandbox_application(app_id)
    assert there is not None and there["status"] == "submitted"
    again = post(stack, wujing, f"/api/applications/{app_id}/withdraw", {})
    assert again.status_code == 200 and again.json()["status"] == "withdrawn"


def test_a_transfer_taken_at_the_receiving_window_appears_by_itself(stack: Stack) -> None:
    wangfang = signed_in(stack, "wangfang")  # 单纯存档 at 南京市玄武区人才服务中心
    before = {i["id"] for i in wangfang.get(f"{stack.portal}/api/applications").json()["items"]}
    r = httpx.post(f"{stack.provincial}/sandbox/window-transfers", timeout=10, json={
        "id_type": "01", "id_number": "32010219921120004X", "target_agency_code": "32010001",
        "target_nature": "2", "unit": None, "phone": "13951234567"})
    assert r.status_code in (200, 201), r.text

    def appeared() -> dict[str, Any] | None:
        items = wangfang.get(f"{stack.portal}/api/applications").json()["items"]
        return next((i for i in items if i["id"] not in before), None)

    item = wait_until(appeared)
    assert item["kind_name"] == "档案转递" and item["status_label"] == "申请已受理"
    shown = detail(stack, wangfang, item["id"])
    assert shown["transfer"]["started_by"] == "拟接收机构窗口"
    assert shown["transfer"]["target_agency_name"] == "南京市人才服务中心"
    assert shown["timeline"][0]["actor_name"] == "南京市人才服务中心"
    assert shown["can_withdraw"] is False


def test_an_overdue_step_is_marked_and_the_reminder_shown(stack: Stack) -> None:
    # taken at the window 30 days ago: the 3 working days for the transfer letter are long past
    zhangwei = signed_in(stack, "zhangwei")  # 个人委托 at 北京市朝阳区人才服务中心
    long_ago = (datetime.now().astimezone() - timedelta(days=30)).isoformat(timespec="seconds")
    r = httpx.post(f"{stack.provincial}/sandbox/window-transfers", timeout=10, json={
        "id_number": "110105199805120012", "target_agency_code": "11000001", "target_nature": "2",
        "phone": "13800138000", "occurred_at": long_ago})
    assert r.status_code in (200, 201), r.text
    app_id = r.json()["application_id"]
    late = reaches(stack, zhangwei, app_id, "accepted")
    assert late["next_step"]["overdue"] is True
    reminded = wait_until(lambda: (d := detail(stack, zhangwei, app_id))["reminder"] and d)
    assert "3 个工作日" in reminded["reminder"]["message"] or "3个工作日" in reminded["reminder"]["message"]
    assert reminded["reminder"]["overdue_days"] > 0
    listed = zhangwei.get(f"{stack.portal}/api/applications").json()["items"]
    assert next(i for i in listed if i["id"] == app_id)["overdue"] is True
    clerk(stack, app_id, "issue_letter")
    cleared = wait_until(lambda: (d := detail(stack, zhangwei, app_id))["status"] == "letter_issued"
                         and d["reminder"] is None and d)
    assert cleared["next_step"]["overdue"] is False
