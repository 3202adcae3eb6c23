"""Switchable faults; the switch, /healthz, /sandbox and the console keep working whatever is switched on."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.helpers import application_body


def set_fault(api: httpx.Client, mode: str, delay: float = 0) -> None:
    response = httpx.put(f"{api.base_url}/sandbox/faults", json={"mode": mode, "delay_seconds": delay})
    assert response.status_code == 200 and response.json() == {"mode": mode, "delay_seconds": delay}


def test_down(api: httpx.Client) -> None:
    set_fault(api, "down")
    for response in (
        api.get("/api/agencies"),
        api.post("/api/archives/lookup", json={}),
        httpx.get(f"{api.base_url}/api/agencies"),
    ):  # even without a token
        assert response.status_code == 503
        assert response.json() == {
            "code": "unavailable",
            "message": "省级系统暂时无法提供服务，请稍后再试",
            "field": None,
        }
    base = str(api.base_url)
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert httpx.get(f"{base}/").status_code == 200
    assert httpx.get(f"{base}/sandbox/faults").json()["mode"] == "down"
    set_fault(api, "none")
    assert api.get("/api/agencies").status_code == 200


def test_error(api: httpx.Client) -> None:
    set_fault(api, "error")
    response = api.get("/api/agencies")
    assert response.status_code == 500 and response.json()["code"] == "internal_error"


def test_slow(api: httpx.Client) -> None:
    set_fault(api, "slow", 0.4)
    started = time.monotonic()
    assert api.get("/api/agencies").status_code == 200
    assert time.monotonic() - started >= 0.4


def test_timeout_after_commit(api: httpx.Client) -> None:
    body = application_body()
    application_id = body["application_id"]
    set_fault(api, "timeout_after_commit", 1.5)
    with pytest.raises(httpx.ReadTimeout):
        api.post("/api/applications", json=body, headers={"Idempotency-Key": application_id}, timeout=0.5)
    # the application was stored before the stall: a client checks before it sends again
    state = api.get(f"/api/applications/{application_id}")
    assert state.status_code == 200 and state.json()["status"] == "submitted"
    set_fault(api, "none")
    again = api.post("/api/applications", json=body, headers={"Idempotency-Key": application_id})
    assert again.status_code == 200 and again.json()["case_no"] == state.json()["case_no"]
    held = httpx.get(f"{api.base_url}/sandbox/applications/{application_id}").json()
    assert held["submit_count"] == 2


def test_bad_fault_settings(api: httpx.Client) -> None:
    base = str(api.base_url)
    bad_mode = httpx.put(f"{base}/sandbox/faults", json={"mode": "explode"})
    assert bad_mode.status_code == 422 and bad_mode.json()["field"] == "mode"
    bad_delay = httpx.put(f"{base}/sandbox/faults", json={"mode": "slow", "delay_seconds": -1})
    assert bad_delay.status_code == 400 and bad_delay.json()["field"] == "delay_seconds"
