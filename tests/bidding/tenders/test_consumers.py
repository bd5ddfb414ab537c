"""The tender status feed over websockets."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from tests import factories
from tradecentre.routing import websocket_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))


async def test_a_watcher_gets_the_state_on_connect_and_every_change():
    tender = await sync_to_async(factories.published_tender)()
    ws = WebsocketCommunicator(application, f"/ws/tenders/{tender.pk}/")
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


async def test_a_draft_feed_is_refused_to_strangers():
    tender = await sync_to_async(factories.draft_tender)()
    ws = WebsocketCommunicator(application, f"/ws/tenders/{tender.pk}/")
    connected, code = await ws.connect()
    assert not connected and code == 4404


async def test_an_unknown_tender_feed_is_refused():
    ws = WebsocketCommunicator(application, "/ws/tenders/987654/")
    connected, code = await ws.connect()
    assert not connected and code == 4404


async def test_an_unknown_message_type_gets_an_error_message():
    tender = await sync_to_async(factories.published_tender)()
    ws = WebsocketCommunicator(application, f"/ws/tenders/{tender.pk}/")
    await ws.connect()
    await ws.receive_json_from()
    await ws.send_json_to({"type": "hack"})
    assert (await ws.receive_json_from())["type"] == "error"
    await ws.disconnect()
