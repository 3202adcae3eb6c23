"""Server-side sessions: fresh ids, idle and absolute timeouts, single-use login state bound to the browser."""

from __future__ import annotations

import time

import pytest
from litestar.stores.memory import MemoryStore

from auth.sessions import Principal, SessionManager
from bff.settings import SessionSettings

PERSON = Principal(sub="s-1", role="person", name="张伟", id_type="01", id_number="110105199805120012")


def manager() -> SessionManager:
    return SessionManager(MemoryStore(), SessionSettings(cookie_name="__Host-portal_session", idle_seconds=1800,
                                                         absolute_seconds=43200))


START = time.time()


def at(monkeypatch: pytest.MonkeyPatch, seconds_from_start: float) -> None:
    monkeypatch.setattr("auth.sessions.time.time", lambda: START + seconds_from_start)


async def test_each_sign_in_gets_a_new_id() -> None:
    sessions = manager()
    first = await sessions.create(PERSON)
    second = await sessions.create(PERSON)
    assert first != second and len(first) >= 40
    assert (await sessions.load(first)) is not None


async def test_idle_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    at(monkeypatch, 0)
    sessions = manager()
    sid = await sessions.create(PERSON)
    at(monkeypatch, 1799)
    assert await sessions.load(sid) is not None  # activity renews the idle clock
    at(monkeypatch, 1799 + 1801)
    assert await sessions.load(sid) is None


async def test_absolute_timeout_even_when_active(monkeypatch: pytest.MonkeyPatch) -> None:
    at(monkeypatch, 0)
    sessions = manager()
    sid = await sessions.create(PERSON)
    for step in range(1, 29):  # active every 25 minutes for almost 12 hours
        at(monkeypatch, step * 1500)
        assert await sessions.load(sid) is not None
    at(monkeypatch, 12 * 3600 + 1)
    assert await sessions.load(sid) is None


async def test_unknown_or_oversized_ids_are_nobody() -> None:
    sessions = manager()
    assert await sessions.load("made-up") is None
    assert await sessions.load("x" * 1000) is None
    assert await sessions.load(None) is None


async def test_login_state_is_single_use_and_bound_to_the_browser() -> None:
    sessions = manager()
    cookie = await sessions.begin_login("state-1", "nonce", "verifier", "/")
    assert await sessions.finish_login("state-1", "another-browser") is None
    cookie = await sessions.begin_login("state-2", "nonce", "verifier", "/")
    found = await sessions.finish_login("state-2", cookie.value)
    assert found is not None and found.nonce == "nonce"
    assert await sessions.finish_login("state-2", cookie.value) is None


def test_cookie_is_host_prefixed_secure_httponly() -> None:
    cookie = manager().cookie("abc")
    assert cookie.key.startswith("__Host-") and cookie.secure and cookie.httponly and cookie.path == "/"
    assert cookie.domain is None and cookie.samesite == "lax"
