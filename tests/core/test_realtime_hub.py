"""core.realtime: the sockets of one group in a process share one channel-layer
subscription; a broadcast is written to each of them once, in order, and a slow socket
never holds up the others. (The hall's and the evaluation room's consumers, with their
refusals, are tested through the real ASGI application in their own areas.)"""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.layers import InMemoryChannelLayer

from core import realtime
from core.realtime import GroupJsonConsumer, hall_message

pytestmark = pytest.mark.asyncio


class FakeSocket(GroupJsonConsumer):
    """A consumer whose socket is a list; ``gate`` (when set) holds its writes."""

    def __init__(self):
        super().__init__()
        self.sent: list[dict] = []
        self.gate: asyncio.Event | None = None
        self.base_send = self._socket  # what the ASGI server's send would be

    async def _socket(self, message):
        if message["type"] == "websocket.accept":
            self.sent.append({"type": "accepted"})
        elif message["type"] == "websocket.send":
            if self.gate is not None:
                await self.gate.wait()
            self.sent.append(json.loads(message["text"]))

    async def _state(self):
        return {"type": "state"}

    def seqs(self):
        return [m.get("seq") for m in self.sent if "seq" in m]


@pytest.fixture
def layer(monkeypatch):
    layer = InMemoryChannelLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: layer)
    return layer


async def _settle():
    for _ in range(20):
        await asyncio.sleep(0)


async def _broadcast(layer, group, *seqs):
    for seq in seqs:
        await layer.group_send(group, hall_message({"type": "hall.test", "seq": seq}))
    await _settle()


async def test_one_subscription_per_group_carries_every_broadcast_to_every_member(layer):
    sockets = [FakeSocket() for _ in range(3)]
    for s in sockets:
        await s.join("opening.1")
    assert len(layer.groups["opening.1"]) == 1  # one channel for the three sockets
    await _broadcast(layer, "opening.1", 1, 2)
    for s in sockets:
        assert s.sent[:2] == [{"type": "accepted"}, {"type": "state"}]
        assert s.seqs() == [1, 2]
    for s in sockets:
        await s.disconnect(1000)


async def test_a_broadcast_reaches_only_its_own_group(layer):
    a, b = FakeSocket(), FakeSocket()
    await a.join("opening.1")
    await b.join("opening.2")
    await _broadcast(layer, "opening.2", 7)
    assert a.seqs() == [] and b.seqs() == [7]
    await a.disconnect(1000)
    await b.disconnect(1000)


async def test_a_slow_socket_does_not_hold_up_the_others_and_gets_everything_in_order(layer):
    slow, fast = FakeSocket(), FakeSocket()
    await slow.join("opening.1")
    await fast.join("opening.1")
    slow.gate = asyncio.Event()  # stops reading
    await _broadcast(layer, "opening.1", 1, 2, 3)
    assert fast.seqs() == [1, 2, 3]
    assert slow.seqs() == []
    slow.gate.set()
    await _settle()
    assert slow.seqs() == [1, 2, 3]
    await _broadcast(layer, "opening.1", 4)
    assert slow.seqs() == [1, 2, 3, 4] and fast.seqs() == [1, 2, 3, 4]
    await slow.disconnect(1000)
    await fast.disconnect(1000)


async def test_broadcasts_during_a_join_follow_the_state_snapshot(layer):
    early = FakeSocket()
    await early.join("opening.1")
    late = FakeSocket()
    snapshot_taken = asyncio.Event()
    release = asyncio.Event()

    async def slow_state():
        snapshot_taken.set()
        await release.wait()
        return {"type": "state"}

    late._state = slow_state
    joining = asyncio.ensure_future(late.join("opening.1"))
    await snapshot_taken.wait()
    await _broadcast(layer, "opening.1", 1)  # while the snapshot is being read
    release.set()
    await joining
    assert [m["type"] for m in late.sent] == ["accepted", "state", "hall.test"]
    assert late.seqs() == [1]
    await early.disconnect(1000)
    await late.disconnect(1000)


async def test_the_last_socket_to_leave_ends_the_subscription(layer):
    a, b = FakeSocket(), FakeSocket()
    await a.join("opening.1")
    await b.join("opening.1")
    await a.disconnect(1000)
    assert layer.groups.get("opening.1")
    await b.disconnect(1000)
    await _settle()
    assert not layer.groups.get("opening.1")
    # A new socket gets a new subscription and its broadcasts.
    c = FakeSocket()
    await c.join("opening.1")
    await _broadcast(layer, "opening.1", 9)
    assert c.seqs() == [9]
    await c.disconnect(1000)
