"""``bff.lib.metrics`` in-process: the histogram by route template, who may read ``/metrics``, the provincial
calls counted, several workers added up (multiprocess mode), and what timing a request costs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from prometheus_client.parser import text_string_to_metric_families

from bff.lib import metrics
from bff.provincial.client import ProvincialRejected, ProvincialTimeout, ProvincialUnavailable
from tests.support.inprocess import inprocess_app
from tests.support.stack import REPO

FIGURES = REPO / "test-artifacts" / "ops" / "metrics-overhead.json"


def _get(app: Litestar, path: str, client: str = "127.0.0.1", **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(client, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            return await http.get(path, headers=headers)

    return asyncio.run(go())


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    return inprocess_app(tmp_path_factory.mktemp("metrics"))


def test_latency_by_route_template_method_and_status_class(app: Litestar) -> None:
    secret_id = "6f1c2d3e-0000-4000-8000-00000000abcd"
    assert _get(app, f"/api/applications/{secret_id}").status_code == 401  # a guard's exception: still counted
    assert _get(app, "/v/SOMETOKEN123").status_code == 200
    samples = _samples(_get(app, "/metrics").text)
    counts = {(lab["route"], lab["method"], lab["status"]): v for n, lab, v in samples
              if n == "portal_http_request_duration_seconds_count"}
    assert counts[("/api/applications/{application_id}", "GET", "4xx")] >= 1
    assert counts[("/v/{token}", "GET", "2xx")] >= 1
    text = _get(app, "/metrics").text
    assert secret_id not in text and "SOMETOKEN123" not in text
    # cumulative buckets, +Inf equal to the count
    route = ("/v/{token}", "GET", "2xx")
    buckets = sorted((float(lab["le"]), v) for n, lab, v in samples if n.endswith("_bucket")
                     and (lab["route"], lab["method"], lab["status"]) == route)
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    assert buckets[-1] == (float("inf"), counts[route])


def test_only_allowed_addresses_read_metrics(app: Litestar, tmp_path: Path) -> None:
    assert _get(app, "/metrics").status_code == 200
    assert _get(app, "/metrics", client="::1").status_code == 200
    assert _get(app, "/metrics", client="10.1.2.3").status_code == 404
    # from the trusted proxy on loopback, on behalf of someone else: that someone is the client
    refused = _get(app, "/metrics", **{"X-Forwarded-For": "203.0.113.9"})
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    monitoring = inprocess_app(tmp_path / "a", METRICS_ALLOWED="10.0.0.0/8")
    assert _get(monitoring, "/metrics", client="10.1.2.3").status_code == 200
    assert _get(monitoring, "/metrics").status_code == 404
    off = inprocess_app(tmp_path / "b", METRICS_ENABLED="0")
    assert "/metrics" not in {route.path for route in off.routes}
    assert "portal_" not in _get(off, "/metrics").text


def test_the_scrape_says_when_the_database_cannot_be_read(app: Litestar) -> None:
    # this app's SQLite file was never migrated: no outbox table
    samples = _samples(_get(app, "/metrics").text)
    assert ("portal_metrics_database_up", {}, 0.0) in samples
    assert not any(n == "portal_outbox_pending" for n, _, _ in samples)


class FakeProvincial:
    def __init__(self) -> None:
        self.plain = "kept"

    async def status_changes(self, after: int, limit: int) -> str:
        return "page"

    async def submit_application(self, key: str, payload: dict[str, Any]) -> str:
        errors: dict[str, Exception] = {"t": ProvincialTimeout("t"), "u": ProvincialUnavailable("u"),
                                        "r": ProvincialRejected(422, "bad", "bad"), "e": ValueError("e")}
        if key in errors:
            raise errors[key]
        return "ok"


def _calls(operation: str, outcome: str) -> float:
    return metrics.PROVINCIAL_CALLS.labels(operation, outcome)._value.get()


def test_provincial_calls_are_counted_and_only_the_pollers_feed_reads_mark_it() -> None:
    inner = FakeProvincial()
    client = metrics.metered(inner)
    before = {o: _calls("submit_application", o) for o in ("ok", "timeout", "unavailable", "rejected", "error")}
    for key in ("ok", "t", "u", "r", "e"):
        try:
            asyncio.run(client.submit_application(key, {}))
        except Exception:
            pass
    after = {o: _calls("submit_application", o) for o in before}
    assert {o: after[o] - before[o] for o in before} == dict.fromkeys(before, 1)
    assert client.plain == "kept"
    metrics.FEED_READ_AT.set(0)
    asyncio.run(client.status_changes(2**62, 1))  # /healthz asks the feed too: not the poller's success
    assert metrics.FEED_READ_AT._value.get() == 0
    poller = metrics.metered(client, poller=True)
    assert poller._inner is inner  # counted once, not twice
    asyncio.run(poller.status_changes(0, 100))
    assert time.time() - metrics.FEED_READ_AT._value.get() < 5


WORKER = """
import asyncio, sys
from bff.lib import metrics

async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": int(sys.argv[1]), "headers": []})
    await send({"type": "http.response.body", "body": b""})

async def noop(message=None):
    return {"type": "http.request"}

async def main():
    timed = metrics.metrics_middleware(app)
    for _ in range(int(sys.argv[2])):
        await timed({"type": "http", "method": "GET", "path_template": "/healthz"}, noop, noop)

asyncio.run(main())
metrics.PROVINCIAL_CALLS.labels("status_changes", "ok").inc(int(sys.argv[2]))
if sys.argv[3:] == ["scrape"]:
    from prometheus_client import generate_latest
    sys.stdout.write(generate_latest(metrics._process_registry()).decode())
"""


def test_several_workers_are_added_up_in_multiprocess_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", WORKER, "200", "3"], env=env, check=True, cwd=REPO)  # one worker,
    text = subprocess.run([sys.executable, "-c", WORKER, "503", "2", "scrape"], env=env, check=True,  # another
                          capture_output=True, text=True, cwd=REPO).stdout
    counts = {lab["status"]: v for n, lab, v in _samples(text)
              if n == "portal_http_request_duration_seconds_count" and lab["route"] == "/healthz"}
    assert counts == {"2xx": 3.0, "5xx": 2.0}
    calls = [v for n, lab, v in _samples(text) if n == "portal_provincial_calls_total"
             and lab == {"operation": "status_changes", "outcome": "ok"}]
    assert calls == [5.0]


def test_what_timing_a_request_costs() -> None:
    """The middleware around an ASGI app that answers at once: the difference is what every request pays."""

    async def bare(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hi"})

    async def nothing(message: Any = None) -> Any:
        return {"type": "http.request"}

    async def per_call(app: Any, n: int) -> float:
        scope = {"type": "http", "method": "GET", "path_template": "/api/applications/{application_id}"}
        started = time.perf_counter()
        for _ in range(n):
            await app(scope, nothing, nothing)
        return (time.perf_counter() - started) / n * 1e6

    async def measure() -> tuple[float, float]:
        timed = metrics.metrics_middleware(bare)
        plain, wrapped = [], []
        for _ in range(5):
            plain.append(await per_call(bare, 20000))
            wrapped.append(await per_call(timed, 20000))
        return min(plain), min(wrapped)

    plain, wrapped = asyncio.run(measure())
    overhead = wrapped - plain
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps({"bare ASGI call (us)": round(plain, 2), "with the metrics middleware (us)":
                                   round(wrapped, 2), "per-request cost (us)": round(overhead, 2)}, indent=2) + "\n")
    assert overhead < 50, overhead  # ~1.5 us on an idle core; the bound only catches a gross regression
