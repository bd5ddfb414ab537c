"""Under ASGI the middleware chain and the view run synchronously: a request crosses to
a worker thread a fixed few times (Django's request_started receivers, the chain with
the view, closing the response), not once more per middleware hook
(core.handlers.SyncChainASGIHandler)."""

from __future__ import annotations

import asyncio

import asgiref.sync
import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler

from core.handlers import SyncChainASGIHandler

#: request_started's receivers, the chain (middleware and view), closing the response.
FIXED = 3


def _thread_crossings(monkeypatch) -> list:
    made = []
    original = asgiref.sync.SyncToAsync.__init__

    def counting(self, func, *args, **kwargs):
        made.append(getattr(func, "__qualname__", repr(func)))
        original(self, func, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__init__", counting)
    return made


def _get_clock(app) -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/api/clock/",
             "raw_path": b"/api/clock/", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 5000),
             "server": ("testserver", 80)}
    sent = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # a server: nothing more until the client goes

    async def send(message):
        sent.append(message)

    async_to_sync(app)(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.mark.django_db(transaction=True)
def test_an_asgi_request_crosses_threads_a_fixed_few_times_not_per_middleware_hook(
        monkeypatch, settings):
    settings.EMBEDDED_CLOCK = False
    app = SyncChainASGIHandler()
    made = _thread_crossings(monkeypatch)
    assert _get_clock(app) == 200
    assert len(made) <= FIXED, made
    assert not any(m.endswith((".process_request", ".process_response")) for m in made)


@pytest.mark.django_db(transaction=True)
def test_with_djangos_own_handler_every_hook_crosses(monkeypatch, settings):
    # The test above can fail: Django's stock handler crosses per hook.
    settings.EMBEDDED_CLOCK = False
    app = ASGIHandler()
    made = _thread_crossings(monkeypatch)
    assert _get_clock(app) == 200
    assert len(made) >= FIXED + 10, made


def test_the_application_serves_http_with_this_handler():
    from tradecentre import asgi

    assert isinstance(asgi.django_asgi_app, SyncChainASGIHandler)
