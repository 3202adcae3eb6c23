"""The provider's short-lived state, kept in memory: shown login pages, sessions and authorization codes.

Losing it on restart is fine: a login page or code expires within minutes and a user simply signs in again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.sso.settings import CODE_TTL, LOGIN_TTL, SESSION_TTL

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """A validated /authorize request, waiting for someone to sign in."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str
    nonce: str
    code_challenge: str
    identity_type: str


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    username: str
    auth_time: int
    expires_at: float


@dataclass(slots=True)
class CodeGrant:
    request: AuthRequest
    username: str
    sid: str
    auth_time: int
    expires_at: float
    used: bool = False


@dataclass(slots=True)
class ProviderState:
    clock: Clock
    logins: dict[str, tuple[AuthRequest, float]] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    codes: dict[str, CodeGrant] = field(default_factory=dict)

    def start_login(self, request: AuthRequest) -> str:
        self._purge()
        tx = secrets.token_urlsafe(24)
        self.logins[tx] = (request, self.clock() + LOGIN_TTL)
        return tx

    def take_login(self, tx: str) -> AuthRequest | None:
        """The request behind a login page; each page signs in once."""
        self._purge()
        entry = self.logins.pop(tx, None)
        return entry[0] if entry else None

    def new_session(self, username: str) -> Session:
        now = self.clock()
        session = Session(
            sid=secrets.token_urlsafe(24), username=username, auth_time=int(now), expires_at=now + SESSION_TTL
        )
        self.sessions[session.sid] = session
        return session

    def session(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        session = self.sessions.get(sid)
        if session is None or session.expires_at <= self.clock():
            self.sessions.pop(sid, None)
            return None
        return session

    def end_session(self, sid: str | None) -> None:
        if sid:
            self.sessions.pop(sid, None)

    def issue_code(self, request: AuthRequest, session: Session) -> str:
        self._purge()
        code = secrets.token_urlsafe(32)
        self.codes[code] = CodeGrant(
            request=request,
            username=session.username,
            sid=session.sid,
            auth_time=session.auth_time,
            expires_at=self.clock() + CODE_TTL,
        )
        return code

    def redeem_code(self, code: str) -> CodeGrant | None:
        """The grant behind a code, once: any attempt to redeem it uses it up, even a failed one."""
        grant = self.codes.get(code)
        if grant is None or grant.used or grant.expires_at <= self.clock():
            return None
        grant.used = True
        return grant

    def _purge(self) -> None:
        now = self.clock()
        for tx in [tx for tx, (_, exp) in self.logins.items() if exp <= now]:
            del self.logins[tx]
        for code in [c for c, g in self.codes.items() if g.expires_at <= now]:
            del self.codes[code]
        for sid in [s for s, sess in self.sessions.items() if sess.expires_at <= now]:
            del self.sessions[sid]
