"""Stand-ins for the two message services the portal talks to: an SMS gateway and a Web Push service.

Both only record what they are given (in memory, per app), after checking it as the real services would:
the SMS gateway its API key, the phone number and the length; the push service the VAPID ``Authorization``
header (RFC 8292: an ES256 JWT for this origin, signed by ``k``, expiring within 24 h), ``Content-Encoding:
aes128gcm`` with a well-formed RFC 8188 header, ``TTL`` and the 4096-byte limit. ``/sandbox/…`` lets tests read
what arrived and make a push channel answer 410 Gone (the browser unsubscribed).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from sandbox.common import env_str, now_china
from sandbox.provincial.errors import ApiError

SMS_API_KEY_ENV = "SANDBOX_SMS_API_KEY"
SMS_API_KEY_DEFAULT = "sandbox-sms-key"
PHONE = re.compile(r"^1\d{10}$")
TEXT_MAX = 500
PUSH_BODY_MAX = 4096
VAPID_MAX_LIFETIME = 24 * 3600
URGENCIES = {"very-low", "low", "normal", "high"}
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
CHANNEL = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


class SmsIn(msgspec.Struct, forbid_unknown_fields=True):
    phone: str
    text: str


class SmsAccepted(msgspec.Struct):
    message_id: str


class SmsRecord(msgspec.Struct):
    message_id: str
    phone: str
    text: str
    received_at: str


class PushRecord(msgspec.Struct):
    message_id: str
    body_b64: str
    claims: dict[str, Any]
    public_key: str
    ttl: int
    urgency: str
    topic: str | None
    received_at: str


@dataclass
class MessageBox:
    sms: list[SmsRecord] = field(default_factory=list)
    push: dict[str, list[PushRecord]] = field(default_factory=dict)
    push_keys: dict[str, str] = field(default_factory=dict)  # the VAPID key a channel was first used with
    gone: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _box(request: Request[Any, Any, Any]) -> MessageBox:
    box: MessageBox = request.app.state.setdefault("message_box", MessageBox())
    return box


def _b64url_decode(value: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", value):
        raise ValueError("not base64url")
    stripped = value.rstrip("=")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- SMS --------------------------------------------------------------------------------------------------------

@post("/sms/messages", operation_id="smsSend", status_code=202, tags=["messages"])
async def sms_send(request: Request[Any, Any, Any], data: JSONBody[SmsIn]) -> SmsAccepted:
    """Takes one SMS (``X-Api-Key`` required): 202 ``{"message_id"}``; it is recorded, never sent."""
    expected = env_str(SMS_API_KEY_ENV, SMS_API_KEY_DEFAULT)
    if not secrets.compare_digest(request.headers.get("x-api-key", "").encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "短信网关密钥不正确")
    if not PHONE.match(data.phone):
        raise ApiError(422, "validation_error", "手机号码应为11位数字", "phone")
    if not data.text.strip() or len(data.text) > TEXT_MAX:
        raise ApiError(422, "validation_error", f"短信内容不能为空，且不能超过{TEXT_MAX}个字", "text")
    record = SmsRecord(message_id=secrets.token_hex(8), phone=data.phone, text=data.text,
                       received_at=now_china().isoformat())
    box = _box(request)
    with box.lock:
        box.sms.append(record)
    return SmsAccepted(message_id=record.message_id)


@get("/sandbox/sms", operation_id="sandboxListSms", tags=["sandbox"])
async def sms_list(request: Request[Any, Any, Any], phone: FromQuery[str | None] = None) -> list[SmsRecord]:
    """The SMS taken so far (oldest first), for one phone when ``phone`` is given."""
    box = _box(request)
    with box.lock:
        return [m for m in box.sms if phone is None or m.phone == phone]


# -- Web Push ---------------------------------------------------------------------------------------------------

def _own_origin(request: Request[Any, Any, Any]) -> str:
    url = request.url
    default = {"http": 80, "https": 443}.get(url.scheme)
    host = (url.hostname or "").lower()
    return f"{url.scheme}://{host}" if url.port in (None, default) else f"{url.scheme}://{host}:{url.port}"


def _vapid(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], str]:
    """Checks ``Authorization: vapid t=<JWT>, k=<key>``; returns the claims and ``k``."""
    header = request.headers.get("authorization", "")
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "vapid":
        raise ApiError(401, "unauthorized", "缺少 VAPID 认证信息")
    parts: dict[str, str] = {}
    for item in params.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            parts[name.strip().lower()] = value.strip()
    token, key = parts.get("t", ""), parts.get("k", "")
    try:
        raw = _b64url_decode(key)
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except (ValueError, binascii.Error) as exc:
        raise ApiError(401, "unauthorized", "VAPID 公钥（k）格式不正确") from exc
    if len(raw) != 65:
        raise ApiError(401, "unauthorized", "VAPID 公钥（k）应为未压缩的 P-256 公钥")
    try:
        claims: dict[str, Any] = jwt.decode(token, public_key, algorithms=["ES256"], audience=_own_origin(request),
                                            options={"require": ["aud", "exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise ApiError(401, "unauthorized", f"VAPID 令牌无效：{type(exc).__name__}") from exc
    if claims["exp"] > time.time() + VAPID_MAX_LIFETIME + 60:
        raise ApiError(401, "unauthorized", "VAPID 令牌有效期不能超过24小时")
    sub = str(claims["sub"])
    if not (sub.startswith("mailto:") or sub.startswith("https://")):
        raise ApiError(401, "unauthorized", "VAPID 令牌的 sub 应为 mailto: 或 https: 地址")
    return claims, _b64url(raw)


def _check_body(body: bytes) -> None:
    """RFC 8188 header: salt (16) | record size (4) | key id length (1) | key id (65: the sender's public key)."""
    if not body:
        raise ApiError(400, "bad_request", "推送内容为空")
    if len(body) > PUSH_BODY_MAX:
        raise ApiError(413, "too_large", f"推送内容不能超过{PUSH_BODY_MAX}字节")
    if len(body) < 21 + 65 + 17 or body[20] != 65 or body[21] != 4:
        raise ApiError(400, "bad_request", "推送内容不是有效的 aes128gcm 格式")
    if int.from_bytes(body[16:20], "big") < 18:
        raise ApiError(400, "bad_request", "aes128gcm 记录大小不正确")


@post("/push/{channel:str}", operation_id="pushSend", status_code=201, tags=["messages"],
      request_max_body_size=64 * 1024)
async def push_send(request: Request[Any, Any, Any], channel: FromPath[str]) -> Response[None]:
    """Takes one Web Push message (RFC 8030/8291/8292): 201 with ``Location``; 410 once the channel is gone."""
    if not CHANNEL.match(channel):
        raise ApiError(404, "not_found", "没有这个推送通道")
    box = _box(request)
    if channel in box.gone:
        raise ApiError(410, "gone", "该推送订阅已失效")
    claims, key = _vapid(request)
    if request.headers.get("content-encoding", "").lower() != "aes128gcm":
        raise ApiError(415, "unsupported_encoding", "Content-Encoding 应为 aes128gcm")
    ttl_text = request.headers.get("ttl", "")
    if not ttl_text.isdigit():
        raise ApiError(400, "bad_request", "缺少 TTL 头，或其值不是非负整数")
    urgency = request.headers.get("urgency", "normal").lower()
    if urgency not in URGENCIES:
        raise ApiError(400, "bad_request", "Urgency 的取值不正确")
    topic = request.headers.get("topic")
    if topic is not None and not TOPIC.match(topic):
        raise ApiError(400, "bad_request", "Topic 应为不超过32个字符的 base64url 字符串")
    body = await request.body()
    _check_body(body)
    record = PushRecord(message_id=secrets.token_hex(8), body_b64=_b64url(body), claims=claims, public_key=key,
                        ttl=int(ttl_text), urgency=urgency, topic=topic, received_at=now_china().isoformat())
    with box.lock:
        first_key = box.push_keys.setdefault(channel, key)
        if first_key != key:
            raise ApiError(403, "forbidden", "VAPID 公钥与订阅时的 applicationServerKey 不一致")
        box.push.setdefault(channel, []).append(record)
    return Response(None, status_code=201, headers={"Location": f"/push/messages/{record.message_id}"})


@get("/sandbox/push/{channel:str}", operation_id="sandboxListPush", tags=["sandbox"])
async def push_list(request: Request[Any, Any, Any], channel: FromPath[str]) -> list[PushRecord]:
    """The messages pushed to a channel (oldest first): each body (base64url, still encrypted) and its claims."""
    box = _box(request)
    with box.lock:
        return list(box.push.get(channel, []))


@post("/sandbox/push/{channel:str}/gone", operation_id="sandboxPushGone", status_code=204, tags=["sandbox"])
async def push_gone(request: Request[Any, Any, Any], channel: FromPath[str]) -> None:
    """From now on pushes to this channel answer 410 Gone, as when the browser dropped the subscription."""
    box = _box(request)
    with box.lock:
        box.gone.add(channel)


messages_router = Router(path="/", route_handlers=[sms_send, sms_list, push_send, push_list, push_gone])
