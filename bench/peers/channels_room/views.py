"""The publisher's endpoint: POST /rooms/<room>/publish {"body": ...} sends to the room's group."""

import json

from channels.layers import get_channel_layer
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
async def publish(request: HttpRequest, room: str) -> HttpResponse:
    body = json.loads(request.body)["body"]
    await get_channel_layer().group_send(room, {"type": "room.message", "body": body})
    return JsonResponse({"ok": True})
