"""ASGI entry point: Django for HTTP, Channels for /ws/<room>."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peers.channels_room.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

django_application = get_asgi_application()

from bench.peers.channels_room.consumers import RoomConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": URLRouter([path("ws/<str:room>", RoomConsumer.as_asgi())]),
    }
)
