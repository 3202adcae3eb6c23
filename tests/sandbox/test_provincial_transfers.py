"""Transfers in the sandbox provincial system (docs/provincial-api.md, "Transfers"): the steps as a strict state
machine, the change feed's new fields, withdrawals, window transfers, reminders in working days, auto-advance
and the clerk console acting for both agencies."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from sandbox.common import CHINA_TZ
from sandbox.provincial import ProvincialSettings, workdays
from sandbox.provincial import create_app as create_provincial
from sandbox.provincial.service import reminder_for
from sandbox.provincial.store import Record, Store
from tests.sandbox.conftest import service_token
from tests.sandbox.helpers import LiveServer, certificate_body, transfer_body

# 张伟's archive is at 11010501 (北京市朝阳区); his transfer goes to 32010201 (南京市玄武区): 省外
CURRENT, RECEIVING = "11010501", "32010201"
SEND = {"method": "confidential", "tracking_no": "JY2026112100001"}
REASON = {"reason": "档案材料不全，缺少最近一次的工资表"}

# how to bring a transfer to each status, from submitted
_TO_RECEIVED: list[tuple[str, dict[str, str]]] = [("accept", {}), ("issue_letter", {}), ("send", SEND), ("receive", {})]
REACH: dict[str, list[tuple[str, dict[str, str]]]] = {
    "submitted": [],
    "accepted": [("accept", {})],
    "letter_issued": [("accept", {}), ("issue_letter", {})],
    "sent": [("accept", {}), ("issue_letter", {}), ("send", SEND)],
    "received": _TO_RECEIVED,
    "completed": [*_TO_RECEIVED, ("complete", {})],
    "returned": [*_TO_RECEIVED, ("return", REASON)],
    "return_confirmed": [*_TO_RECEIVED, ("return", REASON), ("confirm_return", {})],
    "cannot_receive": [("cannot_receive", REASON)],
    "cannot_send": [("accept", {}), ("issue_letter", {}), ("cannot_send", REASON)],
    "withdrawn": [("withdraw", {})],
}
# what each transfer action may follow (the contract's table)
MAY_FOLLOW: dict[str, set[str]] = {
    "accept": {"submitted"},
    "issue_letter": {"accepted"},
    "cannot_receive": {"submitted", "accepted"},
    "send": {"letter_issued"},
    "cannot_send": {"letter_issued"},
    "receive": {"sent"},
    "complete": {"received"},
    "return": {"received"},
    "confirm_return": {"returned"},
}
VALID_BODY: dict[str, dict[str, str]] = {
    "cannot_receive": REASON,
    "cannot_send": REASON,
    "return": REASON,
    "send": SEND,
}
STATUS_NAMES = {
    "submitted": "已提交",
    "accepted": "申请已受理",
    "letter_issued": "调函已发出",
    "sent": "档案已转出",
    "received": "档案已收到",
    "completed": "申请已办结",
    "returned": "档案已退档",
    "return_confirmed": "退档已确认",
    "cannot_receive": "档案无法接收",
    "cannot_send": "档案无法转出",
    "withdrawn": "已撤回",
}
FEED_KEYS = {
    "seq",
    "application_id",
    "case_no",
    "kind",
    "status",
    "actor",
    "agency_code",
    "reason",
    "dispatch",
    "letter_no",
    "occurred_at",
}


# --- helpers -------------------------------------------------------------------------------------------------


def submit(api: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return api.post("/api/applications", json=body, headers={"Idempotency-Key": body["application_id"]})


def new_transfer(api: httpx.Client, target: str = RECEIVING) -> str:
    body = transfer_body("zhangwei", target)
    response = submit(api, body)
    assert response.status_code == 201, response.text
    return str(body["application_id"])


def act(api: httpx.Client, application_id: str, action: str, **body: str) -> httpx.Response:
    if action == "withdraw":
        return api.post(f"/api/applications/{application_id}/withdraw")
    return api.post(f"/sandbox/applications/{application_id}/{action}", json=body or None)


def reach(api: httpx.Client, application_id: str, status: str) -> None:
    for action, body in REACH[status]:
        response = act(api, application_id, action, **body)
        assert response.status_code == 200, (action, response.text)
    assert state(api, application_id)["status"] == status


def state(api: httpx.Client, application_id: str) -> dict[str, Any]:
    response = api.get(f"/api/applications/{application_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def feed(api: httpx.Client, application_id: str) -> list[dict[str, Any]]:
    """Every change of one application, reading the whole feed page by page."""
    found: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = api.get("/api/status-changes", params={"after": cursor, "limit": 500}).json()
        found.extend(c for c in page["changes"] if c["application_id"] == application_id)
        if not page["changes"]:
            return found
        cursor = page["last_seq"]


def window(api: httpx.Client, **overrides: Any) -> httpx.Response:
    body = {"id_type": "01", "id_number": "520102199607040051", "target_agency_code": "33010001", "target_nature": "2"}
    body.update(overrides)
    return api.post("/sandbox/window-transfers", json=body)


def ago(days: float) -> str:
    return (dt.datetime.now(CHINA_TZ) - dt.timedelta(days=days)).replace(microsecond=0).isoformat()


# --- the normal path and the feed ----------------------------------------------------------------------------


def test_the_normal_path_and_what_the_feed_says(api: httpx.Client) -> None:
    application_id = new_transfer(api)
    assert state(api, application_id)["status"] == "submitted"
    steps = [
        ("accept", {}),
        ("issue_letter", {"letter_no": "SU-DDH-2026-0042"}),
        ("send", SEND),
        ("receive", {}),
        ("complete", {}),
    ]
    for action, body in steps:
        response = act(api, application_id, action, **body)
        assert response.status_code == 200, response.text

    changes = feed(api, application_id)
    assert all(set(c) == FEED_KEYS for c in changes)
    case_no = state(api, application_id)["case_no"]
    assert all(c["case_no"] == case_no and c["kind"] == "archive_transfer" for c in changes)
    assert [(c["status"], c["actor"], c["agency_code"]) for c in changes] == [
        ("accepted", "receiving_agency", RECEIVING),
        ("letter_issued", "receiving_agency", RECEIVING),
        ("sent", "current_agency", CURRENT),
        ("received", "receiving_agency", RECEIVING),
        ("completed", "receiving_agency", RECEIVING),
    ]
    assert changes[1]["letter_no"] == "SU-DDH-2026-0042"
    assert changes[2]["dispatch"] == {
        "method": "confidential",
        "method_name": "机要通信",
        "tracking_no": SEND["tracking_no"],
    }
    assert all(c["reason"] is None for c in changes)
    assert [c["letter_no"] is not None for c in changes] == [False, True, False, False, False]
    assert [c["dispatch"] is not None for c in changes] == [False, False, True, False, False]
    times = [dt.datetime.fromisoformat(c["occurred_at"]) for c in changes]
    assert all(t.utcoffset() == dt.timedelta(hours=8) for t in times) and times == sorted(times)

    detail = state(api, application_id)
    assert detail["status"] == "completed"
    assert api.get(f"/api/applications/{application_id}/result").json()["code"] == "no_result"


def test_a_letter_is_numbered_when_no_number_is_given(api: httpx.Client) -> None:
    application_id = new_transfer(api)
    reach(api, application_id, "letter_issued")
    [_, issued] = feed(api, application_id)
    assert re.fullmatch(rf"DDH{dt.datetime.now(CHINA_TZ):%Y}\d{{6}}", issued["letter_no"])
    other = new_transfer(api)
    reach(api, other, "letter_issued")
    assert feed(api, other)[1]["letter_no"] != issued["letter_no"]


def test_a_certificate_keeps_its_steps_with_the_new_fields(api: httpx.Client) -> None:
    body = certificate_body("zhangwei")
    assert submit(api, body).status_code == 201
    application_id = body["application_id"]
    assert act(api, application_id, "accept").status_code == 200
    assert act(api, application_id, "complete").status_code == 200
    changes = feed(api, application_id)
    assert [(c["kind"], c["status"], c["actor"], c["agency_code"]) for c in changes] == [
        ("archive_certificate", "accepted", "current_agency", CURRENT),
        ("archive_certificate", "completed", "current_agency", CURRENT),
    ]
    assert all(c["dispatch"] is None and c["letter_no"] is None for c in changes)
    detail = state(api, application_id)
    assert detail["kind"] == "archive_certificate" and detail["transfer"] is None and detail["origin"] == "portal"


# --- exceptions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param([("cannot_receive", REASON)], [("cannot_receive", "receiving_agency")], id="refused-at-once"),
        pytest.param(
            [("accept", {}), ("cannot_receive", REASON)],
            [("accepted", "receiving_agency"), ("cannot_receive", "receiving_agency")],
            id="refused-after-accepting",
        ),
        pytest.param(
            [("accept", {}), ("issue_letter", {}), ("cannot_send", REASON)],
            [
                ("accepted", "receiving_agency"),
                ("letter_issued", "receiving_agency"),
                ("cannot_send", "current_agency"),
            ],
            id="cannot-send",
        ),
        pytest.param(
            [*_TO_RECEIVED, ("return", REASON), ("confirm_return", {})],
            [
                ("accepted", "receiving_agency"),
                ("letter_issued", "receiving_agency"),
                ("sent", "current_agency"),
                ("received", "receiving_agency"),
                ("returned", "receiving_agency"),
                ("return_confirmed", "current_agency"),
            ],
            id="returned-and-confirmed",
        ),
    ],
)
def test_exception_paths(
    api: httpx.Client, path: list[tuple[str, dict[str, str]]], expected: list[tuple[str, str]]
) -> None:
    application_id = new_transfer(api)
    for action, body in path:
        response = act(api, application_id, action, **body)
        assert response.status_code == 200, response.text
    changes = feed(api, application_id)
    assert [(c["status"], c["actor"]) for c in changes] == expected
    for change in changes:
        agency = RECEIVING if change["actor"] == "receiving_agency" else CURRENT
        assert change["agency_code"] == agency
        carries_reason = change["status"] in ("cannot_receive", "cannot_send", "returned")
        assert change["reason"] == (REASON["reason"] if carries_reason else None)
    final = expected[-1][0]
    assert state(api, application_id)["status"] == final
    # an end is an end
    for action in MAY_FOLLOW:
        assert act(api, application_id, action, **VALID_BODY.get(action, {})).status_code == 409


def test_a_reason_is_trimmed_and_kept(api: httpx.Client) -> None:
    application_id = new_transfer(api)
    response = act(api, application_id, "cannot_receive", reason="  拟存档单位已撤销录用  ")
    assert response.status_code == 200 and response.json()["reason"] == "拟存档单位已撤销录用"
    assert feed(api, application_id)[-1]["reason"] == "拟存档单位已撤销录用"


# --- order and records ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(REACH))
def test_every_out_of_order_step_is_refused(api: httpx.Client, status: str) -> None:
    application_id = new_transfer(api)
    reach(api, application_id, status)
    before = len(feed(api, application_id))
    refused = [a for a, follows in MAY_FOLLOW.items() if status not in follows]
    assert refused
    for action in refused:
        response = act(api, application_id, action, **VALID_BODY.get(action, {}))
        assert response.status_code == 409, (action, response.text)
        error = response.json()
        assert error["code"] == "invalid_transition" and STATUS_NAMES[status] in error["message"], error
    if status != "submitted":
        withdraw = act(api, application_id, "withdraw")
        assert withdraw.status_code == 200 if status == "withdrawn" else withdraw.status_code == 409
    assert state(api, application_id)["status"] == status
    assert len(feed(api, application_id)) == before


def test_steps_of_the_other_kind_and_unknown_actions(api: httpx.Client) -> None:
    transfer = new_transfer(api)
    refuse = act(api, transfer, "refuse", reason="不予办理")
    assert refuse.status_code == 409 and "档案转递没有「不予办理」这一步" in refuse.json()["message"]
    body = certificate_body("zhangwei")
    submit(api, body)
    letter = act(api, body["application_id"], "issue_letter")
    assert letter.status_code == 409 and "存档证明没有「出具调档函」这一步" in letter.json()["message"]
    assert act(api, transfer, "fly").status_code == 404
    assert api.post(f"/sandbox/applications/{transfer}/withdraw").status_code == 404  # the person's, via the API
    missing = act(api, str(uuid.uuid4()), "accept")
    assert missing.status_code == 404 and missing.json()["code"] == "application_not_found"
    unknown_field = act(api, transfer, "accept", colour="red")
    assert unknown_field.status_code == 400 and unknown_field.json()["field"] == "colour"
    assert state(api, transfer)["status"] == "submitted"


@pytest.mark.parametrize(
    ("status", "action", "body", "field"),
    [
        ("submitted", "cannot_receive", {}, "reason"),
        ("accepted", "cannot_receive", {"reason": "   "}, "reason"),
        ("accepted", "cannot_receive", {"reason": "因" * 201}, "reason"),
        ("letter_issued", "cannot_send", {}, "reason"),
        ("received", "return", {"reason": ""}, "reason"),
        ("letter_issued", "send", {"tracking_no": "JY2026112100001"}, "method"),
        ("letter_issued", "send", {"method": "post", "tracking_no": "JY2026112100001"}, "method"),
        ("letter_issued", "send", {"method": "机要通信", "tracking_no": "JY2026112100001"}, "method"),
        ("letter_issued", "send", {"method": "courier"}, "tracking_no"),
        ("letter_issued", "send", {"method": "courier", "tracking_no": "sf1234567890"}, "tracking_no"),
        ("letter_issued", "send", {"method": "courier", "tracking_no": "SF123"}, "tracking_no"),
        ("letter_issued", "send", {"method": "courier", "tracking_no": "S" * 31}, "tracking_no"),
        ("letter_issued", "send", {"method": "courier", "tracking_no": "SF 1234567"}, "tracking_no"),
        ("letter_issued", "send", {"method": "courier", "tracking_no": "SF-1234567"}, "tracking_no"),
        ("accepted", "issue_letter", {"letter_no": "调档函1号"}, "letter_no"),
        ("accepted", "issue_letter", {"letter_no": "A" * 33}, "letter_no"),
        ("accepted", "issue_letter", {"letter_no": "DDH 2026"}, "letter_no"),
        ("submitted", "accept", {"occurred_at": "yesterday"}, "occurred_at"),
        ("submitted", "accept", {"occurred_at": "2026-11-20T10:00:00"}, "occurred_at"),
        ("submitted", "accept", {"occurred_at": "2099-01-01T10:00:00+08:00"}, "occurred_at"),
        ("accepted", "issue_letter", {"occurred_at": "2020-01-01T10:00:00+08:00"}, "occurred_at"),
        ("sent", "receive", {"occurred_at": "2020-01-01T10:00:00+00:00"}, "occurred_at"),
    ],
)
def test_every_bad_record_is_refused(
    api: httpx.Client, status: str, action: str, body: dict[str, str], field: str
) -> None:
    application_id = new_transfer(api)
    reach(api, application_id, status)
    response = act(api, application_id, action, **body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "validation_error" and error["field"] == field, error
    assert re.search(r"[\u4e00-\u9fff]", error["message"])
    assert state(api, application_id)["status"] == status


def test_a_certificate_refusal_needs_a_reason(api: httpx.Client) -> None:
    body = certificate_body("zhangwei")
    submit(api, body)
    response = act(api, body["application_id"], "refuse", reason=" ")
    assert response.status_code == 422 and response.json()["field"] == "reason"
    assert "不予办理原因" in response.json()["message"]


def test_a_step_may_be_back_dated_but_not_before_the_one_it_follows(api: httpx.Client) -> None:
    application_id = window(api, occurred_at=ago(10)).json()["application_id"]
    early = act(api, application_id, "issue_letter", occurred_at=ago(11))
    assert early.status_code == 422 and early.json()["field"] == "occurred_at"
    assert "不能早于上一步" in early.json()["message"]
    at = ago(9)
    assert act(api, application_id, "issue_letter", occurred_at=at).status_code == 200
    assert feed(api, application_id)[-1]["occurred_at"] == at


# --- submit: flow and initiator ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "flow"),
    [("11010801", "1"), ("11000001", "2"), ("32010201", "3")],  # 朝阳→海淀 地市内; →北京市 省内; →南京 省外
)
def test_the_flow_must_be_the_one_the_agencies_give(api: httpx.Client, target: str, flow: str) -> None:
    body = transfer_body("zhangwei", target)
    assert body["transfer"]["flow"] == flow
    for wrong in ({"1", "2", "3"} - {flow}):
        bad = transfer_body("zhangwei", target, transfer={"flow": wrong})
        response = submit(api, bad)
        assert response.status_code == 422 and response.json()["field"] == "transfer.flow", response.text
        assert f"接转流向应为 {flow}" in response.json()["message"]
    assert submit(api, body).status_code == 201
    assert state(api, body["application_id"])["transfer"]["flow"] == flow


@pytest.mark.parametrize(
    ("transfer", "field"),
    [
        ({"flow": None}, "transfer.flow"),
        ({"flow": "4"}, "transfer.flow"),
        ({"flow": 3}, "transfer.flow"),
        ({"flow": "省外"}, "transfer.flow"),
        ({"initiated_by": "window"}, "transfer.initiated_by"),
    ],
)
def test_bad_flow_or_initiator_is_refused(api: httpx.Client, transfer: dict[str, Any], field: str) -> None:
    body = transfer_body("zhangwei", RECEIVING, transfer=transfer)
    response = submit(api, body)
    assert response.status_code == 422 and response.json()["field"] == field, response.text


def test_a_missing_flow_is_refused(api: httpx.Client) -> None:
    body = transfer_body("zhangwei", RECEIVING)
    del body["transfer"]["flow"]
    response = submit(api, body)
    assert response.status_code == 422 and response.json()["field"] == "transfer.flow"
    assert "接转流向应为 3" in response.json()["message"]


# --- withdraw ------------------------------------------------------------------------------------------------


def test_withdraw(api: httpx.Client) -> None:
    application_id = new_transfer(api)
    first = api.post(f"/api/applications/{application_id}/withdraw")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "withdrawn" and first.json()["application_id"] == application_id
    again = api.post(f"/api/applications/{application_id}/withdraw")
    assert again.status_code == 200 and again.json() == first.json()
    [change] = feed(api, application_id)
    assert (change["status"], change["actor"], change["agency_code"]) == ("withdrawn", "applicant", None)
    assert act(api, application_id, "accept").status_code == 409

    accepted = new_transfer(api)
    act(api, accepted, "accept")
    late = api.post(f"/api/applications/{accepted}/withdraw")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"
    assert "申请已受理" in late.json()["message"]

    unknown = api.post(f"/api/applications/{uuid.uuid4()}/withdraw")
    assert unknown.status_code == 404 and unknown.json()["code"] == "application_not_found"
    assert httpx.post(f"{api.base_url}/api/applications/{application_id}/withdraw").status_code == 401


def test_a_certificate_can_be_withdrawn_too(api: httpx.Client) -> None:
    body = certificate_body("zhangwei")
    submit(api, body)
    response = api.post(f"/api/applications/{body['application_id']}/withdraw")
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert feed(api, body["application_id"])[0]["kind"] == "archive_certificate"


# --- GET /api/applications/{id} ------------------------------------------------------------------------------


def test_get_tells_what_the_application_is(api: httpx.Client) -> None:
    body = transfer_body("zhangwei", RECEIVING)
    answer = submit(api, body).json()
    detail = state(api, body["application_id"])
    assert {k: detail[k] for k in answer} == answer
    assert detail == {
        **answer,
        "kind": "archive_transfer",
        "origin": "portal",
        "reference_no": body["reference_no"],
        "applicant": body["applicant"],
        "archive_no": body["archive_no"],
        "agency_code": CURRENT,
        "transfer": body["transfer"],
    }


# --- window transfers ----------------------------------------------------------------------------------------


def test_a_window_transfer_appears_in_the_feed_and_get(api: httpx.Client) -> None:
    response = window(api, phone="13900000001")
    assert response.status_code == 201, response.text
    held = response.json()
    application_id = held["application_id"]
    uuid.UUID(application_id)
    assert held["origin"] == "window" and held["status"] == "accepted" and held["submit_count"] == 0
    assert re.fullmatch(r"CK\d{8}[A-Z0-9]{8}", held["reference_no"])

    [change] = feed(api, application_id)
    assert (change["status"], change["actor"], change["agency_code"], change["kind"]) == (
        "accepted",
        "receiving_agency",
        "33010001",
        "archive_transfer",
    )
    detail = state(api, application_id)
    assert detail["origin"] == "window" and detail["status"] == "accepted"
    assert detail["reference_no"] == held["reference_no"] and detail["case_no"] == change["case_no"]
    assert detail["applicant"] == {
        "name": "赵磊",
        "id_type": "01",
        "id_number": "520102199607040051",
        "phone": "13900000001",
    }
    assert detail["archive_no"] == "52010000000789" and detail["agency_code"] == "52010001"
    assert detail["transfer"] == {
        "target_agency_code": "33010001",
        "target_nature": "2",
        "unit": None,
        "initiated_by": "window",
        "flow": "3",
    }
    # and it goes on like any transfer, the current agency sending
    reach_from_accepted = [("issue_letter", {}), ("send", SEND)]
    for action, body in reach_from_accepted:
        assert act(api, application_id, action, **body).status_code == 200
    assert feed(api, application_id)[-1]["agency_code"] == "52010001"


def test_a_window_transfer_into_unit_storage(api: httpx.Client) -> None:
    unit = {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}
    response = window(api, target_nature="1", unit=unit, target_agency_code="33010601")
    assert response.status_code == 201, response.text
    detail = state(api, response.json()["application_id"])
    assert detail["transfer"]["unit"] == unit and detail["applicant"]["phone"] == "15885123456"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id_number": "110105199003070015"}, "id_number"),  # a valid number nobody seeded
        ({"id_number": "52010220000101003X"}, "id_number"),  # 刘洋 has no archive
        ({"id_number": "520102199607040052"}, "id_number"),  # bad check digit
        ({"target_agency_code": "52010001"}, "target_agency_code"),  # where it already is
        ({"target_agency_code": "33019999"}, "target_agency_code"),
        ({"target_nature": "3"}, "target_nature"),
        ({"target_nature": "1"}, "unit"),
        ({"target_nature": "1", "unit": {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B20"}}, "unit.uscc"),
        ({"target_nature": "2", "unit": {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}}, "unit"),
        ({"phone": "12345"}, "phone"),
        ({"occurred_at": "2099-01-01T00:00:00+08:00"}, "occurred_at"),
    ],
)
def test_a_bad_window_transfer_is_refused(api: httpx.Client, overrides: dict[str, Any], field: str) -> None:
    response = window(api, **overrides)
    assert response.status_code == 422 and response.json()["field"] == field, response.text


# --- reminders -----------------------------------------------------------------------------------------------


def reminders(api: httpx.Client) -> dict[str, dict[str, Any]]:
    answer = api.get("/api/reminders")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert dt.datetime.fromisoformat(body["as_of"]).utcoffset() == dt.timedelta(hours=8)
    return {r["application_id"]: r for r in body["reminders"]}


def test_a_step_back_dated_30_days_is_overdue_and_a_fresh_one_is_not(api: httpx.Client) -> None:
    old, fresh = new_transfer(api), new_transfer(api)
    at = ago(30)
    assert act(api, old, "accept", occurred_at=at).status_code == 200  # the first step: any time in the past
    assert act(api, fresh, "accept").status_code == 200
    found = reminders(api)
    assert fresh not in found
    reminder = found[old]
    assert (reminder["step"], reminder["agency_code"], reminder["kind"]) == ("letter", RECEIVING, "archive_transfer")
    assert reminder["started_on"] == at[:10].replace("-", "") and reminder["overdue_days"] >= 10
    assert "（受理后 3 个工作日内）" in reminder["message"] and "南京市玄武区人才服务中心" in reminder["message"]
    assert feed(api, old)[0]["occurred_at"] == at
    # the letter issued now: that reminder is gone, and the current agency's 10 days start today
    assert act(api, old, "issue_letter").status_code == 200
    assert old not in reminders(api)
    # a certificate's result step too
    body = certificate_body("zhangwei")
    submit(api, body)
    act(api, body["application_id"], "accept", occurred_at=at)
    result = reminders(api)[body["application_id"]]
    assert (result["step"], result["agency_code"], result["kind"]) == ("result", CURRENT, "archive_certificate")


def test_reminders_with_back_dated_window_steps(api: httpx.Client) -> None:
    old = window(api, occurred_at=ago(40)).json()["application_id"]
    fresh = window(api).json()["application_id"]
    found = reminders(api)
    assert fresh not in found
    letter = found[old]
    started = (dt.datetime.now(CHINA_TZ) - dt.timedelta(days=40)).date()
    assert letter["step"] == "letter" and letter["agency_code"] == "33010001" and letter["kind"] == "archive_transfer"
    assert letter["started_on"] == f"{started:%Y%m%d}"
    assert letter["due_on"] == f"{workdays.add_workdays(started, 3):%Y%m%d}"
    assert letter["overdue_days"] >= 20 and "已超期" in letter["message"] and "杭州市人才服务中心" in letter["message"]
    assert set(letter) == {
        "application_id",
        "case_no",
        "kind",
        "step",
        "agency_code",
        "started_on",
        "due_on",
        "overdue_days",
        "message",
    }

    # the letter back-dated 30 days: the current agency's 10 working days to send are long gone
    assert act(api, old, "issue_letter", occurred_at=ago(30)).status_code == 200
    dispatch = reminders(api)[old]
    assert dispatch["step"] == "dispatch" and dispatch["agency_code"] == "52010001"
    assert dispatch["overdue_days"] >= 5
    # a fresh step is within its limit
    assert act(api, fresh, "issue_letter").status_code == 200
    assert fresh not in reminders(api)
    # done: the reminder disappears; the next step's clock starts when it was done
    assert act(api, old, "send", occurred_at=ago(1), **SEND).status_code == 200
    assert old not in reminders(api)
    assert act(api, old, "receive", occurred_at=ago(20)).status_code == 422  # before it was sent
    assert act(api, old, "receive", occurred_at=ago(0.5)).status_code == 200
    assert old not in reminders(api)


def _record(kind: str, status: str, since: str) -> Record:
    body: dict[str, Any] = {"agency_code": "52010001", "applicant": {}}
    if kind == "archive_transfer":
        body["transfer"] = {"target_agency_code": "33010001"}
    return Record(
        application_id="a",
        case_no="c",
        reference_no="r",
        kind=kind,
        body=body,
        status=status,
        reason=None,
        received_at=since,
        updated_at=since,
        submit_count=1,
        certificate_no=None,
        issued_on=None,
        result=None,
        status_since=since,
    )


def test_working_days_across_national_day_2026() -> None:
    # chinese_calendar's 2026 schedule: 国庆 + 中秋 1–7 Oct off, Sun 20 Sep and Sat 10 Oct worked (调休),
    # Fri 25 Sep (中秋) off
    day = dt.date
    assert workdays.is_workday(day(2026, 9, 20)) and workdays.is_workday(day(2026, 10, 10))
    assert not workdays.is_workday(day(2026, 9, 25)) and not workdays.is_workday(day(2026, 10, 5))
    assert not workdays.is_workday(day(2026, 10, 11))
    # accepted Tue 29 Sep: the 3 working days are 30 Sep, 8 Oct, 9 Oct (Mon–Fri alone would say 2 Oct)
    assert workdays.add_workdays(day(2026, 9, 29), 3) == day(2026, 10, 9)
    # a letter on Fri 18 Sep: 10 working days, counting Sun 20 Sep, skipping 25 Sep and the holiday
    assert workdays.add_workdays(day(2026, 9, 18), 10) == day(2026, 10, 9)
    assert workdays.workdays_between(day(2026, 10, 9), day(2026, 10, 12)) == 2  # Sat 10 Oct and Mon 12 Oct

    accepted = _record("archive_transfer", "accepted", "2026-09-29T16:30:00+08:00")
    assert reminder_for(accepted, day(2026, 10, 9)) is None  # the last day allowed
    on_saturday = reminder_for(accepted, day(2026, 10, 10))
    assert on_saturday is not None and on_saturday.overdue_days == 1
    late = reminder_for(accepted, day(2026, 10, 12))
    assert late is not None
    assert (late.step, late.agency_code, late.started_on, late.due_on, late.overdue_days) == (
        "letter",
        "33010001",
        "20260929",
        "20261009",
        2,
    )
    assert "2026年10月9日" in late.message and "已超期 2 个工作日" in late.message

    letter = _record("archive_transfer", "letter_issued", "2026-09-18T09:00:00+08:00")
    dispatch = reminder_for(letter, day(2026, 10, 12))
    assert dispatch is not None and (dispatch.step, dispatch.agency_code, dispatch.due_on) == (
        "dispatch",
        "52010001",
        "20261009",
    )
    # a certificate accepted just before the holiday: 3 working days
    certificate = _record("archive_certificate", "accepted", "2026-09-30T10:00:00+08:00")
    result = reminder_for(certificate, day(2026, 10, 12))
    assert result is not None and (result.step, result.due_on, result.agency_code) == ("result", "20261010", "52010001")
    # an instant in another offset counts by its China date (23:30 UTC on 29 Sep is 30 Sep in China): 5 working
    # days after 30 Sep end on 13 Oct (after 29 Sep they would end on 12 Oct)
    received = _record("archive_transfer", "received", "2026-09-29T23:30:00+00:00")
    assert reminder_for(received, day(2026, 10, 13)) is None
    filing = reminder_for(received, day(2026, 10, 14))
    assert filing is not None and (filing.step, filing.started_on, filing.due_on) == ("filing", "20260930", "20261013")
    assert reminder_for(_record("archive_transfer", "sent", "2026-01-01T00:00:00+08:00"), day(2026, 10, 14)) is None


def test_an_unknown_year_falls_back_to_monday_to_friday(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(_: dt.date) -> bool:
        raise NotImplementedError("no available data")

    monkeypatch.setattr(workdays.chinese_calendar, "is_workday", unknown)
    assert workdays.is_workday(dt.date(2026, 10, 1))  # a Thursday, whatever the holiday
    assert not workdays.is_workday(dt.date(2026, 10, 10))  # a Saturday
    assert workdays.add_workdays(dt.date(2026, 9, 29), 3) == dt.date(2026, 10, 2)


# --- auto-advance --------------------------------------------------------------------------------------------


@pytest.fixture
def own_provincial(live_sso: LiveServer, tmp_path: Path) -> Iterator[tuple[LiveServer, httpx.Client]]:
    """A provincial system of its own, so auto-advance moves nobody else's applications."""

    def factory(port: int) -> Litestar:
        return create_provincial(ProvincialSettings(port=port, sso_issuer=live_sso.url, data_dir=tmp_path))

    with LiveServer(factory, tmp_path) as server:
        token = service_token(live_sso.url)
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            yield server, client


def test_auto_advance_moves_applications_to_completed(own_provincial: tuple[LiveServer, httpx.Client]) -> None:
    server, api = own_provincial
    assert httpx.get(f"{server.url}/sandbox/auto-advance").json() == {"enabled": False, "interval_seconds": 5.0}
    certificate = certificate_body("zhangwei")
    assert submit(api, certificate).status_code == 201
    transfer = window(api).json()["application_id"]
    too_fast = httpx.put(f"{server.url}/sandbox/auto-advance", json={"enabled": True, "interval_seconds": 0.1})
    assert too_fast.status_code == 422 and too_fast.json()["field"] == "interval_seconds"

    switched = httpx.put(f"{server.url}/sandbox/auto-advance", json={"enabled": True, "interval_seconds": 0.2})
    assert switched.json() == {"enabled": True, "interval_seconds": 0.2}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if {state(api, a)["status"] for a in (certificate["application_id"], transfer)} == {"completed"}:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("auto-advance did not complete both applications")
    off = httpx.put(f"{server.url}/sandbox/auto-advance", json={"enabled": False})
    assert off.json() == {"enabled": False, "interval_seconds": 0.2}

    changes = feed(api, transfer)
    assert [c["status"] for c in changes] == ["accepted", "letter_issued", "sent", "received", "completed"]
    dispatch = changes[2]["dispatch"]
    assert dispatch["method"] == "courier" and dispatch["method_name"] == "快递"
    assert re.fullmatch(r"[A-Z0-9]{6,30}", dispatch["tracking_no"]) and changes[1]["letter_no"]
    assert [c["status"] for c in feed(api, certificate["application_id"])] == ["accepted", "completed"]
    assert api.get(f"/api/applications/{certificate['application_id']}/result").status_code == 200

    # the console switch
    with httpx.Client(base_url=server.url) as browser:
        on = browser.post("/console/auto-advance", data={"enabled": "on", "interval_seconds": "30"})
        assert on.status_code == 303 and on.headers["location"] == "/?notice=auto_advance"
        assert httpx.get(f"{server.url}/sandbox/auto-advance").json() == {"enabled": True, "interval_seconds": 30.0}
        assert "已开启，每 30 秒推进一步" in browser.get("/").text
        bad = browser.post("/console/auto-advance", data={"enabled": "on", "interval_seconds": "0"})
        assert "推进间隔（秒）" in browser.get(bad.headers["location"]).text
        browser.post("/console/auto-advance", data={"enabled": "off", "interval_seconds": "30"})
        assert httpx.get(f"{server.url}/sandbox/auto-advance").json()["enabled"] is False


def test_auto_advance_can_be_on_from_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_AUTO_ADVANCE_SECONDS", "0.5")
    assert ProvincialSettings.from_env().auto_advance_seconds == 0.5
    monkeypatch.delenv("SANDBOX_AUTO_ADVANCE_SECONDS")
    assert ProvincialSettings.from_env().auto_advance_seconds is None


# --- the console ---------------------------------------------------------------------------------------------


def _row(page: str, reference_no: str) -> str:
    match = re.search(rf"<tr><td>{reference_no}</td>.*?</tr>", page, re.S)
    assert match, "row not found"
    return match.group(0)


def _buttons(html: str) -> list[str]:
    return re.findall(r"<button[^>]*>([^<]+)</button>", html)


def _every_control_has_a_label(page: str) -> None:
    controls = re.findall(r"<(?:input|select)[^>]*\bid=\"([^\"]+)\"", page)
    assert len(re.findall(r"<(?:input|select)\b", page)) == len(controls)
    for control in controls:
        assert f'<label for="{control}">' in page, control


def test_the_console_acts_for_both_agencies(api: httpx.Client) -> None:
    held = window(api, id_number="52010319940922071X").json()  # 孙浩, 贵阳 → 杭州
    application_id, reference_no = held["application_id"], held["reference_no"]
    with httpx.Client(base_url=str(api.base_url)) as browser:
        page = browser.get("/").text
        _every_control_has_a_label(page)
        row = _row(page, reference_no)
        assert "拟接收机构（杭州市人才服务中心）" in row and "现存档机构（贵阳市人才服务中心）" in row
        assert "窗口受理" in row and "接转流向：省外" in row and "发起方：接收机构窗口" in row
        assert _buttons(row) == ["出具调档函", "无法接收"]
        assert ">调档函编号</label>" in row and ">无法接收原因</label>" in row
        assert "办理时限：杭州市人才服务中心应于" in row

        issued = browser.post(f"/console/applications/{application_id}/issue_letter", data={"letter_no": ""})
        assert issued.headers["location"] == "/?notice=issue_letter"
        row = _row(browser.get("/").text, reference_no)
        assert _buttons(row) == ["转出", "无法转出"]
        for text in (">转递方式</label>", ">机要编号/邮件号</label>", ">无法转出原因</label>", "调档函编号 DDH"):
            assert text in row, text
        assert '<option value="confidential">机要通信</option>' in row

        bad = browser.post(
            f"/console/applications/{application_id}/send", data={"method": "courier", "tracking_no": "abc"}
        )
        assert bad.status_code == 303 and bad.headers["location"].startswith("/?error=validation_error&flash=")
        banner = browser.get(bad.headers["location"]).text
        assert "「转出」未办理：机要编号/邮件号「abc」不正确：应为 6 至 30 位大写字母或数字" in banner
        assert 'role="alert"' in banner
        assert state(api, application_id)["status"] == "letter_issued"

        sent = browser.post(
            f"/console/applications/{application_id}/send", data={"method": "confidential", "tracking_no": "JY12345678"}
        )
        assert sent.headers["location"] == "/?notice=send"
        row = _row(browser.get("/").text, reference_no)
        assert _buttons(row) == ["已收到"] and "机要通信 机要编号 JY12345678" in row

        browser.post(f"/console/applications/{application_id}/receive")
        row = _row(browser.get("/").text, reference_no)
        assert _buttons(row) == ["入库办结", "退档"] and ">退档原因</label>" in row
        no_reason = browser.post(f"/console/applications/{application_id}/return", data={"reason": ""})
        assert "请填写退档原因" in browser.get(no_reason.headers["location"]).text
        browser.post(f"/console/applications/{application_id}/return", data={"reason": "档案材料与本人不符"})
        row = _row(browser.get("/").text, reference_no)
        assert _buttons(row) == ["退档确认"] and "原因：档案材料与本人不符" in row
        browser.post(f"/console/applications/{application_id}/confirm_return")
        row = _row(browser.get("/").text, reference_no)
        assert _buttons(row) == [] and row.count("当前无需操作") == 2 and "退档已确认" in row
        history = re.search(r'<ol class="history">(.*?)</ol>', row, re.S)
        assert history is not None
        assert [s for s in STATUS_NAMES.values() if s in history.group(1)] == [
            "申请已受理",
            "调函已发出",
            "档案已转出",
            "档案已收到",
            "档案已退档",
            "退档已确认",
        ]


def test_the_console_shows_an_overdue_step(api: httpx.Client) -> None:
    held = window(api, occurred_at=ago(30)).json()
    row = _row(httpx.get(f"{api.base_url}/").text, held["reference_no"])
    assert "超期提醒：杭州市人才服务中心应于" in row and "已超期" in row


def test_the_console_window_form(api: httpx.Client) -> None:
    with httpx.Client(base_url=str(api.base_url)) as browser:
        form = {
            "id_type": "01",
            "id_number": "520102199607040051",
            "phone": "",
            "target_agency_code": "33010601",
            "target_nature": "1",
            "unit_name": "杭州云栖科技有限公司",
            "unit_uscc": "91330106MA27QK3B27",
        }
        done = browser.post("/console/window-transfers", data=form)
        assert done.status_code == 303 and done.headers["location"].startswith("/?notice=window&flash=")
        page = browser.get(done.headers["location"]).text
        reference_no = re.search(r"申请编号 (CK\d{8}[A-Z0-9]{8})", page)
        assert reference_no is not None and "已在窗口受理赵磊的档案转递" in page
        assert "新单位：杭州云栖科技有限公司" in _row(page, reference_no.group(1))

        refused = browser.post("/console/window-transfers", data={**form, "id_number": "52010220000101003X"})
        assert refused.headers["location"].startswith("/?error=validation_error&flash=")
        assert "「窗口受理」未办理：证件号码：刘洋名下没有存档信息" in browser.get(refused.headers["location"]).text
        bad_uscc = browser.post("/console/window-transfers", data={**form, "unit_uscc": "91330106MA27QK3B20"})
        assert "统一社会信用代码" in browser.get(bad_uscc.headers["location"]).text
        cross_site = browser.post("/console/window-transfers", data=form, headers={"Origin": "http://evil.example"})
        assert cross_site.headers["location"] == "/?error=bad_origin"


def test_an_unknown_flash_token_shows_the_generic_message(api: httpx.Client) -> None:
    page = httpx.get(f"{api.base_url}/", params={"error": "validation_error", "flash": "<script>"}).text
    assert "填写的内容不符合要求" in page and "<script>" not in page


# --- the store's migration -----------------------------------------------------------------------------------

_OLD_SCHEMA = """
CREATE TABLE applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT, application_id TEXT NOT NULL UNIQUE, case_no TEXT NOT NULL UNIQUE,
    reference_no TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    received_at TEXT NOT NULL, updated_at TEXT NOT NULL, submit_count INTEGER NOT NULL DEFAULT 1,
    certificate_no TEXT UNIQUE, issued_on TEXT, result TEXT
);
CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY, body_hash TEXT NOT NULL, application_id TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE status_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, application_id TEXT NOT NULL, case_no TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT, occurred_at TEXT NOT NULL
);
"""


def test_an_existing_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    body = transfer_body("zhangwei", RECEIVING)
    stamp = "2026-11-20T10:00:00+08:00"
    with sqlite3.connect(path) as conn:
        conn.executescript(_OLD_SCHEMA)
        conn.execute(
            "INSERT INTO applications (application_id, case_no, reference_no, kind, body, status, received_at,"
            " updated_at) VALUES (?, 'C1', ?, 'archive_transfer', ?, 'accepted', ?, ?)",
            (body["application_id"], body["reference_no"], json.dumps(body), stamp, stamp),
        )
        conn.execute(
            "INSERT INTO status_changes (application_id, case_no, status, occurred_at) VALUES (?, 'C1', 'accepted', ?)",
            (body["application_id"], stamp),
        )
    conn.close()

    store = Store(path)
    [change] = store.changes(0, 10)
    assert (change.kind, change.actor, change.agency_code) == ("archive_transfer", "receiving_agency", RECEIVING)
    record = store.get(body["application_id"])
    assert record is not None and record.origin == "portal" and record.status_since == stamp
    moved = store.transition(body["application_id"], "issue_letter")
    assert moved.status == "letter_issued"
    assert store.changes(0, 10)[-1].letter_no
    Store(path)  # opening it again changes nothing
    assert len(Store(path).changes(0, 10)) == 2
