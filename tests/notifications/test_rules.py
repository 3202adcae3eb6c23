"""Unit tests: the push-service allow-list (the BFF POSTs to whatever a browser registers, so it must be a real
push service), subscription key checks, the VAPID header, and the words of each message."""

from __future__ import annotations

import base64
import os
import stat
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from bff.domain.notifications.senders import (
    PUSH_HOSTS,
    VapidKey,
    endpoint_allowed,
    endpoint_origin,
    valid_auth,
    valid_p256dh,
)
from bff.domain.notifications.texts import push_message, sms_text
from bff.settings import NotifySettings

SANDBOX = ("http://127.0.0.1:8200",)


@pytest.mark.parametrize("endpoint", [
    "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABf",
    "https://web.push.apple.com/QGuQyavXutnMbSU",
    "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB",
    "https://FCM.googleapis.com:443/fcm/send/x",
    "http://127.0.0.1:8200/push/abc",
])
def test_real_push_services_and_listed_origins_are_allowed(endpoint: str) -> None:
    assert endpoint_allowed(endpoint, SANDBOX)


@pytest.mark.parametrize("endpoint", [
    "http://fcm.googleapis.com/fcm/send/x",  # not https
    "https://fcm.googleapis.com:8443/fcm/send/x",  # another port
    "https://fcm.googleapis.com.evil.example/x",
    "https://evil.example/fcm.googleapis.com/x",
    "https://user@fcm.googleapis.com/x",
    "https://fcm.googleapis.com@evil.example/x",
    "https://notify.windows.com/w/",  # the suffix alone is not a host of the service
    "https://evil.example/.notify.windows.com",
    "https://a_b.notify.windows.com/w/",
    "https://fcm.googleapis.com./x",
    "https://169.254.169.254/latest/meta-data",
    "http://127.0.0.1:8201/push/abc",  # the listed origin is one port only
    "http://localhost:8200/push/abc",
    "https://fcm.googleapis.com/x#frag",
    "https://fcm.googleapis.com/x y",
    "https://fcm.googleapis.com\\@evil.example/x",
    "javascript:alert(1)",
    "",
    "https://fcm.googleapis.com/" + "x" * 1000,
])
def test_anything_else_is_refused(endpoint: str) -> None:
    assert not endpoint_allowed(endpoint, SANDBOX)


def test_no_extra_origin_means_only_the_push_services() -> None:
    assert not endpoint_allowed("http://127.0.0.1:8200/push/abc", ())
    assert endpoint_allowed("http://127.0.0.1:8200/push/abc", ("HTTP://127.0.0.1:8200/",))


@given(st.from_regex(r"[a-z0-9]{1,12}(\.[a-z0-9]{1,12}){0,3}", fullmatch=True), st.text(max_size=40))
def test_hosts_off_the_list_are_never_allowed(host: str, path: str) -> None:
    if host in PUSH_HOSTS or host.endswith(".notify.windows.com"):
        return
    assert not endpoint_allowed(f"https://{host}/{path}")


@given(st.sampled_from(sorted(PUSH_HOSTS)), st.from_regex(r"[A-Za-z0-9_:/-]{0,80}", fullmatch=True))
def test_listed_hosts_are_allowed_with_any_plain_path(host: str, path: str) -> None:
    assert endpoint_allowed(f"https://{host}/{path}")
    assert endpoint_origin(f"https://{host}/{path}") == f"https://{host}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_subscription_keys_must_be_a_p256_point_and_16_bytes() -> None:
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert valid_p256dh(_b64(point)) and valid_p256dh(_b64(point) + "=")
    assert not valid_p256dh(_b64(point[:-1]))
    assert not valid_p256dh(_b64(b"\x04" + b"\x01" * 64))  # not on the curve
    assert not valid_p256dh(base64.b64encode(point).decode().replace("_", "/") + "+")
    assert valid_auth(_b64(os.urandom(16)))
    assert not valid_auth(_b64(os.urandom(15))) and not valid_auth("not base64!")


def test_vapid_header_is_an_es256_token_for_the_push_origin(tmp_path: Path) -> None:
    key = VapidKey.load_or_create(tmp_path / "vapid" / "private.pem", "mailto:ops@example.invalid", generate=True)
    assert stat.S_IMODE((tmp_path / "vapid" / "private.pem").stat().st_mode) == 0o600
    again = VapidKey.load_or_create(tmp_path / "vapid" / "private.pem", "mailto:ops@example.invalid", generate=True)
    assert again.public_key == key.public_key  # generated once, then kept
    raw = base64.urlsafe_b64decode(key.public_key + "==")
    assert len(raw) == 65 and raw[0] == 4  # what PushManager.subscribe takes as applicationServerKey

    header = key.authorization("https://fcm.googleapis.com")
    scheme, _, params = header.partition(" ")
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert scheme == "vapid" and parts["k"] == key.public_key
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    claims = jwt.decode(parts["t"], public, algorithms=["ES256"], audience="https://fcm.googleapis.com")
    assert claims["sub"] == "mailto:ops@example.invalid"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    with pytest.raises(FileNotFoundError):
        VapidKey.load_or_create(tmp_path / "missing.pem", "mailto:ops@example.invalid", generate=False)


def test_settings_default_to_the_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SMS_GATEWAY_URL", "SMS_API_KEY", "VAPID_PRIVATE_KEY_FILE", "VAPID_SUBJECT", "PUSH_EXTRA_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    settings = NotifySettings.from_env(tmp_path)
    assert settings.sms_gateway_url == "http://127.0.0.1:8200/sms" and settings.sms_api_key == "sandbox-sms-key"
    assert settings.vapid_key_file == tmp_path / "vapid" / "private.pem" and settings.vapid_key_generate
    assert settings.push_extra_origins == ("http://127.0.0.1:8200",)
    assert "sandbox-sms-key" not in repr(settings)
    monkeypatch.setenv("PUSH_EXTRA_ORIGINS", "https://push.example.cn, http://10.0.0.5:9000/")
    monkeypatch.setenv("VAPID_PRIVATE_KEY_FILE", "/run/secrets/vapid.pem")
    settings = NotifySettings.from_env(tmp_path)
    assert settings.push_extra_origins == ("https://push.example.cn", "http://10.0.0.5:9000")
    assert settings.vapid_key_file == Path("/run/secrets/vapid.pem") and not settings.vapid_key_generate


def test_sms_text() -> None:
    assert sms_text("archive_transfer", "SQ20261121ABCD", "sent") == (
        "【档案服务】您的档案转递申请（SQ20261121ABCD）状态更新：档案已转出。请登录档案服务查看详情。")
    assert sms_text("archive_certificate", "SQ1", "certificate_issued") == (
        "【档案服务】您的存档证明申请（SQ1）状态更新：电子证明已签发。请登录档案服务查看详情。")
    assert "申请已办结" in sms_text("archive_transfer", "SQ1", "completed")  # a transfer's own wording
    assert "已办结" in sms_text("archive_certificate", "SQ1", "completed")
    assert "some_new_step" in sms_text("archive_transfer", "SQ1", "some_new_step")  # never fails on a new status
    assert len(sms_text("archive_transfer", "SQ" + "9" * 22, "return_confirmed")) <= 70  # one SMS segment


def test_push_message() -> None:
    assert push_message("0b5c", "archive_transfer", "SQ2026X", "sent") == {
        "title": "档案转递 · 档案已转出", "body": "申请编号 SQ2026X，点按查看详情", "url": "/applications/0b5c",
        "tag": "0b5c"}
