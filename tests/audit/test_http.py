"""The audited actions, driven over real HTTP against the whole stack (SQLite, and PostgreSQL + Redis), checked
the way an operator would: with ``python -m bff audit list`` and ``verify`` on the stack's own database.

Sign-in (ok and failed) and sign-out; denials (401, 403, 429, another person's record); views and downloads of
personal data and certificates (archive, application, certificate, the 政审 share, a unit viewing applicants);
submits; the relay's forwards and dead letters. Then: no name, ID number or phone of anyone in any row, and the
chain verifies."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from sandbox.seed import LEGAL_ENTITIES, PERSONS, subject_of
from tests.support.flows import detail, download, hr, issued, post, signed_in, submit, uploaded
from tests.support.portal_client import Browser, same_origin
from tests.support.stack import REPO, Stack, wait_until
from tests.uploads import corpus

COLUMNS = ["seq", "at", "action", "outcome", "actor", "target", "client", "request_id", "detail"]
REVIEW = {"purpose": "party", "unit": {"name": "中共杭州云栖科技有限公司委员会", "uscc": "91330106MA27QK3B27"},
          "contact_name": "陈静", "contact_phone": "0571-87006666"}
YUNQI = {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}


def audit(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bff", "audit", *args], cwd=REPO, env=stack.env(),
                          capture_output=True, text=True, timeout=120)


def rows(stack: Stack, *args: str) -> list[dict[str, str]]:
    done = audit(stack, "list", "--limit", "100000", *args)
    assert done.returncode == 0, done.stderr
    return [dict(zip(COLUMNS, line.split("\t"), strict=True)) for line in done.stdout.splitlines()[1:]]


def person(login: str) -> str:
    return f"person:{subject_of(login)}"


def seen(stack: Stack, who: str, action: str, outcome: str = "ok", target: str | None = None,
         **detail: str) -> dict[str, str]:
    """The row an operator finds for ``who`` doing ``action`` (waits a little: denials are written after the
    answer has gone)."""
    def find() -> dict[str, str] | None:
        for row in rows(stack, "--who", who, "--action", action) if who else rows(stack, "--action", action):
            if row["outcome"] == outcome and (target is None or row["target"] == target) \
                    and all(f'"{k}":{v}' in row["detail"] for k, v in detail.items()):
                return row
        return None

    found: dict[str, str] = wait_until(find, timeout=20, interval=0.5)
    return found


def test_sign_in_sign_out_and_failed_sign_in(stack: Stack) -> None:
    browser = signed_in(stack, "wangfang")
    row = seen(stack, person("wangfang"), "auth.sign_in", role='"person"')
    assert row["actor"].startswith("person:") and subject_of("wangfang") not in row["actor"]
    assert row["client"] == "127.0.0.1" and len(row["request_id"]) == 16
    out = browser.post(f"{stack.portal}/auth/logout", headers=same_origin(stack.portal))
    assert out.status_code == 303
    seen(stack, person("wangfang"), "auth.sign_out")

    unit = hr(stack, "jinling-hr")
    seen(stack, "unit:91320102MA1MBP6W7H", "auth.sign_in", role='"employer"')
    assert unit.session_cookie()

    forged = Browser().get(f"{stack.portal}/auth/callback", params={"state": "forged", "code": "x"})
    assert forged.status_code == 400
    seen(stack, "", "auth.sign_in", "failed", reason='"state"')


def test_denials_are_recorded(stack: Stack) -> None:
    assert Browser().get(f"{stack.portal}/api/archive").status_code == 401
    seen(stack, "", "request.denied", "denied", "route:getMyArchive", status="401")

    zhang = signed_in(stack, "zhangwei")
    assert zhang.get(f"{stack.portal}/api/unit/applications").status_code == 403
    seen(stack, person("zhangwei"), "request.denied", "denied", "route:listUnitApplications", status="403")

    r = submit(stack, zhang)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    wangfang = signed_in(stack, "wangfang")
    for path in (f"/api/applications/{app_id}", f"/api/applications/{app_id}/certificate"):
        assert wangfang.get(f"{stack.portal}{path}").status_code == 404
    seen(stack, person("wangfang"), "request.denied", "denied", f"application:{app_id}", status="404")
    # a record that does not exist at all is an ordinary 404, not someone else's
    assert wangfang.get(f"{stack.portal}/api/applications/{uuid.uuid4()}").status_code == 404
    assert all(r["target"] in {f"application:{app_id}"} for r in rows(stack, "--who", person("wangfang"),
                                                                       "--action", "request.denied"))

    # from an address of its own (loopback is 127/8): the session's other tests keep 127.0.0.1's window
    stranger = httpx.Client(timeout=10, transport=httpx.HTTPTransport(local_address="127.0.0.9"))
    code = "AAAAAAAA"
    limited = [stranger.get(f"{stack.portal}/verify", params={"code": code}).status_code for _ in range(32)]
    assert limited[-1] == 429
    seen(stack, "", "request.denied", "denied", "route:verifyStart", status="429")


def test_views_submit_forward_and_certificate_download(stack: Stack) -> None:
    zhang = signed_in(stack, "zhangwei")
    assert zhang.get(f"{stack.portal}/api/archive").status_code == 200
    seen(stack, person("zhangwei"), "archive.view", target="archive:" + next(
        p.archive.archive_no for p in PERSONS if p.username == "zhangwei" and p.archive))

    r = submit(stack, zhang)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    submitted = seen(stack, person("zhangwei"), "application.submit", target=f"application:{app_id}")
    assert '"kind":"archive_certificate"' in submitted["detail"]
    detail(stack, zhang, app_id)
    seen(stack, person("zhangwei"), "application.view", target=f"application:{app_id}")

    forwarded = seen(stack, "", "relay.forward", target=f"application:{app_id}")
    assert forwarded["actor"] == "system" and forwarded["client"] == "-"

    download(stack, zhang, issued(stack, zhang, app_id))
    issuing = seen(stack, "", "relay.forward", target=f"application:{app_id}", kind='"issue_certificate"')
    assert issuing["actor"] == "system"
    downloaded = seen(stack, person("zhangwei"), "certificate.download", application=f'"{app_id}"')  # not another
    assert f'"application":"{app_id}"' in downloaded["detail"]


def test_the_review_share_and_a_unit_viewing_applicants(stack: Stack) -> None:
    lina = signed_in(stack, "lina")
    review_letter = uploaded(stack, lina, corpus.plain_pdf(1), material="review_letter")
    unit_letter = uploaded(stack, lina, corpus.plain_pdf(1))
    r = submit(stack, lina, kind="political_review", purpose="", phone="13905712345", review=REVIEW, materials=[
        {"material": "review_letter", "role": "review_unit", "document_id": review_letter},
        {"material": "unit_letter", "role": "current_unit", "document_id": unit_letter}])
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    wait_until(lambda: stack.sandbox_application(app_id) is not None)
    stack.clerk(app_id, "accept")
    stack.clerk(app_id, "complete")
    reply: dict[str, Any] = wait_until(lambda: detail(stack, lina, app_id)["review_reply"], timeout=30)
    share = reply["share_url"]
    stranger = httpx.Client(timeout=10)
    assert stranger.post(share, data={"access_code": "AAAAAAAA"}, headers=same_origin(stack.portal)).status_code == 403
    seen(stack, "", "share.open", "denied", reason='"access_code"')
    own = lina.post(share, data={"access_code": reply["access_code"]}, headers=same_origin(stack.portal))
    assert own.status_code == 403
    seen(stack, person("lina"), "share.open", "denied", reason='"holder"')
    opened = stranger.post(share, data={"access_code": reply["access_code"]}, headers=same_origin(stack.portal))
    assert opened.status_code == 200 and opened.content.startswith(b"%PDF")
    row = seen(stack, "", "share.open", application=f'"{app_id}"')  # this share's row, not an earlier test's
    assert row["actor"] == "anonymous" and f'"application":"{app_id}"' in row["detail"]
    assert share.rsplit("/", 1)[1] not in row["target"] + row["detail"]

    asked = submit(stack, lina, materials=[{"material": "unit_letter", "role": "current_unit", "ask_unit": YUNQI}])
    assert asked.status_code == 201, asked.text
    code = asked.json()["materials"][0]["request"]["code"]
    yunqi = hr(stack)
    assert yunqi.get(f"{stack.portal}/api/unit/requests").status_code == 200
    seen(stack, "unit:91330106MA27QK3B27", "unit.requests.list")
    assert yunqi.get(f"{stack.portal}/api/unit/requests/{code}").status_code == 200
    seen(stack, "unit:91330106MA27QK3B27", "unit.request.view", target=f"letter_request:{code}")
    jinling = hr(stack, "jinling-hr")  # another unit asking for it: someone else's record
    assert jinling.get(f"{stack.portal}/api/unit/requests/{code}").status_code == 404
    seen(stack, "unit:91320102MA1MBP6W7H", "request.denied", "denied", f"letter_request:{code}", status="404")

    letter = uploaded(stack, yunqi, corpus.plain_pdf(1))
    started = post(stack, yunqi, "/api/unit/applications", {
        "kind": "archive_certificate", "name": "陈晨", "id_number": "330108199706150822", "phone": "13758120622",
        "purpose": "办理人才引进", "letter_document_id": letter}, **{"Idempotency-Key": str(uuid.uuid4())})
    assert started.status_code == 201, started.text
    seen(stack, "unit:91330106MA27QK3B27", "unit.application.submit", target=f"application:{started.json()['id']}")


def test_a_dead_letter_is_recorded(stack: Stack) -> None:
    """Submitted during an outage by someone with no archive: once the provincial system is back, the relay
    finds no archive and gives up."""
    liuyang = signed_in(stack, "liuyang")
    stack.set_fault("down")
    try:
        r = submit(stack, liuyang)
        assert r.status_code == 201, r.text
    finally:
        stack.set_fault("none")
    app_id = r.json()["id"]
    row = seen(stack, "", "relay.dead_letter", "failed", target=f"application:{app_id}")
    assert row["actor"] == "system" and '"reason":"no archive for applicant"' in row["detail"]


def test_no_personal_data_in_clear_and_the_chain_verifies(stack: Stack) -> None:
    """Run last in this module: every row written above, searched for every seeded person's and unit agent's
    name, ID number and phone, and for the OIDC subjects the pseudonyms stand for."""
    everything = audit(stack, "list", "--limit", "100000")
    assert everything.returncode == 0
    listing = everything.stdout
    assert len(listing.splitlines()) > 20
    secrets = {"13800138000", "13905712345", "13758120622", "陈晨", "330108199706150822"}
    for p in PERSONS:
        secrets |= {p.name, p.id_number, p.phone, subject_of(p.username)}
    for e in LEGAL_ENTITIES:
        secrets |= {e.agent_name, subject_of(e.username)}
    found = sorted(s for s in secrets if s and s in listing)
    assert not found, f"personal data in the audit trail: {found}"
    done = audit(stack, "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "审计日志完整" in done.stdout


@pytest.fixture(autouse=True)
def _provincial_up(stack: Stack) -> None:
    stack.set_fault("none")
