"""Minimal Django settings: no database, no middleware beyond what an API view needs."""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-only")
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.peers.channels_room.urls"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
ASGI_APPLICATION = "bench.peers.channels_room.asgi.application"
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")],
            "prefix": os.environ.get("REDIS_PREFIX", "channels-bench:"),
        },
    }
}
