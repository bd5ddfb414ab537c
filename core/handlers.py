"""The ASGI handler for Django's HTTP side: the middleware chain and the view run
synchronously, in one thread crossing per request.

Django's ``ASGIHandler`` builds its chain in async mode. Our middleware and views are
synchronous, so each sync middleware was adapted on its own: every ``process_request``
and ``process_response`` hook crossed to a worker thread and back, and the view crossed
again. ``SyncChainASGIHandler`` builds the chain in sync mode, as the WSGI handler
does, and runs ``get_response`` (chain and view) in one crossing; Django still runs its
``request_started`` receivers and ``response.close()`` (``request_finished``, which
returns the request's database connection) in the same per-request thread, as
``ThreadSensitiveContext`` arranges. An async view or middleware would be adapted the
other way (there is none). Nothing is kept between requests: any process takes any
request.

Three crossings per request instead of five (``tests/core/test_middleware_chain.py``).
In A/B deadline-rush bursts it moved nothing measurable (README, "Benchmarks"); it is
kept as the simpler mechanism."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse


class SyncChainASGIHandler(ASGIHandler):
    """``ASGIHandler`` with a synchronous middleware chain (see the module)."""

    def __init__(self):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def run_get_response(self, request):
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__
        # As Django's: larger blocks for files (the ASGI server chunks them anyway).
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response


def get_asgi_application() -> SyncChainASGIHandler:
    """``django.core.asgi.get_asgi_application`` with ``SyncChainASGIHandler``."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
