"""Server-side sessions: a random id in a ``__Host-`` cookie, the data in the store (Redis or in-process).

A new id is issued at every sign-in (an id the browser brings is never adopted); idle and absolute
timeouts are enforced here, not by the cookie.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import msgspec
from litestar.datastructures import Cookie
from litestar.stores.base import Store

from bff.settings import SessionSettings


class Principal(msgspec.Struct, frozen=True):
    """Who is signed in, from the provider's verified claims."""

    sub: str
    role: str  # "person" | "employer"
    name: str
    id_type: str | None = None
    id_number: str | None = None
    phone: str | None = None
    uscc: str | None = None
    agent_name: str | None = None


class SessionData(msgspec.Struct):
    principal: Principal
    created_at: float
    last_seen: float


class LoginState(msgspec.Struct):
    nonce: str
    code_verifier: str
    next_path: str
    binding: str  # hash of the browser-bound login cookie


TOUCH_EVERY = 60.0
LOGIN_COOKIE = "__Host-portal_login"
LOGIN_TTL = 600


def _key(prefix: str, raw: str) -> str:
    return f"{prefix}:{hashlib.sha256(raw.encode()).hexdigest()}"


class SessionManager:
    def __init__(self, store: Store, settings: SessionSettings) -> None:
        self.store = store
        self.settings = settings

    # -- sessions --------------------------------------------------------------------------------------------
    async def create(self, principal: Principal) -> str:
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        data = SessionData(principal=principal, created_at=now, last_seen=now)
        await self.store.set(_key("sess", session_id), msgspec.json.encode(data), expires_in=self.settings.idle_seconds)
        return session_id

    async def load(self, session_id: str | None) -> SessionData | None:
        if not session_id or len(session_id) > 128:
            return None
        key = _key("sess", session_id)
        raw = await self.store.get(key)
        if raw is None:
            return None
        data = msgspec.json.decode(raw, type=SessionData)
        now = time.time()
        if now - data.created_at > self.settings.absolute_seconds or now - data.last_seen > self.settings.idle_seconds:
            await self.store.delete(key)
            return None
        if now - data.last_seen > TOUCH_EVERY:
            data.last_seen = now
            remaining = int(min(self.settings.idle_seconds, self.settings.absolute_seconds - (now - data.created_at)))
            await self.store.set(key, msgspec.json.encode(data), expires_in=max(remaining, 1))
        return data

    async def destroy(self, session_id: str | None) -> None:
        if session_id and len(session_id) <= 128:
            await self.store.delete(_key("sess", session_id))

    def cookie(self, session_id: str) -> Cookie:
        return Cookie(key=self.settings.cookie_name, value=session_id, path="/", secure=True, httponly=True,
                      samesite="lax")

    def expired_cookie(self) -> Cookie:
        return Cookie(key=self.settings.cookie_name, value="", path="/", secure=True, httponly=True,
                      samesite="lax", max_age=0)

    # -- the short-lived state of a sign-in in progress --------------------------------------------------------
    async def begin_login(self, state: str, nonce: str, code_verifier: str, next_path: str) -> Cookie:
        binding = secrets.token_urlsafe(32)
        record = LoginState(nonce=nonce, code_verifier=code_verifier, next_path=next_path,
                            binding=hashlib.sha256(binding.encode()).hexdigest())
        await self.store.set(_key("login", state), msgspec.json.encode(record), expires_in=LOGIN_TTL)
        return Cookie(key=LOGIN_COOKIE, value=binding, path="/", secure=True, httponly=True, samesite="lax",
                      max_age=LOGIN_TTL)

    async def finish_login(self, state: str, binding: str | None) -> LoginState | None:
        """The login state for ``state``, once, and only in the browser that started it."""
        if not state or len(state) > 128 or not binding:
            return None
        key = _key("login", state)
        raw = await self.store.get(key)
        if raw is None:
            return None
        await self.store.delete(key)
        record = msgspec.json.decode(raw, type=LoginState)
        if not secrets.compare_digest(record.binding, hashlib.sha256(binding.encode()).hexdigest()):
            return None
        return record

    @staticmethod
    def expired_login_cookie() -> Cookie:
        return Cookie(key=LOGIN_COOKIE, value="", path="/", secure=True, httponly=True, samesite="lax", max_age=0)
