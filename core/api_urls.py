"""Core's API routes, included under ``/api/`` by tradecentre/urls.py."""

from django.urls import path

from core.views import server_clock

urlpatterns = [
    path("clock/", server_clock, name="server-clock"),
]
