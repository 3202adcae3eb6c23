"""Fuzzing the BFF from its own OpenAPI document (schemathesis): every operation, as a signed-in person and as a
unit's HR, with a bounded, derandomised number of generated requests each.

Checks on every answer: no server error (5xx), a status code the document lists for the operation, the
documented content type, and a body that conforms to the documented schema."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bff.domain.certificates.render import read_qr_url
from tests.support.flows import download, hr, issued, signed_in, submit, uploaded
from tests.support.portal_client import Browser, same_origin
from tests.support.stack import REPO, Stack
from tests.uploads import corpus

# per operation and actor, valid and invalid requests alike; derandomised (a fixed seed). FUZZ_CASES=500 digs deeper.
CASES_PER_OPERATION = int(os.environ.get("FUZZ_CASES", "50"))
# Not fuzzed, each for a reason that is not a gap in the document:
SKIPPED = {
    "streamEvents": "a Server-Sent Events stream never ends; the access matrix opens it and reads the first event",
    "logout": "would end the fuzzing session (the access matrix covers it)",
    "loginCallback": "drops the caller's session before checking the state (the access matrix covers it)",
}
# Operations of everyone signed in: fuzzed as a person and as a unit's HR.
SHARED_TAGS = {"documents", "me", "agencies", "verification", "health", "auth"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
JINLING = {"name": "南京金陵软件有限公司", "uscc": "91320102MA1MBP6W7H"}


@dataclass
class Tally:
    operations: set[str] = field(default_factory=set)
    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=dict)


def _session(browser: Browser) -> requests.Session:
    session = requests.Session()
    session.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    return session


def _known_objects(stack: Stack, person: Browser, unit: Browser) -> dict[str, dict[str, str]]:
    """Real ids of each fuzzing actor's own things, so that some cases reach past the 404 into the handlers: a
    person's issued certificate (and its QR token), a unit's letter request, and a document of each."""
    created = submit(stack, person, phone="18685123071")
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    asked = submit(stack, person, kind="archive_transfer", purpose="", phone="18685123071",
                   transfer={"target_agency_code": "32010001", "target_nature": "1", "unit": JINLING},
                   materials=[{"material": "unit_letter", "role": "new_unit", "ask_unit": JINLING}])
    assert asked.status_code == 201, asked.text
    known = {}
    for who, browser in (("person", person), ("unit", unit)):
        document = uploaded(stack, browser, corpus.jpeg())
        files = browser.get(f"{stack.portal}/api/documents/{document}").json()["files"]
        known[who] = {"document_id": document, "file_id": files[0]["id"]}
    known["unit"]["code"] = asked.json()["materials"][0]["request"]["code"]
    pdf = download(stack, person, issued(stack, person, app_id))
    url = read_qr_url(pdf)
    assert url, "no QR link on the certificate"
    known["person"].update(application_id=app_id, token=url.rsplit("/", 1)[1])
    known["unit"]["token"] = known["person"]["token"]
    return known


def _fuzz(operation: Any, who: str, base: str, http: requests.Session, tally: Tally, known: dict[str, str]) -> None:
    label = f"{operation.method.upper()} {operation.path} as {who}"
    origin = same_origin(base) if operation.method.upper() in UNSAFE else {}
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)
    real = {name: value for name, value in known.items() if "{" + name + "}" in operation.path}
    if real:  # as many cases again on the actor's own objects
        strategy |= operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real)
        strategy |= operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real)

    @hypothesis.given(case=strategy)
    @hypothesis.settings(max_examples=CASES_PER_OPERATION, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is recorded, not raised
                         suppress_health_check=list(HealthCheck), print_blob=False)
    def run(case: Any) -> None:
        response = case.call(base_url=base, session=http, headers=origin, timeout=20, allow_redirects=False)
        tally.cases[label] += 1
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:  # recorded, one line per distinct problem of this operation
            problems = tally.failures.setdefault(label, [])
            for failure in group.exceptions:
                text = f"{failure.title} ({response.status_code}): {' '.join(failure.message.split())[:300]}"
                if len(problems) < 4 and not any(p.split(":", 1)[0] == text.split(":", 1)[0] for p in problems):
                    problems.append(f"{text} — {response.request.method} {response.request.url}"[:600])

    run()


def test_a_nul_byte_where_an_id_or_code_goes_is_not_found_not_a_server_error(sec_stack: Stack) -> None:
    """What the fuzzing found: PostgreSQL refuses a NUL byte in a query parameter, so a short code, a share link
    or a push endpoint carrying one was a 500. Each is now the answer for one that does not exist. (Before the
    fuzzing, which spends the public pages' per-address rate limit.)"""
    s = sec_stack
    unit, person = hr(s, "jinling-hr"), signed_in(s, "wujing")
    origin = same_origin(s.portal)
    share = person.get(f"{s.portal}/s/AAAAAAAAAAAAAAAAAAAAAA")
    answers = {
        "share page": (person.get(f"{s.portal}/s/%00abc"), share),
        "share open": (person.post(f"{s.portal}/s/%00abc", data={"access_code": "ABCD2345"}, headers=origin), share),
        "unit request": (unit.get(f"{s.portal}/api/unit/requests/%00AB"), None),
        "decline": (unit.post(f"{s.portal}/api/unit/requests/%00AB/decline", json={"reason": "不是本单位员工"},
                              headers=origin), None),
        "fulfil": (unit.post(f"{s.portal}/api/unit/requests/fulfil", headers=origin,
                             json={"document_id": "00000000-0000-0000-0000-000000000000", "codes": ["AB\x00CD234"]}),
                   None),
        "opt-out": (person.request("DELETE", f"{s.portal}/api/notifications/push-subscriptions", headers=origin,
                                   json={"endpoint": "https://fcm.googleapis.com/fcm/send/\x00"}), None),
    }
    for name, (got, like) in answers.items():
        assert got.status_code < 500, f"{name}: {got.status_code} {got.text[:200]}"
        if like is not None:
            assert got.status_code == like.status_code == 404 and "链接无效或已过期" in got.text, name
        elif name == "opt-out":
            assert got.status_code == 204
        else:
            assert got.status_code == 404 and got.json()["code"] == "not_found", f"{name}: {got.text[:200]}"


def test_every_operation_holds_to_its_document_under_fuzzing(sec_stack: Stack) -> None:
    started = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{sec_stack.portal}/schema/openapi.json")
    person_browser, unit_browser = signed_in(sec_stack, "sunhao"), hr(sec_stack, "jinling-hr")  # not the matrix's
    known = _known_objects(sec_stack, person_browser, unit_browser)
    person, unit = _session(person_browser), _session(unit_browser)
    tally = Tally()
    skipped = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document has an operation schemathesis cannot read: {result}"
        operation = result.ok()
        op_id = operation.definition.raw.get("operationId", operation.label)
        if op_id in SKIPPED:
            skipped.append(op_id)
            continue
        tags = set(operation.definition.raw.get("tags", []))
        actors = [("unit", unit)] if "unit" in tags else [("person", person)]
        if tags & SHARED_TAGS:
            actors = [("person", person), ("unit", unit)]
        for who, http in actors:
            tally.operations.add(op_id)
            _fuzz(operation, who, sec_stack.portal, http, tally, known[who])
    elapsed = time.monotonic() - started
    summary = (f"fuzzing: {len(tally.operations)} operations ({len(skipped)} skipped: {', '.join(sorted(skipped))}), "
               f"{sum(tally.cases.values())} cases in {elapsed:.0f} s; statuses {dict(sorted(tally.statuses.items()))}")
    print("\n" + summary)
    out = REPO / "test-artifacts" / "security"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fuzz.txt").write_text(summary + "\n\n" + "\n".join(f"{n:>4}  {label}" for label, n in
                                                              sorted(tally.cases.items())) + "\n", encoding="utf-8")
    assert sorted(skipped) == sorted(SKIPPED), "an operation named in SKIPPED is no longer in the document"
    assert len(tally.operations) >= 40 and all(n >= 1 for n in tally.cases.values())
    report = "\n".join(f"{label}:\n  " + "\n  ".join(problems) for label, problems in sorted(tally.failures.items()))
    assert not tally.failures, f"{len(tally.failures)} operations answered outside their document:\n{report}"
    errors = [line for line in sec_stack.log("bff").splitlines() if '"unhandled error' in line]
    assert not errors, "the BFF logged unhandled errors:\n" + "\n".join(errors[:5])



def test_the_document_gives_every_error_in_the_portals_one_format(sec_stack: Stack) -> None:
    """Each documented refusal is ``{code, message, fields?}`` (or, on a server-rendered page, the page): none is
    left in the framework's own shape, which the portal never sends."""
    document = requests.get(f"{sec_stack.portal}/schema/openapi.json", timeout=10).json()
    error_body = document["components"]["schemas"]["ErrorBody"]
    assert set(error_body["required"]) == {"code", "message"}
    odd = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) < 400:
                    continue
                for media_type, content in (answer.get("content") or {}).items():
                    ok = (content["schema"] == {"$ref": "#/components/schemas/ErrorBody"} if "json" in media_type
                          else media_type == "text/html")
                    if not ok:
                        odd.append(f"{method.upper()} {path} {status} {media_type}")
            if not path.startswith("/api/"):
                continue
            assert {"400", "401"} <= set(operation["responses"]), f"{method.upper()} {path}"
    assert not odd, odd



if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q", "-s"])
