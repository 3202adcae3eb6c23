"""Live updates: each change to a person's application is published on their channel (in-process, or Redis
pub/sub so any instance can serve any person) and streamed to open PWAs as Server-Sent Events. A unit's HR
gets a channel of its own, told when a request naming the unit comes or goes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Controller, Request, get
from litestar.channels import ChannelsPlugin
from litestar.exceptions import PermissionDeniedException
from litestar.response import ServerSentEvent, ServerSentEventMessage

from auth.guards import current_principal
from bff.lib.holders import holder_key

HEARTBEAT_SECONDS = 15.0


def channel_for(holder: str) -> str:
    """The channel of one holder (``Application.holder_key``)."""
    return "person:" + holder[:32]


def unit_channel(uscc: str) -> str:
    return "unit:" + hashlib.sha256(uscc.encode()).hexdigest()[:32]


def publish_application_change(channels: ChannelsPlugin, holder: str, application_id: str, status: str) -> None:
    channels.publish(json.dumps({"id": application_id, "status": status}), channels=[channel_for(holder)])


def publish_unit_change(channels: ChannelsPlugin, uscc: str) -> None:
    channels.publish(json.dumps({"unit": True}), channels=[unit_channel(uscc)])


async def _stream(channels: ChannelsPlugin, channel: str) -> AsyncGenerator[ServerSentEventMessage, None]:
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=100)
    async with channels.start_subscription([channel]) as subscriber, subscriber.run_in_background(queue.put):
        yield ServerSentEventMessage(comment="connected")
        while True:
            try:
                data = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            yield ServerSentEventMessage(data=data.decode(), event="application")


class EventsController(Controller):
    path = "/api/events"
    tags = ["events"]

    @get("/", operation_id="streamEvents", summary="Server-Sent Events of my applications or my unit's requests",
         media_type="text/event-stream")
    async def stream(self, request: Request[Any, Any, Any]) -> ServerSentEvent:
        channels: ChannelsPlugin = request.app.state.channels
        principal = current_principal(request)
        if principal.role == "employer" and principal.uscc:
            channel = unit_channel(principal.uscc)
        elif principal.id_type and principal.id_number:
            channel = channel_for(holder_key(principal.id_type, principal.id_number))
        else:
            raise PermissionDeniedException()
        return ServerSentEvent(_stream(channels, channel),
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
