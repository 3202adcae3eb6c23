"""Personal data where it must not be: what the e2e browsers receive, and what the stack's processes log.

``RECORDER`` is attached to every browser context of the e2e run (``e2e/conftest.py``); ``test_zz_pii_scan.py``
runs last and looks for whole ID numbers (18 characters with a valid GB 11643 check digit, python-stdnum's
``cn.ric``) and whole mobile numbers (``1[3-9]`` and nine more digits, not part of a longer alphanumeric run) in
every URL, header and text body, also inside percent-encoding and inside JWTs (base64url is no mask). What is
found is only ever shown masked, so the scan's own output leaks nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote_plus, urlsplit

from playwright.sync_api import Browser, BrowserContext, Response
from stdnum.cn import ric

Kind = Literal["id_number", "phone"]

# Not part of a longer run of letters and digits: a random hex id (the request id, a file key) can hold eleven
# digits in a row, and a number people read stands apart (quotes, punctuation, Chinese text, ``=`` and ``&``).
ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.(eyJ[A-Za-z0-9_-]{4,})\.[A-Za-z0-9_-]*")
TEXT_TYPES = ("text/", "application/json", "application/problem+json", "application/manifest+json",
              "application/javascript", "application/xml", "application/xhtml+xml", "+json", "+xml")
NO_BODY_TYPES = ("text/event-stream",)  # the live stream never ends; its events carry an id and a status only
MAX_BODY = 4 * 1024 * 1024


@dataclass(frozen=True)
class Leak:
    kind: Kind
    value: str

    @property
    def masked(self) -> str:
        v = self.value
        return f"{v[:6]}********{v[-4:]}" if self.kind == "id_number" else f"{v[:3]}****{v[-4:]}"


def _decoded_jwts(text: str) -> Iterator[str]:
    for match in JWT.finditer(text):
        segment = match.group(1)
        try:
            yield base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            continue


def _variants(text: str) -> Iterator[str]:
    yield text
    if "%" in text or "+" in text:
        yield unquote_plus(text)
    if "eyJ" in text:
        for decoded in _decoded_jwts(text):
            yield decoded
            yield from _decoded_jwts(decoded)


def find_leaks(text: str) -> set[Leak]:
    """Whole ID numbers and mobile numbers in ``text`` (masked ones such as 110105********0012 are not)."""
    found: set[Leak] = set()
    for variant in _variants(text):
        for match in ID_CANDIDATE.finditer(variant):
            if ric.is_valid(match.group(0)):
                found.add(Leak("id_number", match.group(0).upper()))
        for match in MOBILE.finditer(variant):
            found.add(Leak("phone", match.group(0)))
    return found


# -- what the browsers receive ---------------------------------------------------------------------------

@dataclass
class Seen:
    """One response a browser received: what an onlooker with the browser's network log would read."""

    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: str | None
    from_service_worker: bool

    def texts(self) -> Iterator[tuple[str, str]]:
        yield "url", self.url
        for name, value in self.headers.items():
            yield f"header {name}", value
        if self.body:
            yield "body", self.body


def _is_text(content_type: str) -> bool:
    content_type = content_type.lower()
    if content_type.startswith(NO_BODY_TYPES):
        return False
    base = content_type.split(";", 1)[0].strip()
    return any(base.startswith(t) or base.endswith(t) for t in TEXT_TYPES)


@dataclass
class Recorder:
    """Every response every recorded context receives, with the body when it is text (JSON, HTML, …)."""

    seen: list[Seen] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # text bodies the browser no longer had

    def attach(self, context: BrowserContext) -> None:
        context.on("response", self._record)

    def record_browser(self, browser: Browser) -> None:
        """Every context made from ``browser`` from now on is recorded (tests make their own with ``phone()``)."""
        new_context = browser.new_context
        new_page = browser.new_page

        def recorded_context(*args: Any, **kwargs: Any) -> BrowserContext:
            context = new_context(*args, **kwargs)
            self.attach(context)
            return context

        def recorded_page(*args: Any, **kwargs: Any) -> Any:
            page = new_page(*args, **kwargs)
            self.attach(page.context)
            return page

        setattr(browser, "new_context", recorded_context)  # noqa: B010 - an instance attribute shadows the method
        setattr(browser, "new_page", recorded_page)  # noqa: B010

    def _record(self, response: Response) -> None:
        try:
            headers = response.all_headers()
        except Exception:  # the page went away: the plain headers are still known
            headers = dict(response.headers)
        body: str | None = None
        status = response.status
        if not (300 <= status < 400 or status in (204, 304)) and _is_text(headers.get("content-type", "")):
            try:
                raw = response.body()
                body = raw[:MAX_BODY].decode("utf-8", "replace")
            except Exception:  # evicted, or the context closed first: listed, so a scan says what it missed
                self.unreadable.append(f"{response.request.method} {status} {response.url}")
        self.seen.append(Seen(method=response.request.method, url=response.url, status=status, headers=headers,
                              body=body, from_service_worker=response.from_service_worker))

    def clear(self) -> None:
        self.seen.clear()
        self.unreadable.clear()


RECORDER = Recorder()


# -- the allow-list ----------------------------------------------------------------------------------------

Origin = Literal["portal", "sso", "provincial", "other"]


@dataclass(frozen=True)
class Allowed:
    """A route whose responses may carry a whole value, and why."""

    origin: Origin
    path: str  # a regular expression the whole URL path must match
    kinds: frozenset[Kind]
    reason: str

    def covers(self, origin: Origin, path: str, kind: Kind) -> bool:
        return origin == self.origin and kind in self.kinds and re.fullmatch(self.path, path) is not None


BOTH: frozenset[Kind] = frozenset({"id_number", "phone"})

ALLOWED: tuple[Allowed, ...] = (
    Allowed("provincial", r"/", frozenset({"phone"}),
            "the sandbox provincial system's clerk console (not the portal): the clerk handling a 政审 request "
            "reads the reviewing unit's contact phone whole, to call them (证件号码 are masked there)"),
)
"""The portal's own responses need none: the server masks 身份证 and 手机 in every answer."""


def origin_of(url: str, origins: dict[Origin, str]) -> Origin:
    parts = urlsplit(url)
    here = f"{parts.scheme}://{parts.netloc}"
    for name, base in origins.items():
        if here == base.rstrip("/"):
            return name
    return "other"


# -- the scan ----------------------------------------------------------------------------------------------

@dataclass
class Report:
    responses: int = 0
    bodies: int = 0
    unreadable: list[str] = field(default_factory=list)
    log_files: list[str] = field(default_factory=list)
    log_lines: int = 0
    allowed: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    external_log_hits: list[str] = field(default_factory=list)

    def summary(self) -> str:
        allowed = sum(self.allowed.values())
        return (f"PII scan: {self.responses} responses ({self.bodies} text bodies, {len(self.unreadable)} unreadable), "
                f"{self.log_lines} log lines in {len(self.log_files)} logs ({', '.join(self.log_files)}); "
                f"{len(self.failures)} leaks, {allowed} allowed by route, "
                f"{len(self.external_log_hits)} in the sandbox's own logs")


LAST_REPORT: Report | None = None
"""The last scan's figures, printed in pytest's terminal summary."""


def scan_responses(seen: Iterable[Seen], origins: dict[Origin, str], report: Report,
                   allowed: tuple[Allowed, ...] = ALLOWED) -> None:
    for response in seen:
        report.responses += 1
        report.bodies += response.body is not None
        origin = origin_of(response.url, origins)
        path = urlsplit(response.url).path or "/"
        for where, text in response.texts():
            for leak in find_leaks(text):
                rule = next((a for a in allowed if a.covers(origin, path, leak.kind)), None)
                if rule is not None:
                    key = f"{origin} {rule.path}"
                    report.allowed[key] = report.allowed.get(key, 0) + 1
                    continue
                report.failures.append(f"{response.method} {response.status} {origin} {path} ({where}): "
                                       f"{leak.kind} {leak.masked}")


def scan_logs(directory: Path, report: Report, portal_log: Callable[[str], bool]) -> None:
    """Every ``*.log`` of the stack. The portal's own (``bff*``) may hold none; the sandbox's are reported."""
    for path in sorted(directory.glob("*.log")):
        report.log_files.append(path.name)
        portal = portal_log(path.name)
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                report.log_lines += 1
                for leak in find_leaks(line):
                    where = f"{path.name}:{number}: {leak.kind} {leak.masked}"
                    (report.failures if portal else report.external_log_hits).append(where)
