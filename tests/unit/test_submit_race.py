"""Two submits with one Idempotency-Key that both pass the replay check (the first commits just after the second
looked) make one application: the second answers with the first, never a 500 (the double tap seen in CI)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from auth.sessions import Principal
from bff.db.migrate import upgrade
from bff.domain.applications import services
from bff.domain.applications.schemas import ApplicationCreate
from tests.support.inprocess import inprocess_app
from tests.support.servers import free_port

ZHANGWEI = Principal(sub="sub-zhangwei", role="person", name="张伟", id_type="01", id_number="110105199805120012",
                     phone="13800138000")
BODY = ApplicationCreate(kind="archive_certificate", phone="13800138000", purpose="办理落户")


def test_a_key_committed_after_the_replay_check_answers_with_that_application(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}")
    app = inprocess_app(tmp_path, OIDC_ISSUER=f"http://127.0.0.1:{free_port()}")

    async def race() -> tuple[Any, Any]:
        async with app.state.db_sessions() as db:
            first = await services.submit(db, app.state.files, ZHANGWEI, "key-1", BODY, None)
        looked = services.replayed

        async def too_early(*args: Any) -> Any:
            monkeypatch.setattr(services, "replayed", looked)  # the next look sees the committed one
            return None  # this request looked before the first committed

        monkeypatch.setattr(services, "replayed", too_early)
        async with app.state.db_sessions() as db:
            second = await services.submit(db, app.state.files, ZHANGWEI, "key-1", BODY, None)
        return first, second

    first, second = asyncio.run(race())
    assert first.created and not second.created
    assert second.application.id == first.application.id
