"""Dependencies shared by the controllers."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession


async def provide_db(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    async with request.app.state.db_sessions() as session:
        yield session


Db = NamedDependency[AsyncSession]
"""A handler parameter ``db: Db`` receives the request's database session."""
