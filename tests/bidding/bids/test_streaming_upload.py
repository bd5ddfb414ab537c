"""Chunk PUTs on the ASGI path (``bidding.bids.streaming``): the body streams to the view
instead of being received first. Driven through the real ``tradecentre.asgi``
application with a fake ``receive()``, so the refusal of an oversized body as it
arrives can be seen (how many messages were consumed), and the envelope's digest
computed while the chunks stream is checked against the bytes, also when a process
has no state for the upload (another process took the earlier chunks)."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from rest_framework.authtoken.models import Token

from bidding.bids import services as bids
from bidding.tenders import services
from tests import factories

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

CHUNK = 1536 * 1024 + 7  # more than one block of the service's reads (1 MiB)
PIECE = 100_000  # bytes per http.request message: chunks arrive in many


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.BID_UPLOAD_CHUNK_BYTES = CHUNK
    settings.EMBEDDED_CLOCK = False
    bids.upload_digests.clear()


@pytest.fixture
def app():
    from tradecentre.asgi import application

    return application


class Body:
    """A fake ASGI ``receive()`` that hands out ``data`` in ``PIECE``-byte messages
    and counts how many were taken."""

    def __init__(self, data: bytes, *, more_after: bool = False, then_wait: bool = False):
        self.pieces = [data[i:i + PIECE] for i in range(0, len(data), PIECE)] or [b""]
        self.more_after = more_after
        self.then_wait = then_wait
        self.taken = 0

    async def __call__(self):
        if self.taken >= len(self.pieces):
            if self.then_wait:  # a server: nothing more until the client goes away
                await asyncio.Event().wait()
            return {"type": "http.disconnect"}
        body = self.pieces[self.taken]
        self.taken += 1
        more = self.taken < len(self.pieces) or self.more_after
        return {"type": "http.request", "body": body, "more_body": more}


async def put(app, path, data, headers, *, receive=None, length=True):
    headers = [(k.encode(), v.encode()) for k, v in headers.items()]
    if length:
        headers.append((b"content-length", str(len(data)).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "PUT", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    receive = receive or Body(data)
    sent = []

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, (json.loads(body) if body else None), receive


@sync_to_async
def bidder_upload(plaintext_size=4_000_000):
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    services.document_obtain(user=user, tender=tender)
    blob = factories.seal_for(tender, user, b"p" * plaintext_size)
    upload = bids.bid_upload_start(user=user, tender=tender, size=len(blob),
                                   price_sheet=factories.price_sheet_for(tender, user))
    token = Token.objects.create(user=user).key
    return user, upload, blob, {"authorization": f"Token {token}"}


def chunk_of(blob, i):
    return blob[i * CHUNK:(i + 1) * CHUNK]


def url(upload, i):
    return f"/api/bids/uploads/{upload.public_id}/chunks/{i}/"


def with_sha(headers, data):
    return {**headers, "x-chunk-sha256": hashlib.sha256(data).hexdigest()}


@sync_to_async
def state(upload):
    upload.refresh_from_db()
    return upload.next_index, upload.received_bytes, len(open(
        bids._path(upload.storage_name), "rb").read())


@sync_to_async
def complete(user, upload):
    return bids.bid_upload_complete(user=user, upload_id=upload.public_id)


async def test_chunks_stream_to_the_view_and_the_digest_is_the_envelopes(app):
    user, upload, blob, auth = await bidder_upload()
    n = -(-len(blob) // CHUNK)
    for i in range(n):
        piece = chunk_of(blob, i)
        status, body, receive = await put(app, url(upload, i), piece, with_sha(auth, piece))
        assert status == 200, body
        assert receive.taken == len(receive.pieces)
        assert body["chunk_sha256"][-1] == hashlib.sha256(piece).hexdigest()
    bid = await complete(user, upload)
    assert bid.sha256 == hashlib.sha256(blob).hexdigest() == bid.receipt["sha256"]
    assert bid.size == len(blob)


async def test_the_digest_is_right_when_a_process_has_no_state_for_the_upload(app):
    """Stateless processes: chunks spread over processes (here: the state dropped
    before every other chunk, and before completion) still give the file's digest."""
    user, upload, blob, auth = await bidder_upload()
    n = -(-len(blob) // CHUNK)
    assert n >= 3
    for i in range(n):
        if i % 2:
            bids.upload_digests.clear()  # this chunk lands on a process that saw none
        piece = chunk_of(blob, i)
        status, body, _ = await put(app, url(upload, i), piece, with_sha(auth, piece))
        assert status == 200, body
    bids.upload_digests.clear()
    bid = await complete(user, upload)
    assert bid.sha256 == hashlib.sha256(blob).hexdigest()


async def test_a_stale_state_is_caught_up_from_storage(app):
    """A process whose state stopped at chunk 0 hashes only the bytes it missed."""
    user, upload, blob, auth = await bidder_upload()
    first = chunk_of(blob, 0)
    await put(app, url(upload, 0), first, with_sha(auth, first))
    stale = bids.upload_digests.take(upload.public_id)
    assert stale[0] == CHUNK
    n = -(-len(blob) // CHUNK)
    for i in range(1, n):
        piece = chunk_of(blob, i)
        await put(app, url(upload, i), piece, with_sha(auth, piece))
    bids.upload_digests.keep(upload.public_id, *stale)  # behind by n - 1 chunks
    bid = await complete(user, upload)
    assert bid.sha256 == hashlib.sha256(blob).hexdigest()


async def test_a_body_over_the_chunk_size_is_refused_as_it_arrives(app):
    """Content-Length says a chunk, but the body goes on: reading stops as soon as it
    passes the chunk size, the answer is 413, and nothing of it is kept."""
    user, upload, blob, auth = await bidder_upload()
    piece = chunk_of(blob, 0)
    endless = Body(piece * 4, more_after=True)
    status, body, receive = await put(
        app, url(upload, 0), piece, with_sha(auth, piece), receive=endless)
    assert status == 413 and body["error"]["code"] == "request_too_large", body
    assert receive.taken <= len(piece) // PIECE + 2 < len(receive.pieces)
    assert await state(upload) == (0, 0, 0)


async def test_a_declared_length_over_the_chunk_size_is_refused_before_reading(app):
    user, upload, blob, auth = await bidder_upload()
    big = b"x" * (CHUNK + 1)
    status, body, receive = await put(app, url(upload, 0), big, auth)
    assert status == 413 and body["error"]["code"] == "request_too_large"
    assert receive.taken == 0


async def test_a_chunk_without_content_length_is_refused_before_reading(app):
    user, upload, blob, auth = await bidder_upload()
    piece = chunk_of(blob, 0)
    status, body, receive = await put(app, url(upload, 0), piece, with_sha(auth, piece),
                                      length=False)
    assert status == 400 and body["error"]["fields"]["chunk"], body
    assert receive.taken == 0


async def test_an_altered_chunk_is_refused_and_nothing_is_kept(app):
    user, upload, blob, auth = await bidder_upload()
    piece = chunk_of(blob, 0)
    status, body, _ = await put(app, url(upload, 0), piece, {**auth, "x-chunk-sha256": "0" * 64})
    assert status == 400 and body["error"]["code"] == "chunk_incomplete"
    assert await state(upload) == (0, 0, 0)
    status, body, _ = await put(app, url(upload, 0), piece, with_sha(auth, piece))
    assert status == 200 and body["next_index"] == 1


async def test_a_short_body_is_refused_and_nothing_is_kept(app):
    """The client goes away half-way: the chunk is refused and cut off again."""
    user, upload, blob, auth = await bidder_upload()
    piece = chunk_of(blob, 0)
    half = Body(piece[:CHUNK // 2], more_after=True)  # then http.disconnect
    status, body, _ = await put(app, url(upload, 0), piece, with_sha(auth, piece), receive=half)
    assert status == 400 and body["error"]["code"] == "chunk_incomplete"
    assert await state(upload) == (0, 0, 0)


async def test_an_out_of_order_chunk_is_refused_before_its_body_is_read(app):
    user, upload, blob, auth = await bidder_upload()
    piece = chunk_of(blob, 1)
    status, body, receive = await put(app, url(upload, 1), piece, with_sha(auth, piece))
    assert status == 409 and body["error"]["code"] == "chunk_out_of_order"
    assert body["error"]["fields"]["next_index"] == [0]
    assert receive.taken == 0
    assert await state(upload) == (0, 0, 0)


async def test_anonymous_and_other_bidders_are_refused_on_the_streaming_path(app):
    user, upload, blob, auth = await bidder_upload()
    piece = chunk_of(blob, 0)
    status, body, receive = await put(app, url(upload, 0), piece, with_sha({}, piece))
    assert status in (401, 403) and body["error"]["code"] == "not_authenticated", body
    assert receive.taken == 0

    @sync_to_async
    def stranger():
        other = factories.bidder_with_key()
        return {"authorization": f"Token {Token.objects.create(user=other).key}"}

    status, body, receive = await put(app, url(upload, 0), piece,
                                      with_sha(await stranger(), piece))
    assert status == 404 and body["error"]["code"] == "not_found", body
    assert receive.taken == 0
    assert await state(upload) == (0, 0, 0)


async def test_a_session_without_the_csrf_token_is_refused_on_the_streaming_path(app):
    user, upload, blob, auth = await bidder_upload()

    @sync_to_async
    def session():
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        client.get("/api/notifications/")  # a CSRF cookie, as a page would have set
        return client.cookies

    cookies = await session()
    cookie = "; ".join(f"{k}={m.value}" for k, m in cookies.items())
    piece = chunk_of(blob, 0)
    status, body, receive = await put(app, url(upload, 0), piece,
                                      with_sha({"cookie": cookie}, piece))
    assert status == 403 and "CSRF" in body["error"]["message"], body
    assert receive.taken == 0
    if "csrftoken" in cookies:
        status, body, _ = await put(app, url(upload, 0), piece, with_sha(
            {"cookie": cookie, "x-csrftoken": cookies["csrftoken"].value}, piece))
        assert status == 200, body


async def test_other_requests_still_go_to_django_as_before(app):
    """Only chunk PUTs are streamed: a GET of the upload's state is Django's as ever."""
    user, upload, blob, auth = await bidder_upload()
    scope_path = f"/api/bids/uploads/{upload.public_id}/"
    headers = [(b"authorization", auth["authorization"].encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": scope_path,
             "raw_path": scope_path.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 5000),
             "server": ("testserver", 80)}
    sent = []

    async def send(message):
        sent.append(message)

    await app(scope, Body(b"", then_wait=True), send)
    assert sent[0]["status"] == 200
    assert json.loads(b"".join(m.get("body", b"") for m in sent[1:]))["next_index"] == 0
