"""The evaluation room's websocket consumer: thin. It authenticates in connect(), reads
the progress snapshot through ``selectors.progress`` and forwards the broadcasts of
``realtime``; nothing lives in the socket, so a reconnecting client simply gets the
snapshot again."""

from __future__ import annotations

from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404
from rest_framework.exceptions import ParseError

from accounts.policies import is_operator, two_factor_verified
from core.parsers import loads

from .models import Committee
from .policies import access_evaluation
from .realtime import evaluation_group, progress_event


class RoomRefused(Exception):
    pass


def room_watcher(user, session, tender_id) -> Committee:
    """The committee whose progress ``user`` may watch live: an active member of it (the
    chair included) or a trading-centre operator, signed in with two factors. Anyone
    else, and a tender with no committee, is refused the same way."""
    if not getattr(user, "is_authenticated", False):
        raise RoomRefused
    if not two_factor_verified(SimpleNamespace(user=user, session=session, auth=None)):
        raise RoomRefused
    try:
        _tender, committee, member = access_evaluation(user, tender_id)
    except Http404:
        raise RoomRefused from None
    if committee is None:
        raise RoomRefused
    if not ((member is not None and member.active) or is_operator(user)):
        raise RoomRefused
    return committee


class EvaluationRoomConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/tenders/<tender id>/evaluation/``: live progress of the evaluation.

    On connect the client gets ``evaluation.progress`` (``kind`` "state") with the whole
    snapshot: who (by label) has a draft or has submitted which stage, the counts, the
    locks, the report's signatures — never a score and never a name. Every change then
    arrives as another ``evaluation.progress`` (``kind``: draft_saved, submitted, locked,
    chair, member_replaced, signed, completed). Clients may send ``{"type": "state"}``
    (the snapshot again) and ``{"type": "ping"}``. Refused: closed with 4403.
    """

    async def connect(self):
        self.tender_id = self.scope["url_route"]["kwargs"]["tender_id"]
        try:
            self.committee_pk, tender_pk = await self._enter()
        except RoomRefused:
            # Accept first so the client sees the close code (a close before accepting
            # is an HTTP 403 at the handshake).
            await self.accept()
            await self.close(code=4403)
            return
        self.group = evaluation_group(tender_pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(await self._state())

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            await self._error("invalid", "Messages are JSON text.")
            return
        try:
            content = loads(text_data)
        except ParseError as exc:
            await self._error(exc.detail.code or "invalid", str(exc.detail))
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "state":
            await self.send_json(await self._state())
        else:
            await self._error("unknown_type", "unknown message type")

    async def _error(self, code, message):
        await self.send_json({"type": "error", "code": code, "message": message})

    async def dispatch(self, message):
        # A broadcast touches no database: forward the text encoded once by the sender.
        if message.get("type") == "hall.event":
            text = message.get("text")
            if text is None:
                text = await self.encode_json(message["event"])
            await self.send(text_data=text)
        else:
            await super().dispatch(message)

    def _session(self):
        return self.scope.get("session")

    @database_sync_to_async
    def _enter(self):
        committee = room_watcher(self.scope.get("user"), self._session(), self.tender_id)
        return committee.pk, committee.tender_id

    @database_sync_to_async
    def _state(self):
        committee = Committee.objects.select_related("tender", "chair").get(
            pk=self.committee_pk)
        return progress_event(committee)
