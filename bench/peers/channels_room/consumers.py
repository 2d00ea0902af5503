"""A room member: joins the room's group on connect and forwards every message to its socket."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer


class RoomConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "subscribed", "stream": self.group}))

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def room_message(self, event: dict[str, str]) -> None:
        await self.send(text_data=json.dumps({"type": "event", "body": event["body"]}))
