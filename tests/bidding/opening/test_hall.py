"""The opening hall over websockets and REST: who enters, what each role sees, every
message type and every refusal, reconnection. Websockets go through the real ASGI
application: the Origin check, the session cookie of a signed-in user, the consumer."""

import pytest
import time_machine
from asgiref.sync import sync_to_async

from core import tasks
from tests import factories
from tests.bidding.opening.test_services import custodian_share, data_keys
from tests.bidding.tenders.test_consumers import close_code_of, communicator
from tests.conftest import api_as

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _real_asgi(settings):
    # Importing the application starts the embedded clock unless it is off.
    settings.EMBEDDED_CLOCK = False


async def connect(tender, user=None):
    """Enter the hall as ``user`` (signed in through its session cookie) or anonymously."""
    ws = await communicator(f"/ws/openings/{tender.pk}/", user)
    ok, code = await ws.connect()
    return ws, ok, code


async def refused_with(tender_id, user=None) -> int:
    return await close_code_of(await communicator(f"/ws/openings/{tender_id}/", user))


@sync_to_async
def _setup(announce_mode="as_decrypted", public=True, fallback="custodians"):
    tender = factories.published_tender(announce_mode=announce_mode, public_opening=public,
                                        decryption_fallback=fallback)
    users = [factories.bidder_with_key() for _ in range(3)]
    bids = [factories.submit_bid(tender, u) for u in users]
    from bidding.tenders.models import Tender

    tender = Tender.objects.select_related("created_by").get(pk=tender.pk)
    return tender, users, bids


@sync_to_async
def _start(tender):
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()


async def _drain(ws, until_type, limit=20):
    for _ in range(limit):
        msg = await ws.receive_json_from(timeout=5)
        if msg["type"] == until_type:
            return msg
    raise AssertionError(f"no {until_type}")


async def test_before_the_deadline_the_hall_reveals_nothing_about_bids():
    tender, users, bids = await _setup()
    ws, ok, _ = await connect(tender)
    assert ok
    state = await ws.receive_json_from()
    assert state["phase"] == "waiting" and state["role"] == "public"
    assert "bidders" not in state and "counters" not in state
    await ws.disconnect()
    ws, ok, _ = await connect(tender, users[0])
    state = await ws.receive_json_from()
    assert state["role"] == "bidder" and state["you"]["signed_in"] is False
    await ws.send_json_to({"type": "signin"})
    assert (await ws.receive_json_from())["type"] == "ok"
    await ws.send_json_to({"type": "state"})
    assert (await ws.receive_json_from())["you"]["signed_in"] is True
    await ws.disconnect()


async def test_a_private_opening_refuses_the_public_and_strangers():
    tender, users, bids = await _setup(public=False)
    for user in (None, await sync_to_async(factories.bidder_with_key)(),
                 await sync_to_async(factories.tenderer)()):
        assert await refused_with(tender.pk, user) == 4403
    ws, ok, _ = await connect(tender, await sync_to_async(factories.supervisor)())
    assert ok and (await ws.receive_json_from())["role"] in ("observer", "custodian")
    await ws.disconnect()


async def test_an_unknown_or_draft_tender_hall_is_refused():
    draft = await sync_to_async(factories.draft_tender)()
    for tender_id in (draft.pk, 424242, "nonsense"):
        assert await refused_with(tender_id) == 4403


@pytest.mark.parametrize("origin", ["http://evil.example", None])
async def test_a_foreign_or_missing_origin_never_enters_the_hall(origin):
    tender, users, bids = await _setup()
    ws = await communicator(f"/ws/openings/{tender.pk}/", users[0], origin=origin)
    ok, _code = await ws.connect()
    assert not ok


async def test_without_a_session_a_bidder_is_only_the_public():
    tender, users, bids = await _setup(public=False)
    assert await refused_with(tender.pk) == 4403
    ws, ok, _ = await connect(tender, users[0])
    assert ok and (await ws.receive_json_from())["role"] == "bidder"
    await ws.disconnect()


async def test_decryption_is_announced_live_to_every_participant():
    tender, users, bids = await _setup()
    await _start(tender)
    public, *_ = await connect(tender)
    host, *_ = await connect(tender, tender.created_by)
    bidder, *_ = await connect(tender, users[0])
    for ws in (public, host, bidder):
        state = await ws.receive_json_from()
        assert state["phase"] == "decrypting" and state["announced"] == []
        assert state["counters"]["bids"] == 3
    keys = await sync_to_async(data_keys)(bids[0], users[0])
    await bidder.send_json_to({"type": "decrypt", "bid_key": keys[0], "price_sheet_key": keys[1]})
    seen = [await bidder.receive_json_from(timeout=5) for _ in range(2)]
    assert sorted(m["type"] for m in seen) == ["hall.announce", "ok"]
    for ws in (public, host):
        event = await _drain(ws, "hall.announce")
        assert event["bid"]["bidder"] == users[0].organisation.name
        assert event["bid"]["price_sheet"]["total_price"] == "9500000.00"
        assert event["counters"]["decrypted"] == 1
    for ws in (public, host, bidder):
        await ws.disconnect()


async def test_prices_stay_hidden_until_the_window_closes_when_announced_at_close():
    tender, users, bids = await _setup(announce_mode="at_close")
    await _start(tender)
    public, *_ = await connect(tender)
    await public.receive_json_from()
    bidder, *_ = await connect(tender, users[0])
    await bidder.receive_json_from()
    keys = await sync_to_async(data_keys)(bids[0], users[0])
    await bidder.send_json_to({"type": "decrypt", "bid_key": keys[0], "price_sheet_key": keys[1]})
    counters = await _drain(public, "hall.counters")
    assert counters["counters"]["decrypted"] == 1 and "bid" not in counters
    await public.send_json_to({"type": "state"})
    state = await _drain(public, "hall.state")
    assert state["announced"] == []
    await public.disconnect()
    await bidder.disconnect()


async def test_every_refusal_answers_only_the_sender_with_a_code():
    tender, users, bids = await _setup()
    await _start(tender)
    public, *_ = await connect(tender)
    await public.receive_json_from()
    bidder, *_ = await connect(tender, users[0])
    await bidder.receive_json_from()
    host, *_ = await connect(tender, tender.created_by)
    await host.receive_json_from()
    cases = [
        (public, {"type": "decrypt", "bid_key": "00" * 32, "price_sheet_key": "00" * 32},
         "permission_denied"),
        (bidder, {"type": "decrypt", "bid_key": "00" * 32, "price_sheet_key": "00" * 32},
         "wrong_key"),
        (bidder, {"type": "decrypt", "bid_key": "short", "price_sheet_key": "x"}, "bad_key"),
        (bidder, {"type": "share", "share": {}}, "not_custodian_phase"),
        (bidder, {"type": "confirm"}, "not_confirming"),
        (bidder, {"type": "objection", "text": ""}, "empty"),
        (bidder, {"type": "answer", "objection": 1, "answer": "x"}, "permission_denied"),
        (host, {"type": "objection", "text": "x"}, "permission_denied"),
        (host, {"type": "answer", "objection": 99999, "answer": "x"}, "not_found"),
        (bidder, {"type": "nonsense"}, "unknown_type"),
        (bidder, ["not", "an", "object"], "unknown_type"),
        (bidder, {"type": "objection", "text": 123}, "invalid"),
        (bidder, {"type": "objection"}, "invalid"),
        (host, {"type": "answer", "objection": "abc", "answer": "x"}, "invalid"),
        (host, {"type": "answer", "objection": 1}, "invalid"),
        (bidder, {"type": "decrypt", "bid_key": 5, "price_sheet_key": []}, "invalid"),
        (bidder, {"type": "share", "share": "text"}, "invalid"),
        (bidder, {"type": "confirm", "remark": {"a": 1}}, "invalid"),
    ]
    for ws, message, code in cases:
        await ws.send_json_to(message)
        reply = await ws.receive_json_from(timeout=5)
        assert reply["type"] == "error" and reply["code"] == code, (message, reply)
        assert reply["message"]
    for text in ("not json", "[" * 50_000, '{"type": "objection", "text": "\\u0000"}'):
        await bidder.send_to(text_data=text)
        reply = await bidder.receive_json_from(timeout=5)
        assert reply["type"] == "error" and reply["code"] in (
            "parse_error", "too_deep", "nul_byte"), reply
    await bidder.send_json_to({"type": "ping"})
    assert (await bidder.receive_json_from())["type"] == "pong"
    for ws in (public, bidder, host):
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()


async def test_objection_answer_and_confirmation_reach_everyone():
    tender, users, bids = await _setup()
    await _start(tender)
    bidder, *_ = await connect(tender, users[0])
    await bidder.receive_json_from()
    host, *_ = await connect(tender, tender.created_by)
    await host.receive_json_from()
    await bidder.send_json_to({"type": "objection", "text": "报价单有误"})
    event = await _drain(host, "hall.objection")
    assert event["text"] == "报价单有误" and event["answer"] == ""
    await host.send_json_to({"type": "answer", "objection": event["id"], "answer": "已记录"})
    answered = await _drain(bidder, "hall.answer")
    assert answered["answer"] == "已记录" and answered["answered_at"]
    await bidder.disconnect()
    await host.disconnect()


async def test_custodians_contribute_shares_in_the_hall():
    tender, users, bids = await _setup()
    await _start(tender)

    @sync_to_async
    def close_window():
        with time_machine.travel(tender.opening.window_ends_at, tick=False):
            tasks.clock_tick()

    await close_window()
    custodians = await sync_to_async(
        lambda: [s.custodian for s in tender.key_shares.select_related("custodian")])()
    observer, *_ = await connect(tender)
    state = await observer.receive_json_from()
    assert state["phase"] == "custodians" and state["counters"]["pending"] == 3
    for custodian in custodians[:2]:
        ws, ok, _ = await connect(tender, custodian)
        assert (await ws.receive_json_from())["role"] == "custodian"
        share = await sync_to_async(custodian_share)(tender, custodian)
        await ws.send_json_to({"type": "share", "share": share})
        assert (await _drain(ws, "ok"))["action"] == "share"
        await ws.disconnect()
    announced = [await _drain(observer, "hall.announce") for _ in range(3)]
    assert {a["bid"]["decrypted_by"] for a in announced} == {"custodians"}
    assert (await _drain(observer, "hall.phase"))["phase"] == "confirming"
    await observer.disconnect()


async def test_a_reconnecting_client_gets_the_full_state_again():
    tender, users, bids = await _setup()
    await _start(tender)
    bidder, *_ = await connect(tender, users[1])
    await bidder.receive_json_from()
    keys = await sync_to_async(data_keys)(bids[1], users[1])
    await bidder.send_json_to({"type": "decrypt", "bid_key": keys[0], "price_sheet_key": keys[1]})
    await _drain(bidder, "ok")
    await bidder.disconnect()
    again, *_ = await connect(tender, users[1])
    state = await again.receive_json_from()
    assert state["you"]["bid_status"] == "decrypted"
    assert [a["bidder"] for a in state["announced"]] == [users[1].organisation.name]
    await again.disconnect()


@pytest.mark.asyncio
async def test_the_rest_api_mirrors_the_hall():
    tender, users, bids = await _setup()
    await _start(tender)

    @sync_to_async
    def rest_flow():
        client = api_as(users[2])
        keys = data_keys(bids[2], users[2])
        headers = client.get(f"/api/tenders/{tender.pk}/bids/mine/headers/").json()
        assert headers["sha256"] == bids[2].sha256
        r = client.post(f"/api/tenders/{tender.pk}/opening/decrypt/",
                        {"bid_key": keys[0], "price_sheet_key": keys[1]}, format="json")
        assert r.status_code == 200, r.content
        assert r.json()["you"]["bid_status"] == "decrypted"
        r = client.post(f"/api/tenders/{tender.pk}/opening/decrypt/",
                        {"bid_key": keys[0], "price_sheet_key": keys[1]}, format="json")
        assert r.status_code == 400 and r.json()["error"]["code"] == "already_decrypted"
        proof = client.get(f"/api/tenders/{tender.pk}/opening/proof/").json()
        from crypto import merkle

        state = client.get(f"/api/tenders/{tender.pk}/opening/").json()
        assert merkle.verify_inclusion(proof, root_hex=state["merkle"]["root"],
                                       size=state["merkle"]["size"])
        r = api_as(factories.tenderer()).post(f"/api/tenders/{tender.pk}/opening/confirm/")
        assert r.status_code == 403

    await rest_flow()
