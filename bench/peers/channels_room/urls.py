from django.urls import path

from bench.peers.channels_room.views import publish

urlpatterns = [path("rooms/<str:room>/publish", publish)]
