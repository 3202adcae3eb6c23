"""Rate limits: one table of limits, one guard to attach them, counted in Redis (shared by every instance).

**Declaring.** Each limit is a row of ``LIMITS`` (count per window, and what it counts: the client's address, the
signed-in subject, or a key the handler names). A route takes limits with ``guards=[rate_limit("name", ...)]``;
guards run after the session guard and before the body is read, so an upload over the limit is refused before
its bytes are. Where the key is known only inside the handler (a certificate, a share link) or only some requests
count (``/verify`` with a code), the handler calls ``await hit(request, "name", key)``. Both raise
``RateLimited``: 429 with ``Retry-After`` and a Chinese message, as JSON (``bff.lib.errors``' format, on /api and
/auth) or as the public pages' own HTML (the verification controller's handler). Operators override a row with
``RATE_LIMIT_<NAME>=<count>/<seconds>`` (``bff.settings.SecuritySettings``); a misspelt name stops the start.
``RATE_LIMITS_ENABLED=0`` turns them all off, for load tests and drills.

**Counting.** A window opens at a key's first hit and lasts the row's seconds (INCR, EXPIRE NX and TTL in one
MULTI), so ``Retry-After`` is exact and there is no shared boundary at which every counter resets at once. Keys
are hashed: no address or subject sits in Redis in clear. IPv6 addresses count by /64 (``clientaddr.limit_key``).
Hits that arrive while a round trip to Redis is under way wait for the next one and go in it together (INCRBY n
per key, each hit numbered in order): the same counts and answers as one round trip each, at a fraction of the
CPU when a public page is busy (``RateLimiter._send``). A key hit again as soon as its last round trip answered
(a script, a load test, a flood) takes numbers of its window ahead, doubling each time up to a tenth of the limit,
and its next hits here take them without a round trip. A number is never given twice, so no more than the limit
pass in a window; what it costs is that a client whose fast hits are spread over several instances may be refused
up to a tenth of the limit early per instance. A person clicking, and every limit under 10, count one round trip
per hit as before.

**Redis down.** The limiter does not fail closed (that would refuse everyone, the public verification page
included, for as long as Redis is away) nor open (the limits guard enumeration of certificates and access codes,
and uploads' CPU): while Redis cannot be reached each instance counts in its own memory, so a client gets at most
the limit per instance. The first failure logs one warning; Redis is tried again every ``RECHECK_SECONDS`` (one
request tries, the others keep counting here), and the first success logs the recovery and counting is shared
again. The limiter has its own Redis client with short timeouts and no retries, so a dead Redis costs a request
at most ``TIMEOUT_SECONDS``, once per recheck.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bff.lib.clientaddr import limit_key
from bff.lib.errors import ErrorBody, handle_http_exception

log = logging.getLogger("bff.ratelimit")

Per = Literal["address", "subject", "key"]
MINUTE = 60
HOUR = 3600


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int
    per: Per


# Per-address limits must allow for many people behind one address (a campus or office NAT, a mobile carrier's
# CGNAT): they stop scripts, not people. Per-subject limits are the tight ones: about ten times what one busy person
# does. Idempotent replays and refused attempts count too.
LIMITS: dict[str, Limit] = {
    # GET /auth/login and /auth/callback: a sign-in is both. 300 per 10 minutes is a sign-in every 4 s from one
    # address, sustained; a script creating login states in the store and calls to the provider stops there.
    "sign_in": Limit(300, 10 * MINUTE, "address"),
    # POST /api/applications. A person files a few applications in a day; 20 an hour leaves room for retries.
    "submit": Limit(20, HOUR, "subject"),
    # POST /api/unit/transfers and /api/unit/applications: one HR office files for a whole intake of new hires.
    "submit_unit": Limit(200, HOUR, "subject"),
    # all three submit routes, per address: an office full of HR clerks or a campus.
    "submit_address": Limit(600, HOUR, "address"),
    # PUT /api/documents/{id}/files/{file_id}: a letter is up to 20 photos; 300 an hour is 15 whole letters with
    # retakes, while each upload is decoded and re-encoded (CPU) and stored.
    "upload": Limit(300, HOUR, "subject"),
    "upload_address": Limit(3000, HOUR, "address"),
    # GET /v/{token}, /V/{token} and /s/{share_id}: an HR office checking a pile of certificates opens one every
    # few seconds at most; enumerating share links (128-bit) hits this.
    "public_page": Limit(300, 10 * MINUTE, "address"),
    # GET /verify?code=: a typed 核验码 (80-bit certificate id). One every 20 s; guessing codes gets 404s, then 429.
    "verify_code": Limit(30, 10 * MINUTE, "address"),
    # POST /verify/pdf: signature, CRL and content checks of an uploaded PDF are the most expensive public work.
    "verify_pdf": Limit(10, 10 * MINUTE, "address"),
    # POST /v/{token}/id: the answer is only 一致 / 不一致, but the masked ID leaves the birth date to guess, so few
    # tries per address and fewer per certificate (whoever asks).
    "id_check_address": Limit(20, HOUR, "address"),
    "id_check_certificate": Limit(5, 10 * MINUTE, "key"),
    # POST /s/{share_id}: the 8-character access code of a 政审回复函's share link.
    "share_open_address": Limit(20, HOUR, "address"),
    "share_open": Limit(5, HOUR, "key"),
}


def configured(overrides: Mapping[str, tuple[int, int]]) -> dict[str, Limit]:
    """The table with the operator's ``RATE_LIMIT_<NAME>`` overrides; an unknown name is a configuration error."""
    unknown = sorted(set(overrides) - set(LIMITS))
    if unknown:
        names = ", ".join(f"RATE_LIMIT_{n.upper()}" for n in sorted(LIMITS))
        raise ValueError(f"unknown rate limit(s) {unknown}; the known ones are {names}")
    table = dict(LIMITS)
    for name, (count, seconds) in overrides.items():
        table[name] = Limit(count, seconds, LIMITS[name].per)
    return table


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # seconds until the key's window closes


def wait_text(seconds: int) -> str:
    """How long to wait, as a person reads it."""
    if seconds < MINUTE:
        return f"{max(1, seconds)} 秒"
    if seconds < HOUR:
        return f"{math.ceil(seconds / MINUTE)} 分钟"
    return f"{math.ceil(seconds / HOUR)} 小时"


class RateLimited(HTTPException):
    """Over a limit: 429, ``Retry-After``, and a message saying how long to wait."""

    status_code = 429

    def __init__(self, name: str, retry_after: int) -> None:
        self.limit = name
        self.retry_after = max(1, retry_after)
        self.message = f"操作过于频繁，请 {wait_text(self.retry_after)}后再试"
        super().__init__(detail=self.message, status_code=429, headers={"Retry-After": str(self.retry_after)})


@dataclass
class _Lease:
    next: int  # the next number of the window a hit here takes
    last: int
    until: float  # monotonic: when the window ends
    granted_at: float
    ahead: int


class RateLimiter:
    """Counts hits per key in fixed windows that open at a key's first hit (see the module docstring)."""

    RECHECK_SECONDS = 5.0
    HOT_SECONDS = 1.0  # numbers taken ahead and used up within this: take more next time
    MAX_AHEAD = 64
    TIMEOUT_SECONDS = 1.0
    MAX_LOCAL_KEYS = 100_000

    def __init__(self, redis: Redis | None = None, prefix: str = "portal:rl:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._counts: dict[str, tuple[float, int]] = {}
        self._down = False
        self._redis_again_at = 0.0
        self._pending: list[tuple[str, int, asyncio.Future[tuple[int, int]]]] = []
        self._leases: dict[str, _Lease] = {}  # numbers of a window taken ahead, per bucket
        self._ahead: dict[str, int] = {}  # how many to take ahead at the next round trip, per hot bucket
        self._sender: asyncio.Future[None] | None = None

    @classmethod
    def connect(cls, redis_url: str) -> RateLimiter:
        """Its own client: short timeouts and no retries, so an outage is noticed in a moment, not after backoff."""
        if not redis_url:
            return cls()
        return cls(Redis.from_url(redis_url, socket_timeout=cls.TIMEOUT_SECONDS,
                                  socket_connect_timeout=cls.TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0)))

    @property
    def shared(self) -> bool:
        """Whether counts are in Redis right now (False without Redis, or during an outage)."""
        return self.redis is not None and not self._down

    async def hit(self, key: str, count: int, seconds: int) -> Decision:
        bucket = f"{self.prefix}{key}"
        now = time.monotonic()
        if self.redis is not None and now >= self._redis_again_at:
            lease = self._leases.get(bucket)
            if lease is not None and lease.next <= lease.last and now < lease.until and not self._down:
                lease.next += 1
                return Decision(lease.next - 1 <= count, max(1, math.ceil(lease.until - now)))
            if self._down:  # one request tries Redis again; the others keep counting here meanwhile
                self._redis_again_at = now + self.RECHECK_SECONDS
            if lease is not None and lease.next > lease.last and now - lease.granted_at < self.HOT_SECONDS:
                self._ahead[bucket] = min(2 * lease.ahead + 1, count // 10, self.MAX_AHEAD)  # used up at once
            else:
                self._ahead.pop(bucket, None)
            try:
                used, ttl = await self._counted(bucket, seconds)
            except (RedisError, OSError) as exc:
                self._outage(exc)
            else:
                if self._down:
                    self._down = False
                    self._leases.clear()
                    log.warning("rate-limit store reachable again; limits are shared by every instance again")
                return Decision(used <= count, ttl if ttl > 0 else seconds)
        return self._hit_here(bucket, count, seconds)

    def _counted(self, bucket: str, seconds: int) -> asyncio.Future[tuple[int, int]]:
        """This hit's number in its window, and the window's seconds left, from Redis: hits made while a round trip
        is under way go together in the next one (see ``_send``)."""
        future: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self._pending.append((bucket, seconds, future))
        if self._sender is None:
            self._sender = asyncio.ensure_future(self._send())
        return future

    def _lease(self, bucket: str, total: int, ahead: int, ttl: int) -> None:
        """Keep the ``ahead`` numbers up to ``total`` that the last round trip took for later hits here (none: still
        when it was, to tell whether the key is hot)."""
        if ttl <= 0:
            self._leases.pop(bucket, None)
            return
        now = time.monotonic()
        if len(self._leases) >= self.MAX_LOCAL_KEYS:
            self._leases = {k: v for k, v in self._leases.items() if v.until > now}
            if len(self._leases) >= self.MAX_LOCAL_KEYS:
                self._leases.clear()
            self._ahead = {k: v for k, v in self._ahead.items() if k in self._leases}
        self._leases[bucket] = _Lease(next=total - ahead + 1, last=total, until=now + ttl, granted_at=now,
                                      ahead=ahead)

    async def _send(self) -> None:
        """Counts the waiting hits in one MULTI per round trip: per bucket INCRBY n, EXPIRE NX and TTL, and the k-th
        of the n hits gets number total - n + k. That is the number it would have got alone (MULTI keeps the
        instances' batches whole), so a busy page costs one round trip per batch instead of per request."""
        assert self.redis is not None
        batch: list[tuple[str, int, asyncio.Future[tuple[int, int]]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                buckets: dict[str, list[asyncio.Future[tuple[int, int]]]] = {}
                seconds: dict[str, int] = {}
                for bucket, window, future in batch:
                    buckets.setdefault(bucket, []).append(future)
                    seconds[bucket] = window
                ahead = {bucket: self._ahead.get(bucket, 0) for bucket in buckets}
                try:
                    async with self.redis.pipeline(transaction=True) as pipe:
                        for bucket, futures in buckets.items():
                            pipe.incrby(bucket, len(futures) + ahead[bucket])
                            pipe.expire(bucket, seconds[bucket], nx=True)
                            pipe.ttl(bucket)
                        results = await pipe.execute()
                except Exception as exc:  # RedisError / OSError: an outage, which ``hit`` handles; else the request's
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for i, (bucket, futures) in enumerate(buckets.items()):
                    total, ttl = int(results[3 * i]), int(results[3 * i + 2])
                    first = total - ahead[bucket] - len(futures)
                    for k, future in enumerate(futures, start=1):
                        if not future.done():  # its request may have been cancelled meanwhile
                            future.set_result((first + k, ttl))
                    self._lease(bucket, total, ahead[bucket], ttl)
        finally:
            self._sender = None
            for _, _, future in [*batch, *self._pending]:  # cancelled (shut down) with hits still waiting
                if not future.done():
                    future.set_exception(RedisError("rate-limit counting stopped"))
            self._pending = []

    def _outage(self, exc: BaseException) -> None:
        self._redis_again_at = time.monotonic() + self.RECHECK_SECONDS
        self._leases.clear()
        if not self._down:
            self._down = True
            log.warning("rate-limit store unreachable (%s); counting in this instance until it is back",
                        type(exc).__name__)

    def _hit_here(self, bucket: str, count: int, seconds: int) -> Decision:
        now = time.monotonic()
        if len(self._counts) >= self.MAX_LOCAL_KEYS:
            self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
            if len(self._counts) >= self.MAX_LOCAL_KEYS:  # a flood of distinct keys: forget the older half
                self._counts = dict(list(self._counts.items())[self.MAX_LOCAL_KEYS // 2:])
        until, used = self._counts.get(bucket, (0.0, 0))
        if until <= now:
            until, used = now + seconds, 0
        self._counts[bucket] = (until, used + 1)
        return Decision(used + 1 <= count, math.ceil(until - now))

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


class RateLimits:
    """The configured table and the limiter; ``app.state.rate_limits``."""

    def __init__(self, limiter: RateLimiter, table: Mapping[str, Limit], enabled: bool = True) -> None:
        self.limiter = limiter
        self.table = dict(table)
        self.enabled = enabled  # RATE_LIMITS_ENABLED=0: load tests and drills only

    async def check(self, name: str, who: str) -> None:
        """Count one hit of ``name`` for ``who``; raise ``RateLimited`` when it is over."""
        limit = self.table[name]
        if not self.enabled:
            return
        digest = hashlib.sha256(f"{name}\0{who}".encode()).hexdigest()[:32]
        decision = await self.limiter.hit(f"{name}:{digest}", limit.count, limit.seconds)
        if not decision.allowed:
            log.warning("rate limited", extra={"event": {"limit": name}})
            raise RateLimited(name, decision.retry_after)


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address as ``clientaddr``'s middleware settled it, as a per-address limit counts it."""
    return limit_key(connection.client.host) if connection.client else "unknown"


def _who(connection: ASGIConnection[Any, Any, Any, Any], name: str, key: str | None) -> str | None:
    per = connection.app.state.rate_limits.table[name].per
    if per == "address":
        return client_of(connection)
    if per == "subject":
        session = connection.state.get("session")
        return f"sub:{session.principal.sub}" if session is not None else None
    return key


async def hit(connection: ASGIConnection[Any, Any, Any, Any], name: str, key: str | None = None) -> None:
    """Count one hit of the limit ``name`` (``key`` for limits counted per certificate, share, ...)."""
    who = _who(connection, name, key)
    if who is not None:
        await connection.app.state.rate_limits.check(name, who)


def rate_limit(*names: str) -> Guard:
    """A guard counting each named limit (per address or per signed-in subject) before the handler runs."""
    unknown = [n for n in names if n not in LIMITS or LIMITS[n].per == "key"]
    if unknown:
        raise ValueError(f"not a per-address or per-subject limit: {unknown}")

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        for name in names:
            await hit(connection, name)

    return guard


def handle_rate_limited(request: Request[Any, Any, Any], exc: RateLimited) -> Response[Any]:
    """429 in the one error format of ``bff.lib.errors`` (its handler also audits the refusal), saying how long."""
    response = handle_http_exception(request, exc)
    response.content = msgspec.to_builtins(ErrorBody("too_many_requests", exc.message))
    return response
