"""Core's own endpoints."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from core import timefmt


@require_GET
def server_clock(request):
    """``GET /api/clock/`` -> ``{"now": "2026-12-07T09:30:00.123456+08:00"}``: the
    server's clock (ISO 8601 with the offset, the centre's zone), for countdowns that
    must not trust the browser's clock. Public, never cached."""
    response = JsonResponse({"now": timefmt.now_iso(), "zone": timefmt.centre_zone().key})
    response["Cache-Control"] = "no-store"
    return response
