"""The tender status feed over websockets, through the real ASGI application: the Origin
check (``AllowedHostsOriginValidator``), the session cookie, then the consumer."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = "http://localhost"


@pytest.fixture(autouse=True)
def _real_asgi(settings):
    # Importing the application starts the embedded clock unless it is off.
    settings.EMBEDDED_CLOCK = False


def _application():
    from tradecentre.asgi import application

    return application


@sync_to_async
def session_cookie(user) -> str:
    """Sign in as a browser would and return the session cookie's value."""
    client = Client()
    client.force_login(user)
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


async def communicator(path: str, user=None, origin: str | None = ORIGIN):
    """A websocket client going through ``tradecentre.asgi.application`` with a real
    session cookie (``user`` signed in) and an ``Origin`` header (None: no header)."""
    headers = [(b"host", b"localhost")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if user is not None:
        cookie = f"{django_settings.SESSION_COOKIE_NAME}={await session_cookie(user)}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(_application(), path, headers=headers)


async def close_code_of(ws) -> int:
    """The close code a refused client sees: accepted, then closed with the code."""
    connected, _ = await ws.connect()
    assert connected, "a refusal must accept first so that the close code reaches the client"
    message = await ws.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message["code"]


async def test_a_watcher_gets_the_state_on_connect_and_every_change():
    tender = await sync_to_async(factories.published_tender)()
    ws = await communicator(f"/ws/tenders/{tender.pk}/")
    connected, _ = await ws.connect()
    assert connected
    first = await ws.receive_json_from()
    assert first["type"] == "tender.state" and first["status"] == "published"

    def close_bidding():
        Tender.objects.filter(pk=tender.pk).update(deadline=timezone.now() - timedelta(seconds=1))
        lifecycle.advance_by_clock()

    await sync_to_async(close_bidding)()
    update = await ws.receive_json_from(timeout=5)
    assert update["status"] == "bidding_closed"
    await ws.send_json_to({"type": "ping"})
    assert (await ws.receive_json_from())["type"] == "pong"
    await ws.disconnect()


async def test_a_draft_feed_is_refused_to_strangers_with_4404():
    tender = await sync_to_async(factories.draft_tender)()
    stranger = await sync_to_async(factories.tenderer)()
    for user in (None, stranger):
        assert await close_code_of(await communicator(f"/ws/tenders/{tender.pk}/", user)) == 4404


async def test_a_draft_feed_is_open_to_its_owner_through_the_session_cookie():
    owner = await sync_to_async(factories.tenderer)()
    tender = await sync_to_async(factories.draft_tender)(user=owner)
    ws = await communicator(f"/ws/tenders/{tender.pk}/", owner)
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_json_from())["status"] == "draft"
    await ws.disconnect()


async def test_an_unknown_tender_feed_is_refused_with_4404():
    assert await close_code_of(await communicator("/ws/tenders/987654/")) == 4404


@pytest.mark.parametrize("origin", ["http://evil.example", None])
async def test_a_foreign_or_missing_origin_is_refused_at_the_handshake(origin):
    """AllowedHostsOriginValidator refuses before the consumer runs: the socket is never
    accepted (a real server answers the handshake with HTTP 403)."""
    tender = await sync_to_async(factories.published_tender)()
    ws = await communicator(f"/ws/tenders/{tender.pk}/", origin=origin)
    connected, _code = await ws.connect()
    assert not connected


async def test_an_unknown_or_malformed_message_gets_an_error_message():
    tender = await sync_to_async(factories.published_tender)()
    ws = await communicator(f"/ws/tenders/{tender.pk}/")
    await ws.connect()
    await ws.receive_json_from()
    for text in ('{"type": "hack"}', "[1, 2]", "not json", "[" * 50_000, '"\\u0000"'):
        await ws.send_to(text_data=text)
        reply = await ws.receive_json_from()
        assert reply["type"] == "error" and reply["code"] and reply["message"], text
    await ws.send_json_to({"type": "ping"})
    assert (await ws.receive_json_from())["type"] == "pong"
    await ws.disconnect()


async def test_a_nul_in_the_feed_path_is_refused_at_the_handshake():
    ws = await communicator("/ws/tenders/GGZY\x00/")
    connected, _code = await ws.connect()
    assert not connected
