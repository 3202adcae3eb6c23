"""Fixtures for the notification tests: the sandbox's message stand-ins on a real port, a migrated database
(SQLite and PostgreSQL), a notifier wired to the stand-ins, and the whole stack as processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bff.db.engine import create_engine, session_factory
from bff.db.migrate import upgrade
from bff.domain.notifications.dispatcher import Notifier
from bff.domain.notifications.senders import HttpSmsSender, PushSender, VapidKey
from bff.settings import DatabaseSettings, NotifySettings
from sandbox.provincial import ProvincialSettings
from sandbox.provincial import create_app as create_provincial
from tests.sandbox.helpers import LiveServer
from tests.support.servers import fresh_database
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The sandbox provincial app (it carries the SMS gateway and push service stand-ins) on a loopback port."""
    data_dir = tmp_path_factory.mktemp("stand-in")
    with LiveServer(lambda port: create_provincial(ProvincialSettings(port=port, sso_issuer="http://127.0.0.1:9",
                                                                      data_dir=data_dir)), data_dir) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}"
    else:
        url = fresh_database(request.getfixturevalue("pg_url"), "notify_" + uuid.uuid4().hex[:8])
    upgrade(url)
    return url


@pytest.fixture
async def db_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_factory(engine)
    await engine.dispose()


def notify_settings(stand_in_url: str, **changes: object) -> NotifySettings:
    values: dict[str, object] = {
        "enabled": True, "sms_gateway_url": f"{stand_in_url}/sms", "sms_api_key": "sandbox-sms-key",
        "vapid_key_file": Path("/nonexistent"), "vapid_key_generate": False,
        "vapid_subject": "mailto:ops@example.invalid", "push_extra_origins": (stand_in_url,),
        "push_ttl_seconds": 3600, "http_timeout": 3.0, "interval": 0.2, "concurrency": 4, "batch": 50,
        "retry_base_seconds": 10.0, "retry_cap_seconds": 60.0, "max_attempts": 3,
    }
    values.update(changes)
    return NotifySettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def vapid() -> VapidKey:
    return VapidKey(ec.generate_private_key(ec.SECP256R1()), "mailto:ops@example.invalid")


def make_notifier(db_sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient, vapid: VapidKey,
                  settings: NotifySettings) -> Notifier:
    sms = HttpSmsSender(http, settings.sms_gateway_url, settings.sms_api_key, settings.http_timeout)
    push = PushSender(http, vapid, settings.push_extra_origins, settings.push_ttl_seconds, settings.http_timeout)
    return Notifier(db_sessions, settings, sms, push)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def notify_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The stack as processes, its BFF sending SMS and pushes to the sandbox's stand-ins (quick retries)."""
    if request.param == "postgresql":
        running = Stack(database_url=fresh_database(request.getfixturevalue("pg_url"), "notify_stack"),
                        redis_url=request.getfixturevalue("redis_url"))
    else:
        running = Stack()
    running.extra_env.update({
        "SMS_GATEWAY_URL": f"{running.provincial}/sms",
        "PUSH_EXTRA_ORIGINS": running.provincial,
        "NOTIFY_INTERVAL": "0.3",
        "NOTIFY_RETRY_BASE_SECONDS": "0.5",
        "NOTIFY_RETRY_CAP_SECONDS": "2",
    })
    running.start()
    yield running
    running.close()
