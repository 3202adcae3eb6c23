"""The OpenAPI document lists the answers every route can give from the layers around its handler.

Litestar documents, on each route with parameters, a 400 of its own shape (``{status_code, detail, extra}``),
while every error here has the portal's one shape (``bff.lib.errors.ErrorBody``); and the answers that come
from the layers around a handler are the same for many routes: a malformed request (400), no session (401), a
person on a unit's route or a unit on a person's, or an unsafe request from another site (403), an id that is not
found (404, on ``/api/`` routes with one in their path). ``ErrorResponses`` adds these to each route's entry where
the handler did not list the status itself (a handler's own ``responses`` win: a page answers with HTML)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIResponse, Operation
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from auth.guards import require_employer, require_person
from bff.lib.errors import error_responses

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def page_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for a server-rendered page's other answers: the page again, saying why in Chinese."""
    return {s: ResponseSpec(data_container=str, media_type=MediaType.HTML, description="页面，含中文说明",
                            generate_examples=False) for s in statuses}


def answered_as(*media_types: str) -> type[Operation]:
    """An operation whose success answer is documented under each of ``media_types`` (Litestar documents one): a
    download whose type is the stored file's."""

    @dataclass
    class Answered(Operation):
        def __post_init__(self) -> None:
            for status, answer in (self.responses or {}).items():
                if status.startswith("2") and isinstance(answer, OpenAPIResponse) and answer.content:
                    body = next(iter(answer.content.values()))
                    answer.content = dict.fromkeys(media_types, body)

    return Answered


def redirect_response(status: int, description: str) -> dict[int, ResponseSpec]:
    """A redirect's entry: no body, the ``Location`` says where."""
    return {status: ResponseSpec(data_container=None, description=description, generate_examples=False)}


def common_errors(path: str, handler: HTTPRouteHandler) -> set[int]:
    statuses = {400}
    if not handler.opt.get("public"):
        statuses.add(401)
    guards = handler.resolve_guards()
    if require_person in guards or require_employer in guards or set(handler.http_methods) & UNSAFE:
        statuses.add(403)
    if path.startswith("/api/") and "{" in path:
        statuses.add(404)
    return statuses


class ErrorResponses(ReceiveRoutePlugin):
    """Adds the common error answers to each documented route as it is registered (before the document is built:
    Litestar builds it on first use)."""

    __slots__ = ()

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            declared: dict[int, ResponseSpec] = dict(handler.responses or {})
            missing = common_errors(route.path, handler) - set(declared)
            handler.responses = {**error_responses(*sorted(missing)), **declared}
