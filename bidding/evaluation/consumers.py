"""The evaluation room's websocket consumer: thin. It authenticates in connect(), reads
the progress snapshot through ``selectors.progress`` and forwards the broadcasts of
``realtime``; nothing lives in the socket, so a reconnecting client simply gets the
snapshot again."""

from __future__ import annotations

from types import SimpleNamespace

from channels.db import database_sync_to_async
from django.http import Http404

from accounts.policies import is_operator, two_factor_verified
from core.realtime import GroupJsonConsumer

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


class EvaluationRoomConsumer(GroupJsonConsumer):
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
            await self.refuse(4403)
            return
        await self.join(evaluation_group(tender_pk))

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
