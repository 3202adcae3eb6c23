"""The sandbox provincial system as a Litestar app."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from sandbox.provincial.api import api_router
from sandbox.provincial.auth import FetchJson, ServiceTokenVerifier, fetch_json
from sandbox.provincial.auto_advance import AutoAdvance, running
from sandbox.provincial.console import console, console_router
from sandbox.provincial.errors import EXCEPTION_HANDLERS
from sandbox.provincial.faults import FaultMiddleware, FaultSwitch
from sandbox.provincial.messages import messages_router
from sandbox.provincial.sandbox_routes import healthz, sandbox_router
from sandbox.provincial.settings import SERVICE_AUDIENCE, ProvincialSettings
from sandbox.provincial.store import Store
from sandbox.tsa import pki_routes


def create_app(settings: ProvincialSettings | None = None, *, fetch: FetchJson = fetch_json) -> Litestar:
    """The provincial system; ``fetch`` (GET a JSON document) is how it reaches the SSO provider's keys."""
    settings = settings or ProvincialSettings.from_env()
    store = Store(settings.db_path)
    faults = FaultSwitch()
    auto_advance = AutoAdvance(settings.auto_advance_seconds)
    verifier = ServiceTokenVerifier(settings.sso_issuer, SERVICE_AUDIENCE, fetch)
    return Litestar(
        # pki_routes: POST /tsa (RFC 3161), GET /pki/ca.pem and /pki/ca.crl; no service token, like the console
        route_handlers=[api_router, sandbox_router, console_router, console, healthz, messages_router, pki_routes()],
        dependencies={
            "store": Provide(lambda: store, sync_to_thread=False),
            "faults": Provide(lambda: faults, sync_to_thread=False),
            "auto_advance": Provide(lambda: auto_advance, sync_to_thread=False),
        },
        lifespan=[lambda _app: running(auto_advance, store)],
        middleware=[DefineMiddleware(FaultMiddleware, switch=faults)],
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"verifier": verifier}),
        openapi_config=OpenAPIConfig(
            title="省级流动人员人事档案管理系统 API（沙箱）",
            version="1.0.0",
            description="The provincial archive system's API as the portal's BFF uses it (docs/provincial-api.md).",
            path="/schema",
            components=Components(
                security_schemes={"serviceToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
        ),
    )
