"""No mass assignment (ASVS 4.0.3 V5.1.2, V13.1): a client cannot set what the server decides.

For every body a person or a unit sends (create and update), each field the server owns (status, owner,
holder key, reference number, case number, timestamps, ids, certificate fields, …) is added at the top level
and inside the nested objects. Each is refused with a 4xx naming the field (the project's convention for a body
of the wrong shape is 400 ``bad_request``; a rule broken by a field's value is 422), nothing is stored under
that request's Idempotency-Key, and what was stored carries the server's values. Routes without a body ignore one,
and a push subscription ignores extra keys as ``PushSubscription.toJSON()`` gives them."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.notifications.helpers import Device
from tests.security.matrix import HANGZHOU, LINA, YUNQI, letter, random_id
from tests.support.flows import detail, hr, issued, post, signed_in, submit, uploaded
from tests.support.portal_client import Browser
from tests.support.stack import Stack

SERVER_FIELDS: dict[str, Any] = {
    "id": "00000000-0000-0000-0000-000000000001", "status": "completed", "owner": "someone-else",
    "owner_sub": "someone-else", "holder_key": "0" * 64, "reference_no": "SQ20000101AAAAAAAA",
    "case_no": "CASE-1", "created_at": "2000-01-01T00:00:00+08:00", "updated_at": "2000-01-01T00:00:00+08:00",
    "forwarded_at": "2000-01-01T00:00:00+08:00", "initiated_by": "unit", "unit_uscc": YUNQI["uscc"],
    "agency_code": "33010001", "archive_no": "33010000004321", "idempotency_key": str(uuid.uuid4()),
    "request_hash": "0" * 64, "certificate": {"certificate_no": "FAKE-1"}, "certificate_no": "FAKE-1",
    "issued_on": "2000-01-01", "expires_on": "2099-12-31", "revoked_at": None, "state": "attached",
    "decided_by": "HR", "attached_by": "unit", "can_confirm": True, "rating": {"score": 5},
}
ENTRY_FIELDS = ["id", "status", "state", "owner_sub", "attached_by", "forwarded_at", "created_at"]
SAFE_REFERENCE = re.compile(r"^SQ\d{8}[2-9A-HJ-NP-Z]{8}$")


def refused(resp: httpx.Response, name: str) -> None:
    assert resp.status_code in (400, 422), f"{name}: {resp.status_code} {resp.text[:300]}"
    body = resp.json()
    assert [f["field"] for f in body.get("fields") or []] == [name], f"{name}: {body}"
    assert name.rsplit(".", 1)[-1] in body["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])


def with_field(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with ``value`` at ``path`` (``materials[0].state``, ``transfer.flow``)."""
    copied: dict[str, Any] = json.loads(json.dumps(body))  # no shared sub-objects (the same unit may be named twice)
    *parents, leaf = re.split(r"\.", path)
    node: Any = copied
    for part in parents:
        name, _, index = part.partition("[")
        node = node[name]
        if index:
            node = node[int(index.rstrip("]"))]
    node[leaf] = value
    return copied


def injected(body: dict[str, Any], nested: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, value in SERVER_FIELDS.items():
        yield name, {**body, name: value}
    for parent in nested:
        for name in ENTRY_FIELDS:
            yield f"{parent}.{name}", with_field(body, f"{parent}.{name}", SERVER_FIELDS[name])


@pytest.fixture(scope="module")
def a(sec_stack: Stack) -> Browser:
    return signed_in(sec_stack, "zhangwei")


@pytest.fixture(scope="module")
def x(sec_stack: Stack) -> Browser:
    return hr(sec_stack, "yunqi-hr")


def _count(stack: Stack, browser: Browser, path: str) -> int:
    return len(browser.get(f"{stack.portal}{path}").json()["items"])


def test_an_application_cannot_be_submitted_with_server_fields(sec_stack: Stack, a: Browser) -> None:
    review_letter = uploaded(sec_stack, a, letter(), material="review_letter")
    bodies: dict[str, tuple[dict[str, Any], list[str]]] = {
        "archive_certificate": ({"kind": "archive_certificate", "purpose": "办理落户", "phone": "13800138000",
                                 "delivery": "post", "post_address": {
                                     "recipient": "张伟", "phone": "13800138000", "region_code": "110105",
                                     "address": "朝阳北路 101 号", "postcode": "100020"}}, ["post_address"]),
        "transfer": ({"kind": "archive_transfer", "phone": "13800138000",
                      "transfer": {"target_agency_code": HANGZHOU, "target_nature": "1", "unit": YUNQI},
                      "materials": [{"material": "unit_letter", "role": "new_unit", "ask_unit": YUNQI}]},
                     ["transfer", "transfer.unit", "materials[0]", "materials[0].ask_unit"]),
        "kinship": ({"kind": "kinship_certificate", "phone": "13800138000", "purpose": "办理签证",
                     "relative": {"relation": "51", "name": "张建国"}}, ["relative"]),
        "review": ({"kind": "political_review", "phone": "13800138000", "review": {
            "purpose": "party", "unit": YUNQI, "contact_name": "陈静", "contact_phone": "0571-87006666"},
            "materials": [{"material": "review_letter", "role": "review_unit", "document_id": review_letter}]},
            ["review", "review.unit", "materials[0]"]),
    }
    before = _count(sec_stack, a, "/api/applications")
    tried = 0
    for body, nested in bodies.values():
        for name, bad in injected(body, nested):
            key = str(uuid.uuid4())
            refused(post(sec_stack, a, "/api/applications", bad, **{"Idempotency-Key": key}), name)
            tried += 1
        clean = post(sec_stack, a, "/api/applications", body, **{"Idempotency-Key": key})
        assert clean.status_code == 201, clean.text  # nothing was kept under the refused request's key
        shown = clean.json()
        assert shown["status"] in {"submitted", "awaiting_unit"} and SAFE_REFERENCE.match(shown["reference_no"])
        assert shown["certificate"] is None and shown["rating"] is None and shown["started_by_unit"] is None
    assert _count(sec_stack, a, "/api/applications") == before + len(bodies)
    assert tried > 100


def test_updates_of_an_application_take_no_server_fields(sec_stack: Stack, a: Browser, x: Browser) -> None:
    waiting = submit(sec_stack, a, kind="archive_transfer", purpose="", transfer={
        "target_agency_code": HANGZHOU, "target_nature": "1", "unit": YUNQI},
        materials=[{"material": "unit_letter", "role": "new_unit", "ask_unit": YUNQI}]).json()
    app_id = waiting["id"]
    own = uploaded(sec_stack, a, letter())
    body = {"materials": [{"material": "unit_letter", "role": "new_unit", "document_id": own}]}
    for name, bad in injected(body, ["materials[0]"]):
        refused(post(sec_stack, a, f"/api/applications/{app_id}/materials", bad), name)
    assert detail(sec_stack, a, app_id)["status"] == "awaiting_unit"

    started = post(sec_stack, x, "/api/unit/transfers", {
        "name": "张伟", "id_number": "110105199805120012", "target_agency_code": HANGZHOU,
        "document_id": uploaded(sec_stack, x, letter())}, **{"Idempotency-Key": random_id()})
    assert started.status_code == 201, started.text
    for name, bad in injected({"materials": []}, []):
        refused(post(sec_stack, a, f"/api/applications/{started.json()['id']}/confirm", bad), name)
    assert detail(sec_stack, a, started.json()["id"])["status"] == "awaiting_confirmation"

    # routes without a body ignore one: the server's values stand
    for action in ("decline", "withdraw"):
        target = started.json()["id"] if action == "decline" else app_id
        done = post(sec_stack, a, f"/api/applications/{target}/{action}", SERVER_FIELDS)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == {"decline": "cancelled", "withdraw": "withdrawn"}[action]
        assert done.json()["certificate"] is None and done.json()["reference_no"] != SERVER_FIELDS["reference_no"]


def test_a_rating_and_a_reissue_take_no_server_fields(sec_stack: Stack, a: Browser) -> None:
    app_id = submit(sec_stack, a).json()["id"]
    shown = issued(sec_stack, a, app_id)
    for name, bad in injected({"score": 4, "comment": "好"}, []):
        refused(post(sec_stack, a, f"/api/applications/{app_id}/rating", bad), name)
    for name in ("application_id", "rated_at", "score_by_agency"):
        refused(post(sec_stack, a, f"/api/applications/{app_id}/rating", {"score": 4, name: "x"}), name)
    assert detail(sec_stack, a, app_id)["rating"] is None and detail(sec_stack, a, app_id)["can_rate"] is True

    again = post(sec_stack, a, f"/api/applications/{app_id}/reissue", SERVER_FIELDS)
    assert again.status_code == 200, again.text
    certificate = again.json()["certificate"]
    assert certificate["certificate_no"] == shown["certificate"]["certificate_no"] + "-1"
    assert certificate["expires_on"] != SERVER_FIELDS["expires_on"] and certificate["state"] == "valid"


def test_documents_take_no_server_fields(sec_stack: Stack, a: Browser) -> None:
    for name, bad in injected({"material": "unit_letter"}, []):
        refused(post(sec_stack, a, "/api/documents", bad), name)
    created = post(sec_stack, a, "/api/documents", {"material": "unit_letter"})
    assert created.status_code == 201 and created.json()["state"] == "draft" and created.json()["files"] == []
    document_id = created.json()["id"]
    # the upload's query takes only the file's name: anything else is ignored
    up = a.request("PUT", f"{sec_stack.portal}/api/documents/{document_id}/files/{uuid.uuid4()}",
                   params={"name": "信.pdf", "state": "attached", "owner_sub": "someone-else", "size": "1",
                           "pages": "99", "kind": "image", "content_type": "text/html"},
                   content=letter(), headers={"Content-Type": "application/octet-stream",
                                              "Origin": sec_stack.portal})
    assert up.status_code == 201, up.text
    shown = up.json()
    assert shown["state"] == "draft" and shown["pages"] == 1
    assert shown["files"][0]["kind"] == "pdf" and shown["files"][0]["content_type"] == "application/pdf"
    assert shown["files"][0]["size"] == len(letter())


def test_a_units_bodies_take_no_server_fields(sec_stack: Stack, a: Browser, x: Browser) -> None:
    request = submit(sec_stack, a, kind="archive_transfer", purpose="", transfer={
        "target_agency_code": HANGZHOU, "target_nature": "1", "unit": YUNQI},
        materials=[{"material": "unit_letter", "role": "new_unit", "ask_unit": YUNQI}]).json()
    code = request["materials"][0]["request"]["code"]
    document = uploaded(sec_stack, x, letter())
    for name, bad in injected({"document_id": document, "codes": [code]}, []):
        refused(post(sec_stack, x, "/api/unit/requests/fulfil", bad), name)
    for name, bad in injected({"reason": "该员工已离职"}, []):
        refused(post(sec_stack, x, f"/api/unit/requests/{code}/decline", bad), name)
    assert x.get(f"{sec_stack.portal}/api/unit/requests/{code}").json()["state"] == "open"

    before = _count(sec_stack, x, "/api/unit/applications")
    hire = {"name": "赵磊", "id_number": "520102199607040051", "target_agency_code": HANGZHOU,
            "document_id": uploaded(sec_stack, x, letter())}
    for name, bad in injected(hire, []):
        refused(post(sec_stack, x, "/api/unit/transfers", bad, **{"Idempotency-Key": random_id()}), name)
    employee = {"kind": "archive_certificate", "name": LINA["name"], "id_number": LINA["id_number"],
                "phone": LINA["phone"], "purpose": "办理人才引进",
                "letter_document_id": uploaded(sec_stack, x, letter())}
    for name, bad in injected(employee, []):
        refused(post(sec_stack, x, "/api/unit/applications", bad, **{"Idempotency-Key": random_id()}), name)
    assert _count(sec_stack, x, "/api/unit/applications") == before

    made = post(sec_stack, x, "/api/unit/transfers", hire, **{"Idempotency-Key": random_id()})
    assert made.status_code == 201 and made.json()["status"] == "awaiting_confirmation", made.text
    assert SAFE_REFERENCE.match(made.json()["reference_no"])
    applied = post(sec_stack, x, "/api/unit/applications", employee, **{"Idempotency-Key": random_id()})
    assert applied.status_code == 201 and applied.json()["status"] == "submitted", applied.text


def test_a_push_subscription_belongs_to_whoever_sends_it(sec_stack: Stack, a: Browser) -> None:
    """Extra keys of ``PushSubscription.toJSON()`` (``expirationTime``, …) are ignored, and so is any attempt to
    name another holder: the subscription is the caller's."""
    b = signed_in(sec_stack, "wujing")
    settings = f"{sec_stack.portal}/api/notifications/settings"
    mine, theirs = (int(who.get(settings).json()["push_devices"]) for who in (a, b))
    device = Device(sec_stack.provincial)
    sent = post(sec_stack, a, "/api/notifications/push-subscriptions",
                {**device.subscription(), **SERVER_FIELDS, "holder": "wujing"})
    assert sent.status_code == 201, sent.text
    assert sent.json()["push_devices"] == mine + 1 and int(b.get(settings).json()["push_devices"]) == theirs
    for name, bad in injected({"endpoint": device.endpoint}, []):
        refused(a.request("DELETE", f"{sec_stack.portal}/api/notifications/push-subscriptions", json=bad,
                          headers={"Origin": sec_stack.portal}), name)
    assert int(a.get(settings).json()["push_devices"]) == mine + 1

