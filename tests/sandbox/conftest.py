from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from sandbox.provincial import ProvincialSettings
from sandbox.provincial import create_app as create_provincial
from sandbox.sso import SsoSettings
from sandbox.sso import create_app as create_sso
from tests.sandbox.helpers import CLIENT, LiveServer


class FakeClock:
    """Real time plus an offset a test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sso_settings(tmp_path: Path) -> SsoSettings:
    return SsoSettings(issuer="http://127.0.0.1:8100", portal_url="http://127.0.0.1:8000", data_dir=tmp_path)


@pytest.fixture
def sso(sso_settings: SsoSettings, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_sso(sso_settings, clock=clock), base_url=sso_settings.issuer) as client:
        client.follow_redirects = False
        yield client


@pytest.fixture(scope="session")
def live_sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("sso")

    def factory(port: int) -> Litestar:
        return create_sso(SsoSettings(port=port, issuer=f"http://127.0.0.1:{port}", data_dir=data_dir))

    with LiveServer(factory, data_dir) as server:
        yield server


def service_token(issuer: str) -> str:
    response = httpx.post(f"{issuer}/token", data={"grant_type": "client_credentials"}, auth=CLIENT)
    response.raise_for_status()
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def live_provincial(live_sso: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("provincial")

    def factory(port: int) -> Litestar:
        return create_provincial(ProvincialSettings(port=port, sso_issuer=live_sso.url, data_dir=data_dir))

    with LiveServer(factory, data_dir) as server:
        yield server


@pytest.fixture
def api(live_provincial: LiveServer, live_sso: LiveServer) -> Iterator[httpx.Client]:
    """A client of the provincial system with a fresh service token; faults are switched off afterwards."""
    token = service_token(live_sso.url)
    with httpx.Client(base_url=live_provincial.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        yield client
        client.put("/sandbox/faults", json={"mode": "none", "delay_seconds": 0})
