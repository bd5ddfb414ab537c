"""Under ASGI the middleware chain runs synchronously: a request crosses to a worker
thread a fixed few times (the chain, the view, Django's own signal, view hook and
close), not once more per middleware hook (core.middleware.SyncChainMiddleware)."""

from __future__ import annotations

import asgiref.sync
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

#: Django's own crossings with a synchronous chain: request_started, the chain, the
#: view middleware (CSRF's process_view), the view, and closing the response.
FIXED = 5


def _thread_crossings(monkeypatch) -> list:
    made = []
    original = asgiref.sync.SyncToAsync.__init__

    def counting(self, func, *args, **kwargs):
        made.append(getattr(func, "__qualname__", repr(func)))
        original(self, func, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__init__", counting)
    return made


def _get_clock() -> int:
    async def get():
        return (await AsyncClient().get("/api/clock/")).status_code

    return async_to_sync(get)()


@pytest.mark.django_db
def test_an_asgi_request_crosses_threads_a_fixed_few_times_not_per_middleware_hook(monkeypatch):
    _get_clock()  # the first request builds the chain
    made = _thread_crossings(monkeypatch)
    assert _get_clock() == 200
    assert len(made) <= FIXED, made
    assert not any(m.endswith((".process_request", ".process_response")) for m in made)


@pytest.mark.django_db
def test_without_the_sync_boundary_every_hook_crosses(monkeypatch, settings):
    # The test above can fail: drop the boundary and the crossings multiply.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE
                           if m != "core.middleware.SyncChainMiddleware"]
    _get_clock()
    made = _thread_crossings(monkeypatch)
    assert _get_clock() == 200
    assert len(made) >= FIXED + 10, made
