"""Live updates: each change to a person's application is published on their channel (in-process, or Redis
pub/sub so any instance can serve any person) and streamed to open PWAs as Server-Sent Events."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Controller, Request, get
from litestar.channels import ChannelsPlugin
from litestar.response import ServerSentEvent, ServerSentEventMessage

from auth.guards import current_principal, require_person

HEARTBEAT_SECONDS = 15.0


def channel_for(owner_sub: str) -> str:
    return "person:" + hashlib.sha256(owner_sub.encode()).hexdigest()[:32]


def publish_application_change(channels: ChannelsPlugin, owner_sub: str, application_id: str, status: str) -> None:
    channels.publish(json.dumps({"id": application_id, "status": status}), channels=[channel_for(owner_sub)])


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
    guards = [require_person]

    @get("/", operation_id="streamEvents", summary="Server-Sent Events for the person's applications")
    async def stream(self, request: Request[Any, Any, Any]) -> ServerSentEvent:
        channels: ChannelsPlugin = request.app.state.channels
        principal = current_principal(request)
        return ServerSentEvent(_stream(channels, channel_for(principal.sub)),
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
