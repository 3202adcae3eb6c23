"""Request and response bodies of /api/notifications."""

from __future__ import annotations

import msgspec


class PushKey(msgspec.Struct):
    """The portal's VAPID public key: base64url of the uncompressed P-256 point (``applicationServerKey``)."""

    public_key: str


class PushKeys(msgspec.Struct, forbid_unknown_fields=True):
    p256dh: str
    auth: str


class PushSubscriptionCreate(msgspec.Struct, forbid_unknown_fields=False):
    """What ``PushSubscription.toJSON()`` gives (``expirationTime`` and the like are ignored)."""

    endpoint: str
    keys: PushKeys


class PushSubscriptionDelete(msgspec.Struct, forbid_unknown_fields=True):
    endpoint: str


class NotificationSettings(msgspec.Struct):
    """Where messages go: the masked mobile of the newest application (or null), and how many devices get pushes."""

    sms_phone_masked: str | None
    push_devices: int
