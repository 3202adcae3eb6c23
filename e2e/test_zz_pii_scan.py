"""After every other e2e test (``e2e/conftest.py`` puts this file last): no whole 身份证 or 手机 in any response the
browsers received from the portal, nor in a line the BFF logged. Routes of the sandbox's own systems that show
whole values are on ``e2e.pii.ALLOWED`` with the reason; the portal has no entry there. Run alone, the scan
still reads the stack's logs. The figures are printed in the terminal summary and kept in
test-artifacts/pii-scan.txt."""

from __future__ import annotations

import base64
import json

from e2e import pii
from tests.support.stack import REPO, Stack

ZHANG_ID = "110105199805120012"  # the sandbox's 张伟: a valid check digit
ZHANG_PHONE = "13800138000"


def test_the_detector_finds_whole_numbers_and_only_those() -> None:
    assert {leak.kind for leak in pii.find_leaks(f'{{"id_number":"{ZHANG_ID}"}}')} == {"id_number"}
    assert pii.find_leaks("32010219921120004x") == {pii.Leak("id_number", "32010219921120004X")}
    assert pii.find_leaks(f"手机{ZHANG_PHONE}。") == {pii.Leak("phone", ZHANG_PHONE)}
    assert pii.find_leaks("/api/x?phone=13800138000&y=1") == {pii.Leak("phone", ZHANG_PHONE)}
    for harmless in ("110105199805120013",  # wrong check digit
                     "110105********0012", "138****8000",  # masked as the portal shows them
                     "1101051998051200123", "138001380001", "1713800138000",  # part of a longer run of digits
                     "12800138000",  # not a mobile prefix
                     "a18912349557f0c2"):  # inside a random hex id (a request id)
        assert pii.find_leaks(harmless) == set(), harmless

    claims = base64.urlsafe_b64encode(json.dumps({"sub": "x", "id_number": ZHANG_ID}).encode()).rstrip(b"=")
    token = f"eyJhbGciOiJSUzI1NiJ9.{claims.decode()}.c2ln"
    assert pii.find_leaks(f"https://sso/logout?id_token_hint={token}") == {pii.Leak("id_number", ZHANG_ID)}
    assert pii.Leak("id_number", ZHANG_ID).masked == "110105********0012"
    assert pii.Leak("phone", ZHANG_PHONE).masked == "138****8000"


def test_the_allow_list_covers_the_sandbox_console_and_nothing_of_the_portal() -> None:
    origins: dict[pii.Origin, str] = {"portal": "http://p", "sso": "http://s", "provincial": "http://c"}

    def seen(url: str, body: str) -> pii.Seen:
        return pii.Seen("GET", url, 200, {"content-type": "text/html"}, body, False)

    report = pii.Report()
    pii.scan_responses([seen("http://c/", f"联系人 陈静 {ZHANG_PHONE}"), seen("http://c/", ZHANG_ID),
                        seen("http://p/api/me", f'{{"phone":"{ZHANG_PHONE}"}}'), seen("http://p/", ZHANG_ID)],
                       origins, report)
    assert report.responses == 4 and report.bodies == 4
    assert report.allowed == {"provincial /": 1}
    assert report.failures == ["GET 200 provincial / (body): id_number 110105********0012",
                               "GET 200 portal /api/me (body): phone 138****8000",
                               "GET 200 portal / (body): id_number 110105********0012"]


def test_no_personal_data_leaks_out_of_the_portal(e2e_stack: Stack) -> None:
    stack = e2e_stack
    report = pii.Report(unreadable=list(pii.RECORDER.unreadable))
    origins: dict[pii.Origin, str] = {"portal": stack.portal, "sso": stack.sso, "provincial": stack.provincial}
    pii.scan_responses(pii.RECORDER.seen, origins, report)
    pii.scan_logs(stack.base, report, portal_log=lambda name: name.startswith("bff"))
    pii.LAST_REPORT = report

    lines = [report.summary(), *(f"allowed {key}: {n}" for key, n in sorted(report.allowed.items())),
             *(f"LEAK {failure}" for failure in report.failures),
             *(f"sandbox log {hit}" for hit in report.external_log_hits),
             *(f"body unreadable: {where}" for where in report.unreadable)]
    out = REPO / "test-artifacts" / "pii-scan.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")  # values are masked: the report leaks nothing
    print(report.summary())

    assert "bff.log" in report.log_files and report.log_lines > 0, "the BFF's log was not read"
    assert not report.failures, "personal data in the clear:\n" + "\n".join(report.failures[:50])
