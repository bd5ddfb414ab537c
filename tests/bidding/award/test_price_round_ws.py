"""The price round in the opening hall's websocket: a client that (re)connects during the
round gets the round's snapshot in ``hall.state`` (no price before the close), through the
real ASGI application with a session cookie."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async

from bidding.award import decision, price_round
from core import clock
from tests.bidding.award.helpers import separate_tender
from tests.bidding.award.test_price_round import _data_key, _seal
from tests.bidding.tenders.test_consumers import communicator

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _real_asgi(settings):
    settings.EMBEDDED_CLOCK = False


@sync_to_async
def _round_with_one_offer():
    tender, users, bids, members, now = separate_tender("price_competition")
    rnd = decision.price_competition_start(user=tender.created_by, tender=tender,
                                           deadline=now + timedelta(days=2),
                                           window_minutes=30, now=now)
    sheet = _seal(tender, users[0], "9100000.00")
    price_round.price_offer_submit(user=users[0], tender=tender, sheet=sheet, now=now)
    rnd.sha = rnd.offers.get().sha256
    return tender, users, bids, rnd, sheet


@sync_to_async
def _close(tender, users, rnd, sheet):
    clock.tick(now=rnd.deadline)
    rnd.refresh_from_db()
    price_round.price_offer_decrypt(user=users[0], tender=tender,
                                    price_sheet_key=_data_key(users[0], sheet),
                                    now=rnd.deadline)
    clock.tick(now=rnd.window_ends_at)


async def _snapshot(tender, user):
    ws = await communicator(f"/ws/openings/{tender.pk}/", user)
    ok, _ = await ws.connect()
    assert ok
    state = await ws.receive_json_from(timeout=5)
    await ws.disconnect()
    return state


async def test_reconnecting_during_the_price_round_sends_its_snapshot_without_prices():
    tender, users, bids, rnd, sheet = await _round_with_one_offer()
    first = await _snapshot(tender, users[0])
    again = await _snapshot(tender, users[0])  # a reconnect: the same snapshot again
    for state in (first, again):
        assert state["type"] == "hall.state"
        pr = state["price_round"]
        assert pr["phase"] == "sealing" and pr["envelope_id"] == f"{tender.reference}/price-round"
        assert pr["counters"]["offers"] == 1 and pr["result"] is None
        assert pr["you"]["sha256"] == rnd.sha
        assert "9100000" not in str(state)
    other = await _snapshot(tender, users[1])
    assert other["price_round"]["you"] is None  # another candidate sees only the counters

    await _close(tender, users, rnd, sheet)
    closed = (await _snapshot(tender, users[1]))["price_round"]
    assert closed["phase"] == "closed"
    assert closed["result"]["winner"] == str(bids[0].public_id)
    assert closed["result"]["price"] == "9100000.00"


async def test_a_hall_without_a_price_round_has_no_price_round_part():
    tender, users, bids, members, now = await sync_to_async(separate_tender)(
        "price_competition")
    state = await _snapshot(tender, users[0])
    assert state["type"] == "hall.state" and "price_round" not in state
