"""The evaluation room's websocket through the real ASGI application (Origin check,
session cookie, the consumer): who may watch, the snapshot on connect, a broadcast on
every change, never a score, and resuming after a lost connection."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from bidding.evaluation import selectors, services
from tests import factories
from tests.bidding.evaluation.helpers import elect, formed, run_stage, score_entries
from tests.bidding.evaluation.room_helpers import (
    seed_specialties,
    session_cookie_of,
    verified_api,
    verified_client,
)
from tests.bidding.tenders.test_consumers import ORIGIN, _application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _setup(transactional_db, settings, tmp_path):
    seed_specialties()
    settings.EMBEDDED_CLOCK = False
    settings.PLATFORM_AT_REST_KEY_FILE = str(tmp_path / "at_rest_keys.json")
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "file"


@sync_to_async
def _cookie(user, enrolled=True):
    return session_cookie_of(verified_client(user, enrolled=enrolled))


async def room_ws(committee, user=None, *, enrolled=True):
    headers = [(b"host", b"localhost"), (b"origin", ORIGIN.encode())]
    if user is not None:
        cookie = f"{django_settings.SESSION_COOKIE_NAME}={await _cookie(user, enrolled)}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(_application(),
                                 f"/ws/tenders/{committee.tender_id}/evaluation/",
                                 headers=headers)


async def close_code(ws) -> int:
    connected, _ = await ws.connect()
    assert connected
    message = await ws.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message["code"]


@sync_to_async
def _formed(**kw):
    committee, users, bidders, backups = formed(**kw)
    return elect(committee, users), users, bidders


@sync_to_async
def _progress(committee):
    committee.refresh_from_db()
    return json.loads(json.dumps(selectors.progress(committee)))


async def test_a_member_gets_the_progress_snapshot_on_connect():
    committee, users, _ = await _formed()
    ws = await room_ws(committee, users[1])
    connected, _ = await ws.connect()
    assert connected
    first = await ws.receive_json_from(timeout=5)
    assert first["type"] == "evaluation.progress" and first["kind"] == "state"
    assert first["progress"] == await _progress(committee)
    assert [m["label"] for m in first["progress"]["members"]][:2] == ["M1", "M2"]
    await ws.disconnect()


async def test_the_chair_and_the_trading_centre_may_watch():
    committee, users, _ = await _formed()
    for user in (users[0], await sync_to_async(factories.operator)()):
        ws = await room_ws(committee, user)
        connected, _ = await ws.connect()
        assert connected
        assert (await ws.receive_json_from(timeout=5))["type"] == "evaluation.progress"
        await ws.disconnect()


async def test_everyone_else_is_refused_with_4403():
    committee, users, bidders = await _formed()
    owner = await sync_to_async(lambda: committee.tender.created_by)()
    outsiders = [None, bidders[0], owner,
                 await sync_to_async(factories.expert)(),
                 await sync_to_async(factories.supervisor)()]
    for user in outsiders:
        assert await close_code(await room_ws(committee, user)) == 4403, user
    # A member signed in with a password only.
    assert await close_code(await room_ws(committee, users[1], enrolled=False)) == 4403


async def test_an_unknown_tender_is_refused_the_same_way():
    committee, users, _ = await _formed()
    headers = [(b"host", b"localhost"), (b"origin", ORIGIN.encode()),
               (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}="
                           f"{await _cookie(users[0])}".encode())]
    ws = WebsocketCommunicator(_application(), "/ws/tenders/999999/evaluation/",
                               headers=headers)
    assert await close_code(ws) == 4403


async def test_a_replaced_member_is_refused():
    committee, users, _ = await _formed(backups=1, backups_confirmed=1)

    @sync_to_async
    def replace():
        from expert_pool.models import DrawMember

        seat = DrawMember.objects.filter(draw=committee.draw, status="confirmed").exclude(
            expert__user__in=users).get()
        services.member_replace(committee=committee, user=factories.operator(),
                                member=committee.members.get(user=users[3]), reason="回避",
                                replacement_seat=seat)

    await replace()
    assert await close_code(await room_ws(committee, users[3])) == 4403


async def test_every_change_is_broadcast_to_the_room_without_scores():
    committee, users, _ = await _formed()
    committee = await sync_to_async(run_stage)(committee, users, "qualification")
    chair = await room_ws(committee, users[0])
    await chair.connect()
    await chair.receive_json_from(timeout=5)
    operator = await room_ws(committee, await sync_to_async(factories.operator)())
    await operator.connect()
    await operator.receive_json_from(timeout=5)

    entries = await sync_to_async(score_entries)(committee, "technical", value="7.77")
    await sync_to_async(services.sheet_save_draft)(committee=committee, user=users[2],
                                                   stage="technical", entries=entries)
    for ws in (chair, operator):
        raw = await ws.receive_from(timeout=5)
        msg = json.loads(raw)
        assert msg["kind"] == "draft_saved" and msg["stage"] == "technical"
        m3 = next(m for m in msg["progress"]["members"] if m["label"] == "M3")
        assert m3["stages"]["technical"] == "draft"
        assert "7.77" not in raw

    await sync_to_async(services.sheet_submit)(committee=committee, user=users[2],
                                               stage="technical")
    msg = await chair.receive_json_from(timeout=5)
    assert msg["kind"] == "submitted"
    assert msg["progress"]["counts"]["technical"]["submitted"] == 1
    await chair.disconnect()
    await operator.disconnect()


async def test_after_a_lost_connection_the_same_snapshot_and_the_draft_are_there():
    committee, users, _ = await _formed()
    committee = await sync_to_async(run_stage)(committee, users, "qualification")
    entries = await sync_to_async(score_entries)(committee, "technical", value="8.50")
    api = await sync_to_async(verified_api)(users[1])
    url = f"/api/tenders/{committee.tender_id}/evaluation/sheets/technical/"
    saved = (await sync_to_async(api.put)(url, {"entries": entries}, format="json")).json()

    ws = await room_ws(committee, users[1])
    await ws.connect()
    before = await ws.receive_json_from(timeout=5)
    await ws.disconnect()  # the connection drops

    again = await room_ws(committee, users[1])
    connected, _ = await again.connect()
    assert connected
    after = await again.receive_json_from(timeout=5)
    assert after["progress"] == before["progress"]
    assert after["progress"]["members"][1]["stages"]["technical"] == "draft"
    resumed = (await sync_to_async(api.get)(url)).json()
    assert resumed["entries"] == saved["entries"] == entries
    assert resumed["saved_at"] == saved["saved_at"]
    await again.send_json_to({"type": "state"})
    assert (await again.receive_json_from(timeout=5))["progress"] == after["progress"]
    await again.disconnect()


async def test_ping_and_unknown_messages():
    committee, users, _ = await _formed()
    ws = await room_ws(committee, users[1])
    await ws.connect()
    await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"type": "ping"})
    assert (await ws.receive_json_from(timeout=5))["type"] == "pong"
    await ws.send_json_to({"type": "lock"})
    assert (await ws.receive_json_from(timeout=5))["code"] == "unknown_type"
    await ws.send_to(text_data="not json")
    assert (await ws.receive_json_from(timeout=5))["type"] == "error"
    await ws.disconnect()
