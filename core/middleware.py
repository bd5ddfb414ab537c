"""Request guards that stand in front of every view, and the Content-Security-Policy.

* ``RejectNulMiddleware``: a NUL character in the path, a query parameter or a form
  field is refused with 400 (PostgreSQL refuses NUL in text; the query would fail with
  a 500 deep in a view).
* ``BodyCapMiddleware`` (Django) and ``BodyCapASGI`` (in front of Django's ASGI handler,
  which reads the whole body to a temporary file before any middleware runs): a body
  over its cap is refused with 413 before it is read.
* ``ContentSecurityPolicyMiddleware``: one CSP header on every response.

Refusals under ``/api/`` use the API's error shape; elsewhere a plain text page.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

API_PREFIX = "/api/"
# The resumable bid upload's chunk endpoint: a chunk plus nothing else.
CHUNK_PATH = re.compile(r"^/api/bids/uploads/[^/]+/chunks/\d+/?$")
# A sealed bid in one request (multipart: the envelope, at most one chunk, and the
# sealed price sheet).
SUBMIT_PATH = re.compile(r"^/api/tenders/[^/]+/bids/?$")
# Pages and endpoints that take tender documents (multipart files).
DOCUMENT_PATHS = re.compile(r"^/(api/)?tenders/[^/]+/(documents|amendments|amend)/?$")
# Room for multipart framing and form fields around the files, and for a chunk's
# request line quirks (a chunk body itself must be exactly the chunk).
MULTIPART_OVERHEAD = 1024 * 1024
CHUNK_OVERHEAD = 64 * 1024


def _error(path: str, status: int, code: str, message: str) -> HttpResponse:
    if path.startswith(API_PREFIX):
        return JsonResponse(
            {"error": {"status": status, "code": code, "message": message}}, status=status
        )
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


# --- NUL -----------------------------------------------------------------------------


def _has_nul_query(query: str) -> bool:
    # Decoded as a browser's %00 or a raw byte; '+' is a space and cannot hide a NUL.
    return "\x00" in query or b"\x00" in unquote_to_bytes(query)


class RejectNulMiddleware:
    """400 for a NUL character in the path, the query string or a url-encoded form."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        nul = (
            "\x00" in request.path
            or "\x00" in request.path_info
            or _has_nul_query(request.META.get("QUERY_STRING", ""))
        )
        if not nul and request.content_type == "application/x-www-form-urlencoded":
            nul = any("\x00" in key or any("\x00" in v for v in values)
                      for key, values in request.POST.lists())
        if nul:
            return _error(request.path, 400, "nul_byte",
                          _("The request contains a NUL character."))
        return self.get_response(request)


class RejectNulWebsocket:
    """ASGI wrapper for websockets: a NUL in the path or query string is refused at the
    handshake (HTTP 403 from the server) before any consumer looks the id up."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and (
            "\x00" in scope.get("path", "")
            or _has_nul_query(scope.get("query_string", b"").decode("latin-1"))
        ):
            await send({"type": "websocket.close", "code": 4400})
            return
        return await self.app(scope, receive, send)


# --- body caps -----------------------------------------------------------------------


def body_cap(path: str, *, credentials: bool) -> int:
    """The largest request body accepted for ``path``, in bytes.

    A bid chunk: the upload's chunk size and a little (``BID_UPLOAD_CHUNK_BYTES`` + 64
    KiB). A bid in one request: a chunk, the price sheet (``PRICE_SHEET_MAX_BYTES``)
    and 64 KiB of multipart framing. Tender documents (pages and API):
    ``TENDER_DOCUMENT_MAX_BYTES`` and the multipart framing. Anything else:
    ``MAX_REQUEST_BODY_BYTES`` (10 MiB). Without credentials nothing is allowed more
    than ``MAX_REQUEST_BODY_BYTES``."""
    general = int(getattr(settings, "MAX_REQUEST_BODY_BYTES", 10 * 1024 * 1024))
    if CHUNK_PATH.match(path):
        special = int(getattr(settings, "BID_UPLOAD_CHUNK_BYTES", 8 * 1024 * 1024))
        special += CHUNK_OVERHEAD
    elif SUBMIT_PATH.match(path):
        special = int(getattr(settings, "BID_UPLOAD_CHUNK_BYTES", 8 * 1024 * 1024))
        special += int(getattr(settings, "PRICE_SHEET_MAX_BYTES", 64 * 1024)) + CHUNK_OVERHEAD
    elif DOCUMENT_PATHS.match(path):
        special = int(getattr(settings, "TENDER_DOCUMENT_MAX_BYTES", 200 * 1024 * 1024))
        special = max(general, special + MULTIPART_OVERHEAD)
    else:
        return general
    return special if credentials else min(general, special)


def too_large_message(cap: int) -> str:
    return _("The request body is too large (at most %(n)s bytes here).") % {"n": cap}


_too_large = too_large_message


async def send_error(send, path: str, status: int, code: str, message: str) -> None:
    """Answer an ASGI request with an error before (or instead of) reading its body:
    the API's error shape under ``/api/``, plain text elsewhere; the connection closes."""
    if path.startswith(API_PREFIX):
        body = json.dumps({"error": {"status": status, "code": code, "message": message}},
                          ensure_ascii=False).encode()
        content_type = b"application/json"
    else:
        body = message.encode()
        content_type = b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _has_credentials(authorization: str, cookie: str) -> bool:
    session_cookie = getattr(settings, "SESSION_COOKIE_NAME", "sessionid")
    return bool(authorization.strip()) or f"{session_cookie}=" in cookie


async def _credentials_valid(authorization: str, cookie: str) -> bool:
    """A live API token or a signed-in session (one indexed lookup, off the event loop)."""
    from channels.db import database_sync_to_async

    return await database_sync_to_async(_credentials_valid_sync)(authorization, cookie)


def _credentials_valid_sync(authorization: str, cookie: str) -> bool:
    from importlib import import_module

    from django.http import parse_cookie

    scheme, _sep, key = authorization.strip().partition(" ")
    if scheme.lower() == "token" and key.strip():
        from rest_framework.authtoken.models import Token

        if Token.objects.filter(key=key.strip(), user__is_active=True).exists():
            return True
    session_key = parse_cookie(cookie).get(
        getattr(settings, "SESSION_COOKIE_NAME", "sessionid"))
    if session_key:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        if store.get("_auth_user_id"):
            return True
    return False


class BodyCapMiddleware:
    """413 when ``Content-Length`` is over the path's cap (WSGI and the test client;
    under ASGI ``BodyCapASGI`` has already refused it before the body was read)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _error(request.path, 400, "bad_request", _("Bad Content-Length."))
        authorization = request.META.get("HTTP_AUTHORIZATION", "")
        cookie = request.META.get("HTTP_COOKIE", "")
        general = body_cap(request.path, credentials=False)
        cap = general
        if length > general and _has_credentials(authorization, cookie) and (
                _credentials_valid_sync(authorization, cookie)):
            cap = body_cap(request.path, credentials=True)
        if length > cap:
            return _error(request.path, 413, "request_too_large", _too_large(cap))
        return self.get_response(request)


class BodyCapASGI:
    """ASGI wrapper around Django's handler: refuse an oversized body before reading it.

    By ``Content-Length`` at once; without one (chunked transfer) while the body streams
    in: when the count passes the cap, Django is told the client went away (so it stops
    reading and answers nothing) and the 413 is sent from here."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        cookie = headers.get(b"cookie", b"").decode("latin-1")
        general = body_cap(path, credentials=False)
        cap = body_cap(path, credentials=_has_credentials(authorization, cookie))
        length = headers.get(b"content-length")
        declared = None
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return await self._refuse(send, path, 400, "bad_request", "Bad Content-Length.")
        if cap > general and (declared is None or declared > general):
            # Only a signed-in user may send more than the general cap (a document, a
            # chunk): a made-up cookie or token must not buy an anonymous client the room
            # to fill the disk, so the credentials are checked here, before the body.
            if not await _credentials_valid(authorization, cookie):
                cap = general
        if declared is not None:
            if declared > cap:
                return await self._refuse(send, path, 413, "request_too_large",
                                          _too_large(cap))
            return await self.app(scope, receive, send)

        state = {"received": 0, "over": False, "started": False}

        async def capped_receive():
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > cap:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message):
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, capped_receive, watched_send)
        if state["over"] and not state["started"]:
            await self._refuse(send, path, 413, "request_too_large", _too_large(cap))

    _refuse = staticmethod(send_error)


# --- Content-Security-Policy ---------------------------------------------------------

# Every asset is served from this origin (no CDN). Scripts only from files: no inline
# script, no eval. Styles allow inline style attributes of a few templates and of
# Swagger UI. Websockets and fetches go to this origin ('self' covers ws:/wss: of it).
DEFAULT_CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class ContentSecurityPolicyMiddleware:
    """``Content-Security-Policy`` on every response (``CONTENT_SECURITY_POLICY``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_CSP)
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
