"""The access matrix (ASVS 4.0.3 V4.1, V4.2): every route of the app × anonymous, person A, person B, unit X and
unit Y, each cell with the answer it must get.

- the owner (A on a person's route, X on a unit's, A on a document) gets the route's success answer;
- anonymous gets 401 on every route that is not on the public list (``tests/meta/test_public_routes.py``);
- a unit on a person's route, and a person on a unit's route, gets 403;
- someone else's object (B on A's, Y on X's, a unit on A's document) is 404 and tells nothing: the answer is
  byte for byte the one for an id that does not exist, and the owner's own request still works afterwards;
- nobody else's answer carries A's (or X's) ids, codes, reference numbers or ID number.

A route added to the app and not to ``ROUTES`` fails the test, so each new route gets its row."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from stdnum.cn import ric

from tests.meta.test_public_routes import PUBLIC_ROUTES
from tests.notifications.helpers import Device
from tests.security.matrix import (
    A_ID_NUMBER,
    LINA,
    World,
    build_world,
    random_code,
    random_id,
    sse_first_event,
)
from tests.support.inprocess import inprocess_app
from tests.support.portal_client import Browser, same_origin
from tests.support.stack import REPO, Stack
from tests.uploads import corpus

Access = Literal["public", "person", "unit", "signed"]
ACTORS = ("anonymous", "A", "B", "X", "Y")
ROLE = {"A": "person", "B": "person", "X": "unit", "Y": "unit"}


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)


Build = Callable[[World, str, str], Req]  # (world, actor, target) → the request
Check = Callable[[httpx.Response, World, "Ctx"], None]


@dataclass
class Route:
    method: str
    template: str  # as in ``app.routes``
    access: Access
    build: Build
    ok: int  # the owner's answer (on a public route: everyone's, unless ``per_actor`` says otherwise)
    owned: Callable[[World], str] | None = None  # the owner's object this route acts on
    fresh: Callable[[], str] = random_id  # an id of the same shape that does not exist
    hidden: int = 404  # what a stranger gets for the owner's object (and for a non-existent one)
    per_actor: dict[str, int] = field(default_factory=dict)
    check: Check | None = None  # more about the owner's answer
    before_owner: Callable[[World, Ctx], None] | None = None
    last: bool = False  # ends the caller's session: run after every other route

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.template


@dataclass
class Ctx:
    stack: Stack
    browsers: dict[str, Browser]
    world: World
    actor: str = ""
    grid: dict[str, dict[str, int]] = field(default_factory=dict)  # route → actor → the status it got
    cells: int = 0
    requests: int = 0
    assertions: int = 0

    def send(self, actor: str, req: Req) -> httpx.Response:
        self.requests += 1
        headers = {**same_origin(self.stack.portal), **req.kwargs.pop("headers", {})}
        return self.browsers[actor].request(req.method, f"{self.stack.portal}{req.path}", headers=headers,
                                            **req.kwargs)

    def ok(self, condition: bool, message: str) -> None:
        self.assertions += 1
        assert condition, message


def r(method: str, path: str, **kwargs: Any) -> Req:
    return Req(method, path, kwargs)


def idem() -> dict[str, str]:
    return {"Idempotency-Key": random_id()}


def random_id_number() -> str:
    """A valid 身份证号码 (check digit and all) that no archive carries."""
    birth = f"{random.randint(1975, 2002)}{random.randint(1, 12):02d}{random.randint(1, 28):02d}"
    stem = f"110105{birth}{random.randint(100, 999)}"  # a region python-stdnum knows for every birth year
    return stem + ric.calc_check_digit(stem + "0")


# -- the owner's answers, looked at more closely ------------------------------------------------------------------

def json_is(**expected: Any) -> Check:
    def check(resp: httpx.Response, w: World, ctx: Ctx) -> None:
        body = resp.json()
        for name, value in expected.items():
            got = body
            for part in name.split("__"):
                got = got[int(part)] if isinstance(got, list) else got[part]
            ctx.ok(got == value, f"{name}: {got!r} != {value!r}")
    return check


def is_pdf(resp: httpx.Response, w: World, ctx: Ctx) -> None:
    ctx.ok(resp.content.startswith(b"%PDF"), f"not a PDF: {resp.content[:60]!r}")


def page_says(*words: str) -> Check:
    def check(resp: httpx.Response, w: World, ctx: Ctx) -> None:
        for word in words:
            ctx.ok(word in resp.text, f"{word!r} not in the page")
    return check


def the_detail(application: Callable[[World], str], **expected: Any) -> Check:
    plain = json_is(**expected)

    def check(resp: httpx.Response, w: World, ctx: Ctx) -> None:
        ctx.ok(resp.json()["id"] == application(w), "another application answered")
        plain(resp, w, ctx)
    return check


def push_devices(ctx: Ctx) -> int:
    return int(ctx.browsers["A"].get(f"{ctx.stack.portal}/api/notifications/settings").json()["push_devices"])


def still_subscribed(w: World, ctx: Ctx) -> None:  # B's attempt on A's endpoint removed nothing
    ctx.ok(push_devices(ctx) == 1, "A's push subscription was touched by someone else")


def unsubscribed(resp: httpx.Response, w: World, ctx: Ctx) -> None:
    ctx.ok(push_devices(ctx) == 0, "A's own opt-out did not remove the subscription")


def document_gone(resp: httpx.Response, w: World, ctx: Ctx) -> None:
    ctx.ok(ctx.send("A", r("GET", f"/api/documents/{w.doomed_document}")).status_code == 404, "document kept")


def file_gone(resp: httpx.Response, w: World, ctx: Ctx) -> None:
    ids = [f["id"] for f in resp.json()["files"]]
    ctx.ok(w.files[1] not in ids and w.files[0] in ids and len(ids) == 2, f"files now {ids}")


def session_ended(resp: httpx.Response, w: World, ctx: Ctx) -> None:
    if ctx.actor != "anonymous":
        ctx.ok(ctx.send(ctx.actor, r("GET", "/api/me")).status_code == 401, "the session outlived sign-out")


def attachment(resp: httpx.Response, w: World, ctx: Ctx) -> None:
    ctx.ok(resp.headers["content-disposition"].startswith("attachment"), "a download must be an attachment")


# -- the requests ------------------------------------------------------------------------------------------------

def _unit_letter_choice(document_id: str) -> dict[str, Any]:
    return {"materials": [{"material": "unit_letter", "role": "new_unit", "document_id": document_id}]}


def _own_letter(w: World, actor: str) -> str:
    """The unit's own uploaded letter (anyone else is turned away before it matters)."""
    return {"X": w.x_letter, "Y": w.y_letter}.get(actor, random_id)()


def _employee(w: World, actor: str, id_number: str) -> Req:
    body = {"kind": "archive_certificate", "name": LINA["name"], "id_number": id_number, "phone": LINA["phone"],
            "purpose": "办理人才引进", "letter_document_id": _own_letter(w, actor)}
    return r("POST", "/api/unit/applications", json=body, headers=idem())


def _new_hire(w: World, actor: str) -> Req:
    who = ("张伟", A_ID_NUMBER) if actor == "X" else ("赵磊", "520102199607040051")
    body = {"name": who[0], "id_number": who[1], "target_agency_code": "33010001",
            "document_id": _own_letter(w, actor)}
    return r("POST", "/api/unit/transfers", json=body, headers=idem())


def _subscription(w: World, actor: str, target: str) -> Req:
    return r("POST", "/api/notifications/push-subscriptions", json=Device(w.push.push_service if w.push else "")
             .subscription())


def _unsubscribe(w: World, actor: str, target: str) -> Req:
    return r("DELETE", "/api/notifications/push-subscriptions", json={"endpoint": target})


def _sse(ctx: Ctx, actor: str, path: str) -> httpx.Response:
    status, text = sse_first_event(ctx.browsers[actor], f"{ctx.stack.portal}{path}")
    ctx.requests += 1
    return httpx.Response(status, text=text)


def _file_path(target: str) -> str:
    document, file_id = target.split("|")
    return f"/api/documents/{document}/files/{file_id}"


def _fresh_pair() -> str:
    return f"{random_id()}|{random_id()}"


APP = "/api/applications/{application_id:str}"
DOC = "/api/documents/{document_id:str}"
FILE = "/api/documents/{document_id:str}/files/{file_id:str}"

ROUTES: list[Route] = [
    # public: the same answer whoever asks (the share link excepted: never the holder themself)
    Route("GET", "/healthz", "public", lambda w, a, t: r("GET", "/healthz"), 200),
    # every actor here connects from loopback, which METRICS_ALLOWED lets in (tests/ops/ checks the refusals)
    Route("GET", "/metrics", "public", lambda w, a, t: r("GET", "/metrics"), 200,
          check=page_says("portal_http_request_duration_seconds_bucket")),
    Route("GET", "/.well-known/jwks.json", "public", lambda w, a, t: r("GET", "/.well-known/jwks.json"), 200),
    Route("GET", "/status/1", "public", lambda w, a, t: r("GET", "/status/1"), 200),
    Route("GET", "/schema", "public", lambda w, a, t: r("GET", "/schema"), 200),
    Route("GET", "/schema/openapi.json", "public", lambda w, a, t: r("GET", "/schema/openapi.json"), 200),
    Route("GET", "/schema/{path:str}", "public", lambda w, a, t: r("GET", "/schema/openapi.yaml"), 404),
    Route("GET", "/", "public", lambda w, a, t: r("GET", "/"), 200),
    Route("GET", "/{path:path}", "public", lambda w, a, t: r("GET", "/applications"), 200),
    Route("GET", "/auth/login", "public", lambda w, a, t: r("GET", "/auth/login", params={"role": "person"}), 302),
    Route("GET", "/v/{token:str}", "public", lambda w, a, t: r("GET", f"/v/{w.token_lower}"), 200,
          check=page_says("证明真实有效")),
    Route("GET", "/V/{token:str}", "public", lambda w, a, t: r("GET", f"/V/{w.token_upper}"), 200,
          check=page_says("证明真实有效")),
    Route("POST", "/v/{token:str}/id", "public",
          lambda w, a, t: r("POST", f"/v/{w.token_lower}/id", data={"id_number": A_ID_NUMBER}), 200,
          check=page_says("一致")),
    Route("POST", "/V/{token:str}/id", "public",
          lambda w, a, t: r("POST", f"/V/{w.token_upper}/id", data={"id_number": A_ID_NUMBER}), 200,
          check=page_says("一致")),
    Route("GET", "/verify", "public", lambda w, a, t: r("GET", "/verify", params={"code": w.verify_code}), 200,
          check=page_says("证明真实有效")),
    Route("POST", "/verify/pdf", "public",
          lambda w, a, t: r("POST", "/verify/pdf", files={"file": ("c.pdf", w.certificate_pdf, "application/pdf")}),
          200, check=page_says("证明真实有效")),
    Route("GET", "/s/{share_id:str}", "public", lambda w, a, t: r("GET", f"/s/{w.share_id}"), 200),
    Route("POST", "/s/{share_id:str}", "public",
          lambda w, a, t: r("POST", f"/s/{w.share_id}", data={"access_code": w.access_code}), 200,
          per_actor={"A": 403}),  # the holder of a 政审回复函 never opens it (SPEC §8)
    # everyone signed in
    Route("GET", "/api/me", "signed", lambda w, a, t: r("GET", "/api/me"), 200,
          check=lambda resp, w, ctx: ctx.ok(resp.json()["role"] == {"X": "employer", "Y": "employer"}.get(
              ctx.actor, "person"), resp.text)),
    Route("GET", "/api/agencies", "signed", lambda w, a, t: r("GET", "/api/agencies"), 200),
    Route("GET", "/api/events", "signed", lambda w, a, t: r("SSE", "/api/events"), 200,
          check=page_says(": connected")),
    Route("POST", "/api/documents", "signed",
          lambda w, a, t: r("POST", "/api/documents", json={"material": "unit_letter"}), 201),
    Route("GET", DOC, "signed", lambda w, a, t: r("GET", f"/api/documents/{t}"), 200,
          owned=lambda w: w.document, check=lambda resp, w, ctx: ctx.ok(len(resp.json()["files"]) == 2, resp.text)),
    Route("PUT", FILE, "signed",
          lambda w, a, t: r("PUT", _file_path(t), params={"name": "p.jpg"}, content=corpus.jpeg(),
                            headers={"Content-Type": "application/octet-stream"}), 201,
          owned=lambda w: f"{w.document}|{random_id()}", fresh=_fresh_pair),
    Route("GET", FILE, "signed", lambda w, a, t: r("GET", _file_path(t)), 200,
          owned=lambda w: f"{w.document}|{w.files[0]}", fresh=_fresh_pair, check=attachment),
    Route("DELETE", FILE, "signed", lambda w, a, t: r("DELETE", _file_path(t)), 200,
          owned=lambda w: f"{w.document}|{w.files[1]}", fresh=_fresh_pair, check=file_gone),
    Route("DELETE", DOC, "signed", lambda w, a, t: r("DELETE", f"/api/documents/{t}"), 204,
          owned=lambda w: w.doomed_document, check=document_gone),
    # a person's
    Route("GET", "/api/archive", "person", lambda w, a, t: r("GET", "/api/archive"), 200),
    Route("GET", "/api/applications", "person", lambda w, a, t: r("GET", "/api/applications"), 200),
    Route("POST", "/api/applications", "person",
          lambda w, a, t: r("POST", "/api/applications", json={"kind": "archive_certificate", "purpose": "办理落户",
                                                                "phone": "13800138000"}, headers=idem()), 201),
    Route("GET", "/api/applications/requirements", "person",
          lambda w, a, t: r("GET", "/api/applications/requirements", params={"kind": "archive_certificate"}), 200),
    Route("GET", "/api/applications/transfer-route", "person",
          lambda w, a, t: r("GET", "/api/applications/transfer-route", params={"target_agency_code": "33010001"}),
          200),
    Route("GET", APP, "person", lambda w, a, t: r("GET", f"/api/applications/{t}"), 200,
          owned=lambda w: w.cert_app, check=the_detail(lambda w: w.cert_app)),
    Route("GET", APP + "/certificate", "person", lambda w, a, t: r("GET", f"/api/applications/{t}/certificate"),
          200, owned=lambda w: w.cert_app, check=is_pdf),
    Route("POST", APP + "/rating", "person",
          lambda w, a, t: r("POST", f"/api/applications/{t}/rating", json={"score": 5, "comment": "办理很快"}), 200,
          owned=lambda w: w.cert_app, check=json_is(rating__score=5, can_rate=False)),
    Route("POST", APP + "/reissue", "person", lambda w, a, t: r("POST", f"/api/applications/{t}/reissue", json={}),
          200, owned=lambda w: w.reissue_app, check=json_is(certificate__reissued=True)),
    Route("POST", APP + "/materials", "person",
          lambda w, a, t: r("POST", f"/api/applications/{t}/materials", json=_unit_letter_choice(
              w.materials_document)), 200,
          owned=lambda w: w.materials_app, check=the_detail(lambda w: w.materials_app, materials__0__state="attached")),
    Route("POST", APP + "/confirm", "person",
          lambda w, a, t: r("POST", f"/api/applications/{t}/confirm", json={"materials": []}), 200,
          owned=lambda w: w.confirm_app, check=the_detail(lambda w: w.confirm_app, can_confirm=False)),
    Route("POST", APP + "/decline", "person", lambda w, a, t: r("POST", f"/api/applications/{t}/decline"), 200,
          owned=lambda w: w.decline_app, check=the_detail(lambda w: w.decline_app, status="cancelled")),
    Route("POST", APP + "/withdraw", "person", lambda w, a, t: r("POST", f"/api/applications/{t}/withdraw"), 200,
          owned=lambda w: w.withdraw_app, check=the_detail(lambda w: w.withdraw_app, status="withdrawn")),
    Route("GET", "/api/notifications/push-key", "person",
          lambda w, a, t: r("GET", "/api/notifications/push-key"), 200),
    Route("GET", "/api/notifications/settings", "person",
          lambda w, a, t: r("GET", "/api/notifications/settings"), 200),
    Route("DELETE", "/api/notifications/push-subscriptions", "person", _unsubscribe, 204,
          owned=lambda w: w.push.endpoint if w.push else "",
          fresh=lambda: f"https://fcm.googleapis.com/fcm/send/{uuid.uuid4().hex}",
          hidden=204, before_owner=still_subscribed, check=unsubscribed),
    Route("POST", "/api/notifications/push-subscriptions", "person", _subscription, 201),
    # a unit's
    Route("GET", "/api/unit/requests", "unit", lambda w, a, t: r("GET", "/api/unit/requests"), 200),
    Route("GET", "/api/unit/requests/{code:str}", "unit", lambda w, a, t: r("GET", f"/api/unit/requests/{t}"), 200,
          owned=lambda w: w.fulfil_code, fresh=random_code, check=json_is(state="open")),
    Route("POST", "/api/unit/requests/fulfil", "unit",
          lambda w, a, t: r("POST", "/api/unit/requests/fulfil",
                            json={"document_id": _own_letter(w, a), "codes": [t]}), 200,
          owned=lambda w: w.fulfil_code, fresh=random_code, check=json_is(items__0__state="fulfilled")),
    Route("POST", "/api/unit/requests/{code:str}/decline", "unit",
          lambda w, a, t: r("POST", f"/api/unit/requests/{t}/decline", json={"reason": "该员工已离职，请联系新单位"}),
          200, owned=lambda w: w.decline_code, fresh=random_code, check=json_is(state="declined")),
    Route("POST", "/api/unit/transfers", "unit", lambda w, a, t: _new_hire(w, a), 201,
          check=json_is(status="awaiting_confirmation")),
    # another unit applying for X's employee learns nothing about the archive: as for a number nobody holds
    Route("POST", "/api/unit/applications", "unit", lambda w, a, t: _employee(w, a, t), 201,
          owned=lambda w: LINA["id_number"], fresh=random_id_number, hidden=403),
    Route("GET", "/api/unit/applications", "unit", lambda w, a, t: r("GET", "/api/unit/applications"), 200),
    # these end the caller's session
    Route("POST", "/auth/logout", "public", lambda w, a, t: r("POST", "/auth/logout"), 303, last=True,
          check=session_ended),
    Route("GET", "/auth/callback", "public", lambda w, a, t: r("GET", "/auth/callback", params={"state": "x",
                                                                                            "code": "y"}),
          400, last=True),
]


def app_routes(base: Path) -> set[tuple[str, str]]:
    app = inprocess_app(base)
    return {(method, route.path) for route in app.routes for handler in getattr(route, "route_handlers", [])
            for method in handler.http_methods if method not in {"OPTIONS", "HEAD"}}


def order(route: Route) -> list[str]:
    """Owner last: a stranger's failed attempt must leave the owner's object as it was."""
    if route.access == "person":
        return ["anonymous", "X", "Y", "B", "A"]
    if route.access == "unit":
        return ["anonymous", "A", "B", "Y", "X"]
    return ["anonymous", "B", "X", "Y", "A"]


def owner_of(route: Route) -> str:
    return "X" if route.access == "unit" else "A"


def expected(route: Route, actor: str) -> tuple[int, str]:
    """The status an actor must get, and why (for the failure message)."""
    if route.access == "public":
        return route.per_actor.get(actor, route.ok), "public route"
    if actor == "anonymous":
        return 401, "no session"
    if route.access in ("person", "unit") and ROLE[actor] != route.access:
        return 403, f"a {ROLE[actor]} on a {route.access}'s route"
    if route.owned is not None and actor != owner_of(route):
        return route.hidden, "someone else's object"
    return route.ok, "owner" if route.owned else "own data"


def leaks(route: Route, actor: str, w: World, resp: httpx.Response) -> list[str]:
    """A's (and X's) identifiers in an answer to someone who must not read them."""
    if resp.headers.get("content-type", "").startswith(("application/pdf", "application/octet-stream")):
        return []
    text = resp.text
    forbidden = {"anonymous": w.secrets_of_a + w.secrets_of_x, "B": w.secrets_of_a + w.secrets_of_x,
                 "Y": w.secrets_of_x + w.secrets_of_a, "X": [], "A": []}[actor]
    return [s for s in forbidden if s and s in text]


def run_cell(ctx: Ctx, route: Route, actor: str) -> None:
    w = ctx.world
    target = route.owned(w) if route.owned else ""
    want, why = expected(route, actor)
    if actor == owner_of(route) and route.before_owner:
        route.before_owner(w, ctx)
    req = route.build(w, actor, target)
    resp = _sse(ctx, actor, req.path) if req.method == "SSE" else ctx.send(actor, req)
    ctx.cells += 1
    ctx.grid.setdefault(f"{route.method} {route.template}", {})[actor] = resp.status_code
    label = f"{route.method} {route.template} as {actor} ({why})"
    ctx.ok(resp.status_code == want, f"{label}: {resp.status_code} instead of {want}: {resp.text[:300]}")
    if want == 401:
        ctx.ok(resp.json()["code"] == "unauthenticated", f"{label}: {resp.text[:200]}")
    if want == 403 and route.access != "public" and "json" in resp.headers.get("content-type", ""):
        ctx.ok(resp.json()["code"] in {"forbidden", "not_unit_archive"}, f"{label}: {resp.text[:200]}")
    found = leaks(route, actor, w, resp)
    ctx.ok(not found, f"{label} discloses {found}")
    if why == "someone else's object":  # indistinguishable from an id that does not exist
        probe = route.build(w, actor, route.fresh())
        other = _sse(ctx, actor, probe.path) if probe.method == "SSE" else ctx.send(actor, probe)
        ctx.ok((other.status_code, other.content) == (resp.status_code, resp.content),
               f"{label}: {resp.status_code} {resp.text[:200]} differs from a non-existent id's "
               f"{other.status_code} {other.text[:200]}")
    mine = route.access == "public" or not route.owned or actor == owner_of(route)
    if route.check and want == route.ok and mine:
        ctx.actor = actor
        route.check(resp, w, ctx)


@pytest.fixture(scope="module")
def world(sec_stack: Stack, person_a: Browser, person_b: Browser, unit_x: Browser, unit_y: Browser) -> World:
    return build_world(sec_stack, person_a, person_b, unit_x, unit_y)


@pytest.fixture(scope="module")
def ctx(sec_stack: Stack, world: World, person_a: Browser, person_b: Browser, unit_x: Browser,
        unit_y: Browser) -> Iterator[Ctx]:
    yield Ctx(sec_stack, {"anonymous": Browser(), "A": person_a, "B": person_b, "X": unit_x, "Y": unit_y}, world)


def test_someone_elses_id_in_a_body_is_as_good_as_none(ctx: Ctx) -> None:
    """Attaching a document of another person or unit: the same answer as for a document that does not exist,
    and nothing changes (the matrix later acts on the same objects as their owners)."""
    w = ctx.world

    def same(actor: str, make: Callable[[str], Req], theirs: str) -> None:
        mine, none = ctx.send(actor, make(theirs)), ctx.send(actor, make(random_id()))
        ctx.ok(mine.status_code in (404, 422) and (mine.status_code, mine.content) == (none.status_code, none.content),
               f"{make(theirs).path} as {actor}: {mine.status_code} {mine.text[:200]} vs {none.text[:200]}")

    same("A", lambda d: r("POST", f"/api/applications/{w.materials_app}/materials", json=_unit_letter_choice(d)),
         w.b_letter)
    same("A", lambda d: r("POST", "/api/applications", headers=idem(), json={
        "kind": "archive_transfer", "phone": "13800138000",
        "transfer": {"target_agency_code": "33010001", "target_nature": "1",
                     "unit": {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}},
        **_unit_letter_choice(d)}), w.b_letter)
    same("A", lambda d: r("POST", "/api/applications", headers=idem(), json={
        "kind": "archive_transfer", "phone": "13800138000",
        "transfer": {"target_agency_code": "33010001", "target_nature": "1",
                     "unit": {"name": "杭州云栖科技有限公司", "uscc": "91330106MA27QK3B27"}},
        **_unit_letter_choice(d)}), w.x_letters[0])  # not even the letter of the unit named
    y_letter = w.y_letters[0]
    same("X", lambda d: r("POST", "/api/unit/requests/fulfil", json={"document_id": d, "codes": [w.decline_code]}),
         y_letter)
    same("X", lambda d: r("POST", "/api/unit/transfers", headers=idem(), json={
        "name": "张伟", "id_number": A_ID_NUMBER, "target_agency_code": "33010001", "document_id": d}), y_letter)
    same("X", lambda d: r("POST", "/api/unit/applications", headers=idem(), json={
        "kind": "archive_certificate", "name": LINA["name"], "id_number": LINA["id_number"], "phone": LINA["phone"],
        "purpose": "办理人才引进", "letter_document_id": d}), y_letter)
    same("Y", lambda d: r("GET", f"/api/documents/{d}"), w.x_letters[0])
    same("B", lambda d: r("GET", f"/api/documents/{d}"), w.document)
    # X's letter on the transfer X started for A: A (named in it) may download it; B and Y may not
    letter_file = f"/api/documents/{w.x_attached}/files/{w.x_attached_file}"
    ctx.ok(ctx.send("A", r("GET", letter_file)).status_code == 200, "the person named cannot read the letter")
    for stranger in ("B", "Y"):
        same(stranger, lambda d: r("GET", f"/api/documents/{d}/files/{w.x_attached_file}"), w.x_attached)


def test_every_route_answers_each_actor_as_the_matrix_says(ctx: Ctx, tmp_path: Path) -> None:
    present = app_routes(tmp_path)
    listed = [route.key for route in ROUTES]
    assert len(listed) == len(set(listed)), "a route is listed twice"
    missing, stale = present - set(listed), set(listed) - present
    assert not missing, f"routes not in the access matrix (add a row to ROUTES): {sorted(missing)}"
    assert not stale, f"rows for routes the app no longer has: {sorted(stale)}"
    public = {route.template for route in ROUTES if route.access == "public"}
    assert public <= PUBLIC_ROUTES, f"routes the matrix treats as public but the public list does not: {public}"

    for route in [*[x for x in ROUTES if not x.last], *[x for x in ROUTES if x.last]]:
        for actor in order(route):
            run_cell(ctx, route, actor)
    size = len(ROUTES) * len(ACTORS)
    summary = (f"access matrix: {len(ROUTES)} routes × {len(ACTORS)} actors = {size} cells; {ctx.cells} cells run, "
               f"{ctx.requests} requests, {ctx.assertions} assertions")
    print("\n" + summary)
    rows = [f"{'route':<62}" + "".join(f"{a:>10}" for a in ACTORS)]
    rows += [f"{key:<62}" + "".join(f"{got.get(a, '-'):>10}" for a in ACTORS) for key, got in ctx.grid.items()]
    out = REPO / "test-artifacts" / "security"
    out.mkdir(parents=True, exist_ok=True)
    (out / "access-matrix.txt").write_text(summary + "\n\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert ctx.cells == size

