from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody

from auth.guards import current_principal, require_person
from bff.domain.notifications import services
from bff.domain.notifications.schemas import (
    NotificationSettings,
    PushKey,
    PushSubscriptionCreate,
    PushSubscriptionDelete,
)
from bff.domain.notifications.senders import PushSender
from bff.lib.deps import Db
from bff.lib.errors import error_responses
from bff.lib.holders import holder_of


def _push(request: Request[Any, Any, Any]) -> PushSender:
    sender: PushSender = request.app.state.push_sender
    return sender


class NotificationController(Controller):
    """A person's messages about their applications: Web Push on the devices they opt in on, and SMS."""

    path = "/api/notifications"
    tags = ["notifications"]
    guards = [require_person]

    @get("/push-key", operation_id="getPushKey", summary="The portal's VAPID public key (applicationServerKey)")
    async def push_key(self, request: Request[Any, Any, Any]) -> PushKey:
        return PushKey(public_key=_push(request).key.public_key)

    @post("/push-subscriptions", operation_id="addPushSubscription", status_code=201,
          summary="Opt in on this browser: save its push subscription; answers the settings",
          responses=error_responses(400, 422))
    async def subscribe(self, request: Request[Any, Any, Any], db: Db,
                        data: JSONBody[PushSubscriptionCreate]) -> NotificationSettings:
        holder = holder_of(current_principal(request))
        services.check_subscription(data, _push(request).extra_origins)
        await services.subscribe(db, holder, data)
        return await services.settings_for(db, holder)

    @delete("/push-subscriptions", operation_id="removePushSubscription", status_code=204,
            summary="Opt out on this browser (only the caller's own subscription)", responses=error_responses(400))
    async def unsubscribe(self, request: Request[Any, Any, Any], db: Db,
                          data: JSONBody[PushSubscriptionDelete]) -> None:
        await services.unsubscribe(db, holder_of(current_principal(request)), data.endpoint)

    @get("/settings", operation_id="getNotificationSettings",
         summary="Where messages go: the masked mobile for SMS and how many devices get pushes")
    async def settings(self, request: Request[Any, Any, Any], db: Db) -> NotificationSettings:
        return await services.settings_for(db, holder_of(current_principal(request)))
