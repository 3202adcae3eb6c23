"""The application factory: settings → parts (database, store, SSO, provincial client, keys) → routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from litestar import Litestar, Router
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis

from auth.controllers import AuthController
from auth.guards import PUBLIC, require_session
from auth.oidc import OidcClient
from auth.service_tokens import ServiceTokenProvider
from auth.sessions import SessionManager
from bff.db.encryption import check_keys
from bff.db.engine import create_engine, session_factory
from bff.domain.agencies import AgencyController, directory
from bff.domain.applications import ApplicationController
from bff.domain.archives import ArchiveController
from bff.domain.certificates.services import Issuer
from bff.domain.employer import UnitController
from bff.domain.events import EventsController, publish_application_change
from bff.domain.events.backend import ResilientRedisPubSub
from bff.domain.health import HealthController
from bff.domain.me import MeController
from bff.domain.notifications import NotificationController
from bff.domain.notifications.dispatcher import Notifier
from bff.domain.notifications.senders import HttpSmsSender, PushSender, VapidKey
from bff.domain.retention.services import retention_forever
from bff.domain.uploads import DocumentController
from bff.domain.verification.cache import VerdictCache
from bff.domain.verification.cache import listen as forget_changed_certificates
from bff.domain.verification.controllers import VerificationController
from bff.domain.verification.services import VerifyTrust
from bff.domain.verification.tokens import TokenKeys
from bff.lib.clientaddr import TrustedProxies, client_address_middleware_factory
from bff.lib.crypto import Keyring, use_keyring
from bff.lib.deps import provide_db
from bff.lib.errors import exception_handlers
from bff.lib.files import file_store
from bff.lib.logging import configure_logging, request_id_middleware
from bff.lib.metrics import metered, metrics_handler, metrics_middleware
from bff.lib.openapi import ErrorResponses
from bff.lib.ratelimit import RateLimited, RateLimiter, RateLimits, configured, handle_rate_limited
from bff.lib.security import allowed_hosts, security_middleware_factory
from bff.lib.web import spa_handler
from bff.lib.workdays import WorkingCalendar
from bff.provincial.client import HttpProvincialClient
from bff.provincial.poller import Poller
from bff.provincial.relay import Relay
from bff.provincial.schemas import Agency
from bff.settings import Settings


def _store_parts(settings: Settings) -> tuple[Store, ChannelsPlugin, Redis | None]:
    if settings.store.redis_url:
        redis = Redis.from_url(settings.store.redis_url, socket_timeout=3, socket_connect_timeout=3)
        store: Store = RedisStore(redis=redis, namespace="portal")
        backend: Any = ResilientRedisPubSub(redis=redis)
        return store, ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True), redis
    return MemoryStore(), ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True), None


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.server.log_level)
    store, channels, redis = _store_parts(settings)
    engine = create_engine(settings.database)
    keyring = Keyring.from_settings(settings.crypto)
    use_keyring(engine, keyring)
    http = httpx.AsyncClient(follow_redirects=False)
    oidc = OidcClient(settings.oidc, http, redirect_uri=f"{settings.server.public_base_url}/auth/callback")
    provincial = HttpProvincialClient(settings.provincial.api_url, http,
                                      ServiceTokenProvider(oidc, settings.provincial.audience),
                                      settings.provincial.timeout)
    provincial = metered(provincial)  # each call counted for /metrics (bff.lib.metrics)
    token_keys = TokenKeys.load_or_create(settings.signing.token_keys_dir)
    files = file_store(settings.files, settings.server.data_dir)
    issuer = Issuer(signing=settings.signing, token_keys=token_keys, files=files,
                    public_base_url=settings.server.public_base_url)
    notify = settings.notify
    push_sender = PushSender(http, VapidKey.load_or_create(notify.vapid_key_file, notify.vapid_subject,
                                                           notify.vapid_key_generate),
                             notify.push_extra_origins, notify.push_ttl_seconds, notify.http_timeout)

    rate_limits = RateLimits(RateLimiter.connect(settings.store.redis_url), configured(settings.security.rate_limits),
                             enabled=settings.security.rate_limits_enabled)
    state = State({
        "settings": settings, "engine": engine, "db_sessions": session_factory(engine), "store": store,
        "channels": channels, "http": http, "oidc": oidc, "sessions": SessionManager(store, settings.session),
        "provincial": provincial, "token_keys": token_keys, "files": files, "issuer": issuer,
        "relay_wakeup": asyncio.Event(),
        "push_sender": push_sender, "notify_wakeup": asyncio.Event(),
        "calendar": WorkingCalendar(settings.calendar.holidays_file), "rate_limits": rate_limits,
        "verify_trust": VerifyTrust.load(settings.signing), "verdicts": VerdictCache(),
    })

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        await check_keys(engine, keyring)  # stored personal data the keys cannot read: refuse to start
        if settings.provincial.relay_enabled:
            def on_change(owner: str, application_id: str, status: str) -> None:
                publish_application_change(channels, owner, application_id, status)

            relay = Relay(app.state.db_sessions, provincial, settings.provincial, issuer, files, on_change)
            async def agencies() -> list[Agency]:
                return await directory(provincial, store)

            poller = Poller(app.state.db_sessions, metered(provincial, poller=True), settings.provincial, on_change,
                            app.state.relay_wakeup, agencies, app.state.notify_wakeup)
            tasks = [asyncio.create_task(relay.run(app.state.relay_wakeup), name="relay"),
                     asyncio.create_task(poller.run(), name="poller")]
            if settings.retention.enabled:
                tasks.append(asyncio.create_task(retention_forever(app.state.db_sessions, files, settings.retention),
                                                 name="retention"))
            if notify.enabled:
                sms = HttpSmsSender(http, notify.sms_gateway_url, notify.sms_api_key, notify.http_timeout)
                notifier = Notifier(app.state.db_sessions, notify, sms, push_sender)
                tasks.append(asyncio.create_task(notifier.run(app.state.notify_wakeup), name="notifier"))
        # revocations and reissues committed anywhere reach this instance's verdict cache (and this one's others)
        tasks.append(asyncio.create_task(forget_changed_certificates(channels, app.state.verdicts), name="verdicts"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await http.aclose()
            await engine.dispose()
            if redis is not None:
                await redis.aclose()
            await rate_limits.limiter.aclose()

    return Litestar(
        route_handlers=[
            AuthController, MeController, ArchiveController, ApplicationController, DocumentController,
            UnitController, AgencyController, EventsController, VerificationController, HealthController,
            NotificationController, spa_handler(settings.server.web_dist),
            *([metrics_handler(settings.metrics, settings.server.workers)] if settings.metrics.enabled else []),
        ],
        guards=[require_session],
        dependencies={"db": Provide(provide_db)},
        exception_handlers={**exception_handlers, RateLimited: handle_rate_limited},
        allowed_hosts=allowed_hosts(settings.server.public_base_url, settings.server.host, settings.server.port,
                                    settings.security.allowed_hosts),
        middleware=[*([metrics_middleware] if settings.metrics.enabled else []),
                    client_address_middleware_factory(TrustedProxies(settings.security.trusted_proxies)),
                    request_id_middleware, security_middleware_factory(settings.server.public_base_url,
                                                                       settings.oidc.issuer)],
        plugins=[channels, ErrorResponses()],
        state=state,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="档案服务 BFF", version="1.0.0", path="/schema", render_plugins=[JsonRenderPlugin()],
            openapi_router=Router(path="/schema", route_handlers=[], opt=PUBLIC, include_in_schema=False),
        ),
        logging_config=None,
    )
