"""Who is acting, and writing what they did to the chain.

Pseudonyms: HMAC-SHA256 with ``AUDIT_HMAC_KEY`` of ``person:<OIDC subject>``, ``unit:<统一社会信用代码>`` or
``operator:<login>``. Nobody can read a name, an ID number or a phone number from the trail; an operator who
knows whom to look for computes the pseudonym (``audit list --who person:<subject>``).

The request's ``Who`` is bound by the app-wide guard (``auth.guards.require_session``) in a context variable,
like the request id of the log lines, so that a service writing its audit row in its own transaction need not
be handed the request. Outside a request (the relay, the CLI) the actor is the system or the operator.
"""

from __future__ import annotations

import contextvars
import getpass
import hmac
import logging
import time
from hashlib import sha256
from typing import Any

from litestar.background_tasks import BackgroundTask
from litestar.connection import ASGIConnection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.sessions import Principal
from bff.domain.audit.chain import SYSTEM, Entry, Who, append
from bff.domain.audit.settings import AuditSettings
from bff.lib.logging import request_id_var
from bff.settings import Settings

log = logging.getLogger("bff.audit")
_who: contextvars.ContextVar[Who | None] = contextvars.ContextVar("audit_who", default=None)


class Pseudonyms:
    """The keyed one-way names of actors."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), sha256).hexdigest()

    def of_principal(self, principal: Principal) -> str:
        if principal.role == "employer" and principal.uscc:
            return self.of("unit", principal.uscc)
        return self.of("person", principal.sub)


def pseudonyms_for(state: Any) -> Pseudonyms:
    """The app's pseudonymiser, made on first use from the app's data directory and the environment."""
    found: Pseudonyms | None = state.get("audit_pseudonyms")
    if found is None:
        settings: Settings = state.settings
        found = Pseudonyms(AuditSettings.from_env(settings.server.data_dir).hmac_key)
        state["audit_pseudonyms"] = found
    return found


def _request_id() -> str | None:
    rid = request_id_var.get()
    return None if rid == "-" else rid


def who_of(connection: ASGIConnection[Any, Any, Any, Any], principal: Principal | None = None) -> Who:
    """The actor of a request: the principal given or the one the guard found, else anonymous."""
    if principal is None:
        session = connection.state.get("session")
        principal = session.principal if session is not None else None
    client = connection.client.host if connection.client else None
    if principal is None:
        return Who(actor=None, role="anonymous", client=client, request_id=_request_id())
    return Who(actor=pseudonyms_for(connection.app.state).of_principal(principal), role=principal.role,
               client=client, request_id=_request_id())


def bind(connection: ASGIConnection[Any, Any, Any, Any], principal: Principal | None) -> Who:
    """Makes ``who_of(connection, principal)`` the actor of whatever this request writes to the trail."""
    who = who_of(connection, principal)
    _who.set(who)
    return who


def current() -> Who:
    """The bound actor of this request; anonymous in a request nothing bound; the system outside requests."""
    who = _who.get()
    rid = _request_id()
    if who is not None and who.request_id == rid:
        return who
    return SYSTEM if rid is None else Who(actor=None, role="anonymous", request_id=rid)


async def record_in(db: AsyncSession, entry: Entry, who: Who | None = None) -> None:
    """One row in the caller's transaction (a state change and its audit row commit together): call it as the
    last step before the commit."""
    await append(db, entry, who or current())


async def record(db_sessions: async_sessionmaker[AsyncSession], entry: Entry, who: Who | None = None) -> None:
    """One row in its own short transaction (reads, sign-in, denials)."""
    async with db_sessions() as db:
        await append(db, entry, who or current())
        await db.commit()


async def record_request(connection: ASGIConnection[Any, Any, Any, Any], entry: Entry,
                         principal: Principal | None = None) -> None:
    """``record`` for a request: its actor (or ``principal``), its address and request id.

    What was granted (outcome ok) is only given once its row is written: an error here fails the request. A
    refusal stands even when its row cannot be written (logged as an alert instead); repeats of a refusal
    within a minute are folded into the first one's row (``first_of_burst``)."""
    who = who_of(connection, principal)
    if entry.outcome != "ok" and not first_of_burst(who, entry):
        return
    try:
        await record(connection.app.state.db_sessions, entry, who)
    except Exception:
        if entry.outcome == "ok":
            raise
        log.exception("ALERT audit row not written", extra={"event": {"action": entry.action}})


# -- denials ------------------------------------------------------------------------------------------------


def _route(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    handler = connection.scope.get("route_handler")
    operation = getattr(handler, "operation_id", None)
    return operation if isinstance(operation, str) else None


def denial_entry(connection: ASGIConnection[Any, Any, Any, Any], status: int, code: str,
                 target: tuple[str, str] | None = None, **detail: Any) -> Entry:
    """A refused request: 401, 403, 429, or 404 for a record that exists but is someone else's (``target``).

    The route is named by its operation id, never by its path: a path may carry whatever the caller typed."""
    facts: dict[str, Any] = {"status": status, "code": code, "method": connection.scope.get("method"), **detail}
    route = _route(connection)
    if route:
        facts["route"] = route
    target_type, target_id = target if target is not None else ("route", route)
    return Entry("request.denied", "denied", target_type, target_id, facts)


_recent: dict[tuple[Any, ...], float] = {}
BURST_SECONDS = 60.0


def first_of_burst(who: Who, entry: Entry) -> bool:
    """Whether this refusal starts a burst: the same refusal of the same actor (or address) on the same target
    within a minute is folded into the first one's row, so a flood of refused requests cannot flood the chain
    (the access log still has each request)."""
    now = time.monotonic()
    if len(_recent) > 10_000:
        for key in [k for k, until in _recent.items() if until <= now]:
            del _recent[key]
    key = (who.actor or who.client, entry.action, entry.outcome, entry.target_type, entry.target_id,
           entry.detail.get("status"), entry.detail.get("reason"), entry.detail.get("limit"))
    if _recent.get(key, 0.0) > now:
        return False
    _recent[key] = now + BURST_SECONDS
    return True


def denial_task(connection: ASGIConnection[Any, Any, Any, Any], status: int, code: str,
                target: tuple[str, str] | None = None) -> BackgroundTask:
    """The denial's row, written after the answer has gone (an exception handler cannot wait for it)."""
    entry = denial_entry(connection, status, code, target)
    who = who_of(connection)
    db_sessions = connection.app.state.db_sessions

    async def write() -> None:
        if not first_of_burst(who, entry):
            return
        try:
            await record(db_sessions, entry, who)
        except Exception:
            log.exception("ALERT audit row not written", extra={"event": {"action": entry.action}})

    return BackgroundTask(write)


# -- the operators' command line ----------------------------------------------------------------------------


def operator() -> Who:
    """The operator running this process (their login, pseudonymised like everyone else)."""
    pseudonyms = Pseudonyms(AuditSettings.from_env(Settings.from_env().server.data_dir).hmac_key)
    return Who(actor=pseudonyms.of("operator", getpass.getuser()), role="operator")


async def record_operator_action_in(db: AsyncSession, action: str, target_id: str | None, outcome: str,
                                    detail: dict[str, Any] | None = None, *, target_type: str = "outbox") -> None:
    """An operator's command (e.g. ``outbox.resend``) in the caller's transaction, so the change and its row
    commit together: ``action`` is recorded as ``operator.<action>``; ``outcome`` is ok | denied | failed;
    ``detail`` must hold no personal data."""
    await append(db, Entry(f"operator.{action}", outcome, target_type, target_id, dict(detail or {})), operator())
