"""The ASGI path of a bid's bytes, streamed: a chunk (``PUT /api/bids/uploads/{id}/
chunks/{i}/``) and a bid in one request (``POST /api/tenders/{id}/bids/``).

Django's ASGI handler receives a request's whole body (into a temporary file) before
any middleware or view runs. For a 32 MiB chunk that means the bytes are copied
once before the view sees them, then read back, and a body over the chunk size is
only refused after all of it came in. ``ChunkStreaming`` routes exactly these two
to ``StreamingChunkHandler``, which is our handler (``core.handlers``: the same middleware,
session and CSRF checks, DRF's token and session authentication, the view, the
policies and the API's error shape, all unchanged) except that the request's body is
a ``ReceiveStream``: the view's ``request.read()`` pulls the bytes from the server as
they arrive, so ``bids.bid_upload_chunk`` (or the one-request submission's multipart
parser, into ``bids.EnvelopeSink``) writes and hashes them while they stream.

Before anything is read, a ``Content-Length`` over the route's limit (a chunk: the
chunk size; one request: ``core.middleware.body_cap``) is refused (413,
``request_too_large``); while reading, the stream stops at that size (or the declared
length, if smaller) and the answer is the same 413, whatever the view made of the
short body (it keeps nothing of it). Nothing here holds state between requests: any
web process can take any chunk of any upload.
"""

from __future__ import annotations

import asyncio
import re

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.handlers.asgi import get_script_prefix
from django.urls import set_script_prefix
from django.utils.translation import gettext as _

from core.handlers import SyncChainASGIHandler
from core.middleware import body_cap, send_error, too_large_message

CHUNK_PUT = re.compile(r"^/api/bids/uploads/[^/]+/chunks/\d+/$")
SUBMIT_POST = re.compile(r"^/api/tenders/[^/]+/bids/$")
#: The most a pull hands the view at once (the service reads 1 MiB blocks).
PULL_BYTES = 1024 * 1024


def chunk_limit() -> int:
    """The largest chunk body accepted (``BID_UPLOAD_CHUNK_BYTES``)."""
    return int(settings.BID_UPLOAD_CHUNK_BYTES)


def streamed_limit(method: str, path: str) -> int | None:
    """The body limit of a streamed route, or None for a request Django receives."""
    if method == "PUT" and CHUNK_PUT.match(path):
        return chunk_limit()
    if method == "POST" and SUBMIT_POST.match(path):
        return body_cap(path, credentials=True)
    return None


class ReceiveStream:
    """A request body read from ASGI ``receive()`` as the view asks for it.

    ``read()`` runs in the view's thread and waits for the event loop to deliver up to
    ``n`` bytes. At most ``limit`` bytes are ever accepted: a message that passes it
    marks the stream ``over``, is dropped, and nothing more is received (the caller
    answers 413). A disconnect ends the stream (``disconnected``); the view then sees
    a short body and refuses it."""

    def __init__(self, receive, loop: asyncio.AbstractEventLoop, limit: int,
                 declared: int | None = None):
        self._receive = receive
        self._loop = loop
        self.limit = limit
        self._declared = declared
        self.received = 0
        self.over = False
        self.disconnected = False
        self._done = False
        self._pending = b""

    async def _pull(self, n: int) -> bytes:
        parts = []
        got = 0
        if self._pending:
            parts.append(self._pending[:n])
            got = len(parts[0])
            self._pending = self._pending[n:]
        while got < n and not self._done:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.disconnected = self._done = True
                break
            body = message.get("body", b"")
            if not message.get("more_body", False):
                self._done = True
            if self.received + len(body) > self.limit:
                self.over = self._done = True
                break
            self.received += len(body)
            if got + len(body) > n:
                self._pending = body[n - got:]
                body = body[:n - got]
            parts.append(body)
            got += len(body)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            chunks = []
            while block := self.read(PULL_BYTES):
                chunks.append(block)
            return b"".join(chunks)
        if n == 0 or (self._done and not self._pending):
            return b""
        return asyncio.run_coroutine_threadsafe(
            self._pull(min(n, PULL_BYTES)), self._loop).result()

    @property
    def intact(self) -> bool:
        """Whether the whole body came, as declared: not cut off, not over the limit."""
        return self._done and not self.over and not self.disconnected and (
            self._declared is None or self.received == self._declared)

    def readline(self, *args) -> bytes:  # Django's request API; not used for chunks
        return self.read()

    def close(self) -> None:
        self._done = True
        self._pending = b""


class StreamingChunkHandler(SyncChainASGIHandler):
    """Our ASGI handler (``core.handlers``) with the body streamed to the view (see the
    module)."""

    async def handle(self, scope, receive, send):
        path = scope.get("path", "")
        limit = streamed_limit(scope.get("method", ""), path) or chunk_limit()
        declared = None
        for name, value in scope.get("headers", []):
            if name.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_error(send, path, 400, "bad_request", _("Bad Content-Length."))
                    return
        if declared is not None and declared > limit:
            await send_error(send, path, 413, "request_too_large", too_large_message(limit))
            return
        body = ReceiveStream(receive, asyncio.get_running_loop(),
                             limit if declared is None else declared, declared)
        set_script_prefix(get_script_prefix(scope))
        await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body)
        if request is None:
            await self.send_response(error_response, send)
            await sync_to_async(error_response.close)()
            return
        response = await self.run_get_response(request)
        if body.over:
            await sync_to_async(response.close)()
            await send_error(send, path, 413, "request_too_large", too_large_message(limit))
            return
        try:
            await self.send_response(response, send)
        finally:
            await sync_to_async(response.close)()
            body.close()


class ChunkStreaming:
    """Send chunk PUTs and one-request bids to ``StreamingChunkHandler``, everything
    else to ``app``."""

    def __init__(self, app, handler: StreamingChunkHandler | None = None):
        self.app = app
        self._handler = handler

    @property
    def handler(self) -> StreamingChunkHandler:
        if self._handler is None:
            self._handler = StreamingChunkHandler()
        return self._handler

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and streamed_limit(
                scope.get("method", ""), scope.get("path", "")) is not None:
            return await self.handler(scope, receive, send)
        return await self.app(scope, receive, send)
