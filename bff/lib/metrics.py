"""Prometheus metrics: request latency per route, provincial calls, and the outbox and poller read at scrape time.

- **Latency** (``portal_http_request_duration_seconds``): a histogram by route *template* (``/api/applications/
  {application_id}``, never the path, which carries ids and the /v/ tokens), method and status class. It times
  a request until its answer's headers are sent: the server's share, so a Server-Sent Events stream or a download
  is not counted at the client's reading speed. A request costs two ``perf_counter`` calls, a closure and
  prometheus-client's ``observe``, a couple of µs (docs/operations.md has the measurement).
- **Owed work** is a database fact, so it is read when scraped, not counted in a process: outbox rows pending, the
  age of the oldest, dead letters (``bff.provincial.outbox.stats``), and the poller's position in the provincial
  change feed (``sync_cursors``). Every instance reports the same values; alert on ``max``.
- **Provincial calls** (``portal_provincial_calls_total{operation, outcome}``) are counted by wrapping the client
  (``metered``): the relay's forwards are ``submit_application`` / ``put_file``, the poller's feed reads
  ``status_changes``; a successful read by the poller (not ``/healthz``'s probe) also sets
  ``portal_poller_last_success_timestamp_seconds``, from which the scrape computes ``portal_poller_lag_seconds``
  (time since this instance's poller last read the feed).
- **Several uvicorn workers** (``BFF_WORKERS``) each keep their own histogram and counters: set
  ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory writable by the service (the systemd unit in ``deploy/`` uses
  its ``RuntimeDirectory``, emptied at every start) and prometheus-client's multiprocess mode adds them up at each
  scrape. Without it a scrape shows only the worker that answered (a warning says so at start).

``GET /metrics`` answers only the addresses in ``METRICS_ALLOWED`` (loopback by default), as ``bff.lib.clientaddr``
sees them: behind nginx the client is the one in ``X-Forwarded-For``, so a forwarded request is refused even if a
proxy let it through. Everyone else gets 404; ``deploy/nginx/portal.conf`` does not forward the path at all.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from time import perf_counter, time
from typing import Any

from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST as _CONTENT_TYPE
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Metric
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.guards import PUBLIC
from bff.db.models import SyncCursor
from bff.lib.clientaddr import Networks
from bff.lib.clock import utcnow
from bff.provincial import outbox
from bff.provincial.client import ProvincialRejected, ProvincialTimeout, ProvincialUnavailable
from bff.settings import MetricsSettings

log = logging.getLogger("bff.metrics")
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
CONTENT_TYPE = _CONTENT_TYPE.split("; charset")[0]  # Litestar adds the charset itself
FEED_CURSOR = "provincial-status"  # bff.provincial.poller.CURSOR (not imported: that module pulls in the domain)
SCRAPE_DB_TIMEOUT = 5.0
# from 1 ms (a cached page) to 10 s (a certificate rendered and signed under load)
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

LATENCY = "portal_http_request_duration_seconds"
LATENCY_HELP = "Time until the answer's headers were sent, by route template"
LABELS = ("route", "method", "status")
REQUEST_SECONDS = Histogram(LATENCY, LATENCY_HELP, LABELS, buckets=BUCKETS)
PROVINCIAL_CALLS = Counter("portal_provincial_calls", "Calls to the provincial API by operation and outcome",
                           ("operation", "outcome"))
FEED_READ_AT = Gauge("portal_poller_last_success_timestamp_seconds",
                     "When this instance's poller last read the provincial change feed (Unix time)",
                     multiprocess_mode="max")

_CLASSES = ("other", "1xx", "2xx", "3xx", "4xx", "5xx")
# (route template, method, status class) → its child of REQUEST_SECONDS: ``labels()`` takes a lock and hashes its
# arguments each time, this lookup does not
_children: dict[tuple[str, str, str], Any] = {}


def _observe(scope: Any, status: int, seconds: float) -> None:  # an HTTP scope
    index = status // 100
    key = (scope.get("path_template") or "unmatched", scope["method"],
           _CLASSES[index if 0 < index < len(_CLASSES) else 0])
    child = _children.get(key)
    if child is None:
        child = _children[key] = REQUEST_SECONDS.labels(*key)
    child.observe(seconds)


def _status_of(exc: Exception) -> int:
    """The status an exception leaving a route becomes (Litestar's exception handler answers outside this
    middleware): an ``HTTPException``'s ``status_code``, an ``ApiError``'s ``status``, else a server error."""
    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    return status if isinstance(status, int) else 500


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Times each HTTP request into ``REQUEST_SECONDS``; put it first so the other middleware is included."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = perf_counter()
        answered = False

        async def send_timed(message: Message) -> None:
            nonlocal answered
            if not answered and message["type"] == "http.response.start":
                answered = True
                _observe(scope, message["status"], perf_counter() - started)
            await send(message)

        try:
            await app(scope, receive, send_timed)
        except Exception as exc:
            if not answered:
                _observe(scope, _status_of(exc), perf_counter() - started)
            raise

    return middleware


# -- the provincial client, counted ----------------------------------------------------------------------------


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, ProvincialTimeout):  # a subclass of ProvincialUnavailable: first
        return "timeout"
    if isinstance(exc, ProvincialUnavailable):
        return "unavailable"
    if isinstance(exc, ProvincialRejected):
        return "rejected"
    return "error"


class MeteredProvincial:
    """The provincial client with every call counted by operation and outcome (``ok``, ``timeout``,
    ``unavailable``, ``rejected``, ``error``); with ``poller``, a successful ``status_changes`` also marks the
    poller's last success (``/healthz`` asks the feed too, through the other wrapper)."""

    def __init__(self, inner: Any, poller: bool = False) -> None:
        self._inner = inner
        self._poller = poller

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name.startswith("_") or not inspect.iscoroutinefunction(target):
            return target
        wrapped = self._wrap(name, target, self._poller and name == "status_changes")
        setattr(self, name, wrapped)  # found directly from now on
        return wrapped

    @staticmethod
    def _wrap(name: str, call: Callable[..., Awaitable[Any]], feed: bool) -> Callable[..., Awaitable[Any]]:
        ok = PROVINCIAL_CALLS.labels(name, "ok")

        async def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await call(*args, **kwargs)
            except Exception as exc:
                PROVINCIAL_CALLS.labels(name, _outcome(exc)).inc()
                raise
            ok.inc()
            if feed:
                FEED_READ_AT.set(time())
            return result

        return counted


def metered(client: Any, *, poller: bool = False) -> Any:
    """``client`` counted (typed ``Any`` so it stands wherever the client did); ``poller``: the poller's own, whose
    feed reads are the poller's successes. A client already metered is unwrapped first (counted once)."""
    return MeteredProvincial(client._inner if isinstance(client, MeteredProvincial) else client, poller)


# -- the scrape -------------------------------------------------------------------------------------------------


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


_registry: CollectorRegistry | None = None


def _process_registry() -> CollectorRegistry:
    """This process's metrics, or every worker's in multiprocess mode."""
    global _registry
    if _registry is None:
        if MULTIPROCESS:
            _registry = CollectorRegistry()
            MultiProcessCollector(_registry)  # type: ignore[no-untyped-call]
        else:
            _registry = REGISTRY
    return _registry


async def _database_families(db_sessions: async_sessionmaker[AsyncSession]) -> list[Metric]:
    up = GaugeMetricFamily("portal_metrics_database_up", "1 when this scrape could read the outbox from the database")

    async def read() -> tuple[dict[str, int], int | None]:
        async with db_sessions() as db:
            owed = await outbox.stats(db, utcnow())
            position = await db.scalar(select(SyncCursor.position).where(SyncCursor.name == FEED_CURSOR))
            return owed, position

    try:
        owed, position = await asyncio.wait_for(read(), SCRAPE_DB_TIMEOUT)
    except Exception as exc:
        log.warning("metrics: the database could not be read: %s", type(exc).__name__)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    found: list[Metric] = [up]
    for name, key, text in (
        ("portal_outbox_pending", "pending", "Outbox rows not yet forwarded (nor dead-lettered)"),
        ("portal_outbox_oldest_pending_seconds", "oldest_pending_seconds", "Age of the oldest pending outbox row"),
        ("portal_outbox_dead_letters", "dead_letters", "Outbox rows dead-lettered and not re-sent (python -m bff "
                                                       "outbox list --dead)"),
    ):
        found.append(GaugeMetricFamily(name, text, value=owed[key]))
    if position is not None:
        found.append(GaugeMetricFamily("portal_poller_cursor_position",
                                       "The last provincial change-feed sequence number applied", value=position))
    return found


def _lag_family(families: list[Metric], now: float) -> list[Metric]:
    read_at = max((s.value for f in families if f.name == "portal_poller_last_success_timestamp_seconds"
                   for s in f.samples if s.value > 0), default=0.0)
    if not read_at:
        return []  # no poller here (RELAY_ENABLED=0), or it has not read the feed yet
    return [GaugeMetricFamily("portal_poller_lag_seconds",
                              "Seconds since this instance's poller last read the provincial change feed",
                              value=max(0.0, now - read_at))]


def metrics_handler(settings: MetricsSettings, workers: int) -> HTTPRouteHandler:
    """``GET /metrics`` for the addresses in ``METRICS_ALLOWED``; 404 for everyone else (as if it did not exist)."""
    allowed = Networks(settings.allowed)
    if workers > 1 and not MULTIPROCESS:
        log.warning("metrics: %d uvicorn workers without PROMETHEUS_MULTIPROC_DIR: each scrape shows the counts of "
                    "the one worker that answered", workers)

    @get("/metrics", opt=PUBLIC, include_in_schema=False, media_type=CONTENT_TYPE)
    async def scrape(request: Request[Any, Any, Any]) -> Response[bytes]:
        if (request.client.host if request.client else None) not in allowed:
            raise NotFoundException()
        families = list(_process_registry().collect())
        families += _lag_family(families, time())
        families += await _database_families(request.app.state.db_sessions)
        return Response(_generate_latest(_Families(families)), media_type=CONTENT_TYPE,
                        headers={"Cache-Control": "no-store"})

    return scrape
