"""The sandbox's SMS gateway and push service stand-ins check what they are given as the real services would."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from bff.domain.notifications.senders import PushTarget, VapidKey, encrypt
from tests.notifications.helpers import Device, sms_for
from tests.sandbox.helpers import LiveServer

KEY = {"X-Api-Key": "sandbox-sms-key"}


def test_sms_gateway(stand_in: LiveServer) -> None:
    url = f"{stand_in.url}/sms/messages"
    ok = httpx.post(url, json={"phone": "13712345678", "text": "【档案服务】测试"}, headers=KEY)
    assert ok.status_code == 202 and len(ok.json()["message_id"]) == 16
    assert [m["text"] for m in sms_for(stand_in.url, "13712345678")] == ["【档案服务】测试"]
    assert httpx.post(url, json={"phone": "13712345678", "text": "x"}).status_code == 401
    assert httpx.post(url, json={"phone": "13712345678", "text": "x"},
                      headers={"X-Api-Key": "wrong"}).status_code == 401
    for body in ({"phone": "1371234567", "text": "x"}, {"phone": "+8613712345678", "text": "x"},
                 {"phone": "13712345678", "text": "x" * 501}, {"phone": "13712345678", "text": " "}):
        r = httpx.post(url, json=body, headers=KEY)
        assert r.status_code == 422, body
        assert r.json()["code"] == "validation_error"
    assert httpx.post(url, json={"phone": "13712345678", "text": "x" * 500}, headers=KEY).status_code == 202


def _encrypted(device: Device) -> bytes:
    return encrypt(PushTarget(device.endpoint, device.p256dh, device.subscription()["keys"]["auth"]), b"{}")


def _headers(key: VapidKey, audience: str, **changes: Any) -> dict[str, str]:
    headers = {"Authorization": key.authorization(audience), "Content-Encoding": "aes128gcm", "TTL": "60"}
    headers.update(changes)
    return {k: v for k, v in headers.items() if v is not None}


@pytest.fixture
def key() -> VapidKey:
    return VapidKey(ec.generate_private_key(ec.SECP256R1()), "mailto:ops@example.invalid")


def test_push_service_takes_a_well_formed_message(stand_in: LiveServer, key: VapidKey) -> None:
    device = Device(stand_in.url)
    r = httpx.post(device.endpoint, content=_encrypted(device),
                   headers=_headers(key, stand_in.url, Urgency="high", Topic="abc123"))
    assert r.status_code == 201 and r.headers["location"].startswith("/push/messages/")
    (stored,) = device.received()
    assert (stored["ttl"], stored["urgency"], stored["topic"]) == (60, "high", "abc123")
    assert stored["claims"]["aud"] == stand_in.url and device.decrypt(stored) == {}


@pytest.mark.parametrize("problem", ["no_auth", "wrong_aud", "too_long", "expired", "wrong_k", "no_sub",
                                     "encoding", "no_ttl", "empty", "too_big", "not_ece"])
def test_push_service_refuses_what_a_real_one_would(stand_in: LiveServer, key: VapidKey, problem: str) -> None:
    device = Device(stand_in.url)
    body = _encrypted(device)
    headers = _headers(key, stand_in.url)
    now = int(time.time())
    other = VapidKey(ec.generate_private_key(ec.SECP256R1()), "mailto:x@example.invalid")

    def signed(claims: dict[str, Any]) -> str:
        return f"vapid t={jwt.encode(claims, key._key, algorithm='ES256')}, k={key.public_key}"

    expected = 401
    if problem == "no_auth":
        del headers["Authorization"]
    elif problem == "wrong_aud":
        headers = _headers(key, "https://fcm.googleapis.com")
    elif problem == "too_long":
        headers["Authorization"] = signed({"aud": stand_in.url, "exp": now + 25 * 3600, "sub": "mailto:a@b.cn"})
    elif problem == "expired":
        headers["Authorization"] = signed({"aud": stand_in.url, "exp": now - 10, "sub": "mailto:a@b.cn"})
    elif problem == "no_sub":
        headers["Authorization"] = signed({"aud": stand_in.url, "exp": now + 60})
    elif problem == "wrong_k":
        headers["Authorization"] = key.authorization(stand_in.url).replace(key.public_key, other.public_key)
    elif problem == "encoding":
        headers["Content-Encoding"], expected = "aesgcm", 415
    elif problem == "no_ttl":
        del headers["TTL"]
        expected = 400
    elif problem == "empty":
        body, expected = b"", 400
    elif problem == "too_big":
        body, expected = body + b"\0" * 4096, 413
    elif problem == "not_ece":
        body, expected = b"\0" * 200, 400
    r = httpx.post(device.endpoint, content=body, headers=headers)
    assert r.status_code == expected, r.text
    assert device.received() == []


def test_a_channel_is_bound_to_its_first_key_and_can_be_gone(stand_in: LiveServer, key: VapidKey) -> None:
    device = Device(stand_in.url)
    assert httpx.post(device.endpoint, content=_encrypted(device),
                      headers=_headers(key, stand_in.url)).status_code == 201
    other = VapidKey(ec.generate_private_key(ec.SECP256R1()), "mailto:x@example.invalid")
    assert httpx.post(device.endpoint, content=_encrypted(device),
                      headers=_headers(other, stand_in.url)).status_code == 403
    device.gone()
    assert httpx.post(device.endpoint, content=_encrypted(device),
                      headers=_headers(key, stand_in.url)).status_code == 410
    assert len(device.received()) == 1
