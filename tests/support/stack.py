"""The whole system as separate processes on loopback: sandbox SSO, sandbox provincial system and the BFF.

Everything talks real HTTP, exactly as in ``make run``; only ports and data directories differ."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import free_port, stop_process, wait_for_port

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    database_url: str | None = None
    redis_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="stack-")))
    portal_port: int = field(default_factory=free_port)
    sso_port: int = field(default_factory=free_port)
    provincial_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def portal(self) -> str:
        return f"http://127.0.0.1:{self.portal_port}"

    @property
    def sso(self) -> str:
        return f"http://127.0.0.1:{self.sso_port}"

    @property
    def provincial(self) -> str:
        return f"http://127.0.0.1:{self.provincial_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "SANDBOX_", "DATABASE_", "REDIS_"))}
        env.update({
            "PYTHONPATH": str(REPO),
            "BFF_PORT": str(self.portal_port),
            "DATA_DIR": str(self.base / "bff"),
            "PKI_DIR": str(self.base / "pki"),
            "WEB_DIST": str(REPO / "web" / "dist"),
            "OIDC_ISSUER": self.sso,
            "PROVINCIAL_API_URL": f"{self.provincial}/api",
            "POLL_INTERVAL": "0.5",
            "RELAY_INTERVAL": "0.5",
            "RELAY_RETRY_BASE_SECONDS": "0.5",
            "RELAY_RETRY_CAP_SECONDS": "2",
            "PROVINCIAL_TIMEOUT": "3",
            "SANDBOX_SSO_PORT": str(self.sso_port),
            "SANDBOX_PROVINCIAL_PORT": str(self.provincial_port),
            "SANDBOX_SSO_ISSUER": self.sso,
            "SANDBOX_PORTAL_URL": self.portal,
            "SANDBOX_DATA_DIR": str(self.base / "sandbox"),
            "SMS_GATEWAY_URL": f"{self.provincial}/sms",
            "PUSH_EXTRA_ORIGINS": self.provincial,
            "SIGNING_TSA_URL": f"{self.provincial}/tsa",  # certificates are PAdES B-T, stamped by the sandbox TSA
            "LOG_LEVEL": "INFO",
        })
        # The suites sign in, submit and upload as a handful of people, all from 127.0.0.1, far faster than anyone
        # would; these limits are tested in tests/security/ instead. The public pages keep production's limits.
        env.update({f"RATE_LIMIT_{name}": "100000/60" for name in
                    ("SIGN_IN", "SUBMIT", "SUBMIT_UNIT", "SUBMIT_ADDRESS", "UPLOAD", "UPLOAD_ADDRESS")})
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, args: list[str], port: int, env: dict[str, str] | None = None) -> None:
        log = open(self.base / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen([sys.executable, *args], cwd=REPO, env={**self.env(), **(env or {})},
                                            stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, timeout=60)
        except TimeoutError:
            raise RuntimeError(f"{name} did not start:\n{self.log(name)[-4000:]}") from None

    def log(self, name: str) -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> Stack:
        subprocess.run([sys.executable, "-m", "sandbox.pki", "init", str(self.base / "pki")], cwd=REPO,
                       env=self.env(), check=True, capture_output=True)
        self._spawn("sso", ["-m", "sandbox.sso"], self.sso_port)
        self._spawn("provincial", ["-m", "sandbox.provincial"], self.provincial_port)
        subprocess.run([sys.executable, "-m", "bff", "migrate"], cwd=REPO, env=self.env(), check=True,
                       capture_output=True)
        self.start_bff()
        return self

    def start_bff(self) -> None:
        self._spawn("bff", ["-m", "bff", "serve"], self.portal_port)

    def start_second_bff(self, name: str = "bff2", **env: str) -> str:
        """Another instance on the same database and store, as behind a load balancer; returns its address."""
        port = free_port()
        self._spawn(name, ["-m", "bff", "serve"], port,
                    env={"BFF_PORT": str(port), "PUBLIC_BASE_URL": self.portal, **env})
        return f"http://127.0.0.1:{port}"

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            stop_process(proc, sig)

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    # -- the sandbox's own levers -------------------------------------------------------------------------
    def set_fault(self, mode: str, delay_seconds: float = 0) -> None:
        httpx.put(f"{self.provincial}/sandbox/faults", json={"mode": mode, "delay_seconds": delay_seconds},
                  timeout=10).raise_for_status()

    def load(self) -> dict[str, int]:
        """The sandbox's load meter: ``/api/`` calls in flight now, the most at once since the reset, served."""
        return dict(httpx.get(f"{self.provincial}/sandbox/load", timeout=10).json())

    def reset_load(self) -> None:
        httpx.put(f"{self.provincial}/sandbox/load/reset", timeout=10).raise_for_status()

    def clerk(self, application_id: str, action: str, reason: str | None = None, *, method: str | None = None,
              tracking_no: str | None = None, letter_no: str | None = None, occurred_at: str | None = None) -> None:
        """A clerk's step at the sandbox (accept, complete, refuse; issue_letter, cannot_receive, send, cannot_send,
        receive, return, confirm_return). ``send`` defaults to 机要通信 with a made-up 机要编号."""
        if action == "send":
            method = method or "confidential"
            tracking_no = tracking_no or "JY" + application_id.replace("-", "")[:12].upper()
        fields = {"reason": reason, "method": method, "tracking_no": tracking_no, "letter_no": letter_no,
                  "occurred_at": occurred_at}
        body = {k: v for k, v in fields.items() if v} or None
        httpx.post(f"{self.provincial}/sandbox/applications/{application_id}/{action}", json=body,
                   timeout=10).raise_for_status()

    def window_transfer(self, id_number: str, target_agency_code: str, target_nature: str = "2",
                        unit: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
        """A transfer taken at the receiving agency's window (it reaches the portal as an ``accepted`` change)."""
        body = {"id_type": "01", "id_number": id_number, "target_agency_code": target_agency_code,
                "target_nature": target_nature, "unit": unit, **extra}
        response = httpx.post(f"{self.provincial}/sandbox/window-transfers", json=body, timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def set_auto_advance(self, enabled: bool, interval_seconds: float | None = None) -> None:
        body: dict[str, Any] = {"enabled": enabled}
        if interval_seconds is not None:
            body["interval_seconds"] = interval_seconds
        httpx.put(f"{self.provincial}/sandbox/auto-advance", json=body, timeout=10).raise_for_status()

    def sandbox_application(self, application_id: str) -> dict[str, Any] | None:
        r = httpx.get(f"{self.provincial}/sandbox/applications/{application_id}", timeout=10)
        return None if r.status_code == 404 else dict(r.json())


def wait_until(predicate: Any, timeout: float = 15.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last: {last!r})")
