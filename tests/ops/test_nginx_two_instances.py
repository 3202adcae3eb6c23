"""Two BFF instances on one PostgreSQL and Redis behind real nginx, configured by ``deploy/nginx/portal.conf``.

Requests are spread over both instances; a person signs in through the real OIDC flow and stays signed in whichever
instance answers; an application submitted through nginx is forwarded once and its live update comes through
unbuffered; ``/metrics`` is refused through nginx but answers on each instance's loopback address, with the outbox
depth going up and back to 0 and the request counts; when one instance stops, nginx sends everything to the other.
The tests run in order on one deployment (the last one stops an instance)."""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.nginx import Nginx
from tests.support.portal_client import Browser
from tests.support.servers import RedisServer, free_port, fresh_database
from tests.support.stack import REPO, Stack, wait_until

FIGURES = REPO / "test-artifacts" / "ops" / "nginx-two-instances.json"
MiB = 1024 * 1024


class Deployment:
    def __init__(self, stack: Stack, second: str, nginx: Nginx) -> None:
        self.stack = stack
        self.instances = {"bff": stack.portal, "bff2": second}
        self.nginx = nginx
        self.tls = ssl.create_default_context(cafile=str(nginx.cert))
        self.figures: dict[str, Any] = {}

    @property
    def public(self) -> str:
        return self.nginx.url

    def client(self) -> httpx.Client:
        return httpx.Client(timeout=30, verify=self.tls)

    def browser(self) -> Browser:
        browser = Browser()
        browser.http = httpx.Client(timeout=30, follow_redirects=False, verify=self.tls)
        return browser

    def metrics(self, name: str) -> list[tuple[str, dict[str, str], float]]:
        r = httpx.get(f"{self.instances[name]}/metrics", timeout=10)
        assert r.status_code == 200, r.text[:300]
        return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(r.text) for s in f.samples]

    def value(self, name: str, metric: str, **labels: str) -> float:
        return sum(v for n, lab, v in self.metrics(name) if n == metric and labels.items() <= lab.items())


@pytest.fixture(scope="module")
def deployment(pg_url: str) -> Iterator[Deployment]:
    redis = RedisServer(persistent=True)
    redis.start()
    # nginx's address is every instance's PUBLIC_BASE_URL and the SSO's redirect target: known before they start
    nginx = Nginx(port=free_port())
    stack = Stack(database_url=fresh_database(pg_url, "ops_nginx"), redis_url=redis.url,
                  extra_env={"PUBLIC_BASE_URL": nginx.url, "SANDBOX_PORTAL_URL": nginx.url})
    try:
        stack.start()
        second = stack.start_second_bff("bff2", PUBLIC_BASE_URL=nginx.url)
        nginx.start([f"127.0.0.1:{stack.portal_port}", second.removeprefix("http://")])
        deployment = Deployment(stack, second, nginx)
        yield deployment
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text(json.dumps(deployment.figures, ensure_ascii=False, indent=2) + "\n")
    finally:
        nginx.close()
        stack.close()
        redis.close()


@pytest.fixture(scope="module")
def person(deployment: Deployment) -> Browser:
    """张伟, signed in through nginx: the login and the callback may each land on either instance."""
    browser = deployment.browser()
    landing = browser.sign_in(deployment.public, "zhangwei")
    assert landing.status_code == 303, landing.text[:500]
    assert landing.headers["location"] == "/"
    assert browser.session_cookie()
    return browser


def _origin(deployment: Deployment) -> dict[str, str]:
    return {"Origin": deployment.public}


def _submit(deployment: Deployment, browser: Browser) -> httpx.Response:
    return browser.post(f"{deployment.public}/api/applications", json={
        "kind": "archive_certificate", "purpose": "办理落户", "phone": "13800138000", "delivery": "electronic"},
        headers={"Idempotency-Key": str(uuid.uuid4()), **_origin(deployment)})


class Stream:
    """The PWA's live-update stream (``/api/events``) through nginx, read in a thread."""

    def __init__(self, deployment: Deployment, browser: Browser) -> None:
        self.events: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._response: httpx.Response | None = None
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        self._thread = threading.Thread(target=self._run, args=(deployment, cookie), daemon=True)
        self._thread.start()
        assert self.connected.wait(15), "the live-update stream did not open through nginx"

    def _run(self, deployment: Deployment, cookie: str) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(5, read=60), verify=deployment.tls) as http, \
                    http.stream("GET", f"{deployment.public}/api/events", headers={"Cookie": cookie}) as response:
                self._response = response
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.connected.set()
                    elif line.startswith("data:") and line[5:].strip():
                        self.events.append(json.loads(line[5:]))
                    if self._stop.is_set():
                        return
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise

    def wait_for(self, application_id: str, status: str, timeout: float = 30) -> float:
        started = time.monotonic()
        wait_until(lambda: any(e.get("id") == application_id and e.get("status") == status for e in self.events),
                   timeout=timeout, interval=0.05)
        return time.monotonic() - started

    def close(self) -> None:
        """Hangs up (an open stream would hold its instance's graceful stop until it is killed)."""
        self._stop.set()
        if self._response is not None:
            self._response.close()
        self._thread.join(10)


def test_the_pwa_and_its_headers_through_nginx(deployment: Deployment) -> None:
    with deployment.client() as http:
        shell = http.get(f"{deployment.public}/")
        assert shell.status_code == 200 and "<div id=\"app\">" in shell.text
        assert shell.headers["cache-control"] == "no-cache"  # a new release reaches phones at once
        assert "script-src 'self'" in shell.headers["content-security-policy"]  # the BFF's headers, passed on
        assert shell.headers["strict-transport-security"].startswith("max-age=")  # https as the BFF sees it
        assert http.get(f"{deployment.public}/sw.js").headers["cache-control"] == "no-cache"
        hashed = re.search(r'src="(/assets/[^"]+\.js)"', shell.text)
        assert hashed, shell.text[:500]
        asset = http.get(f"{deployment.public}{hashed.group(1)}", headers={"Accept-Encoding": "gzip"})
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.headers["content-encoding"] == "gzip"
        assert asset.headers["x-content-type-options"] == "nosniff"
        # an asset this nginx does not have (an instance on a newer release) is asked of the BFF
        assert http.get(f"{deployment.public}/assets/not-built-yet.js").status_code in (200, 404)


def test_the_body_limit_matches_the_largest_upload(deployment: Deployment) -> None:
    url = f"{deployment.public}/api/documents/{uuid.uuid4()}/files/{uuid.uuid4()}"
    with deployment.client() as http:
        # 10 MiB (an upload's limit) passes nginx: the BFF answers (no session: its JSON 401)
        passed = http.put(url, content=b"\0" * (10 * MiB), headers={"Content-Type": "application/octet-stream"})
        assert passed.status_code == 401 and passed.json()["code"] == "unauthenticated"
        # more than /verify/pdf's 10 MiB + 64 KiB: nginx itself refuses
        refused = http.put(url, content=b"\0" * (10 * MiB + 128 * 1024),
                           headers={"Content-Type": "application/octet-stream"})
        assert refused.status_code == 413 and "nginx" in refused.text


def test_requests_are_spread_and_the_session_works_on_either_instance(deployment: Deployment, person: Browser) -> None:
    before = {name: deployment.value(name, "portal_http_request_duration_seconds_count", route="/api/me",
                                     status="2xx") for name in deployment.instances}
    for _ in range(10):
        me = person.get(f"{deployment.public}/api/me")
        assert me.status_code == 200, me.text
        assert me.json()["role"] == "person"
    served = {name: deployment.value(name, "portal_http_request_duration_seconds_count", route="/api/me",
                                     status="2xx") - before[name] for name in deployment.instances}
    assert sum(served.values()) == 10 and all(n >= 3 for n in served.values()), served
    deployment.figures["GET /api/me x10 through nginx, per instance"] = served
    log = deployment.nginx.access_log()
    upstreams = set(re.findall(r"upstream=(127\.0\.0\.1:\d+)", log))
    assert upstreams == {deployment.instances[n].removeprefix("http://") for n in deployment.instances}, upstreams
    # the access log keeps no query strings: the OIDC code and state of the callback are not in it
    assert "/auth/callback" in log and "code=" not in log and "state=" not in log


def test_an_application_through_nginx_is_forwarded_once_and_the_outbox_metrics_follow(
        deployment: Deployment, person: Browser) -> None:
    stack = deployment.stack
    stream = Stream(deployment, person)
    try:
        stack.set_fault("down")
        submitted = _submit(deployment, person)
        assert submitted.status_code == 201, submitted.text
        app_id = submitted.json()["id"]
        # owed: both instances read the same outbox from the database
        for name in deployment.instances:
            assert deployment.value(name, "portal_outbox_pending") == 1
        time.sleep(1.2)
        assert deployment.value("bff2", "portal_outbox_oldest_pending_seconds") >= 1
        failures = wait_until(lambda: sum(deployment.value(n, "portal_provincial_calls_total", outcome="unavailable")
                                          for n in deployment.instances), timeout=10)
        stack.set_fault("none")
        started = time.monotonic()
        wait_until(lambda: deployment.value("bff", "portal_outbox_pending") == 0, timeout=30, interval=0.2)
        drained = time.monotonic() - started
        held = wait_until(lambda: stack.sandbox_application(app_id), timeout=10)
        assert held["submit_count"] == 1
        assert deployment.value("bff2", "portal_outbox_dead_letters") == 0
        forwards = sum(deployment.value(n, "portal_provincial_calls_total", operation="submit_application",
                                        outcome="ok") for n in deployment.instances)
        assert forwards == 1
        stack.clerk(app_id, "accept")
        live = stream.wait_for(app_id, "accepted", timeout=30)
    finally:
        stream.close()
        stack.set_fault("none")
    lags = [deployment.value(n, "portal_poller_lag_seconds") for n in deployment.instances]
    assert all(0 <= lag < 30 for lag in lags), lags
    assert all(deployment.value(n, "portal_metrics_database_up") == 1 for n in deployment.instances)
    assert max(deployment.value(n, "portal_poller_cursor_position") for n in deployment.instances) >= 1
    deployment.figures["outbox"] = {"pending while the province was down": 1,
                                    "failed provincial calls while down": failures,
                                    "seconds to drain after recovery": round(drained, 2), "forwards": forwards,
                                    "submit_count at the province": held["submit_count"],
                                    "live update through nginx after the clerk's step (s)": round(live, 2),
                                    "poller lag per instance (s)": [round(x, 2) for x in lags]}


def test_metrics_answer_on_each_instance_and_never_through_nginx(deployment: Deployment) -> None:
    with deployment.client() as http:
        for path in ("/metrics", "/metrics/", "/%6Detrics", "//metrics"):
            through = http.get(f"{deployment.public}{path}")
            assert through.status_code == 404 and "portal_" not in through.text, path
    for name, base in deployment.instances.items():
        direct = httpx.get(f"{base}/metrics", timeout=10)
        assert direct.status_code == 200 and "portal_http_request_duration_seconds_bucket" in direct.text, name
        assert direct.headers["cache-control"] == "no-store"
        # a request a proxy forwarded is the client's, not the proxy's: refused even if nginx let it through
        forwarded = httpx.get(f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
        assert forwarded.status_code == 404 and "portal_" not in forwarded.text
        # route templates, never paths with ids in them
        routes = {lab["route"] for n, lab, _ in deployment.metrics(name)
                  if n == "portal_http_request_duration_seconds_count"}
        assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", r) for r in routes), routes


def test_one_instance_stops_and_nginx_answers_with_the_other(deployment: Deployment, person: Browser) -> None:
    stack = deployment.stack
    started = time.monotonic()
    stack.stop("bff2")
    stopped = time.monotonic() - started
    answers = [person.get(f"{deployment.public}/api/me").status_code for _ in range(10)]
    assert answers == [200] * 10, answers
    submitted = _submit(deployment, person)
    assert submitted.status_code == 201, submitted.text
    app_id = submitted.json()["id"]
    held = wait_until(lambda: stack.sandbox_application(app_id), timeout=30)
    assert held["submit_count"] == 1
    wait_until(lambda: deployment.value("bff", "portal_outbox_pending") == 0, timeout=30)
    assert deployment.value("bff", "portal_http_request_duration_seconds_count", route="/api/me",
                            status="5xx") == 0
    deployment.figures["one instance stopped"] = {"SIGTERM to exit (s)": round(stopped, 2),
                                                  "GET /api/me through nginx": answers.count(200),
                                                  "submit_count of the next application": held["submit_count"]}
