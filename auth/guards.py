"""Every route needs a session unless its handler says ``opt={"public": True}`` (the meta-test checks the list)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from auth.sessions import Principal, SessionData, SessionManager
from bff.domain import audit

PUBLIC = {"public": True}


async def session_of(connection: ASGIConnection[Any, Any, Any, Any]) -> SessionData | None:
    """The session the request's cookie names, if any (a public route may still want to know who asks)."""
    sessions: SessionManager = connection.app.state.sessions
    return await sessions.load(connection.cookies.get(sessions.settings.cookie_name))


async def require_session(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if handler.opt.get("public"):
        audit.bind(connection, None)
        return
    data = await session_of(connection)
    audit.bind(connection, data.principal if data is not None else None)  # who, in this request's audit rows
    if data is None:
        raise NotAuthorizedException()
    connection.state.session = data


def current_session(connection: ASGIConnection[Any, Any, Any, Any]) -> SessionData:
    data: SessionData = connection.state.session
    return data


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    return current_session(connection).principal


async def require_person(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if current_principal(connection).role != "person":
        raise PermissionDeniedException()


async def require_employer(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if current_principal(connection).role != "employer":
        raise PermissionDeniedException()
