"""The opening hall's websocket consumer: thin. It authenticates in connect() through
``policies.access_hall``, reads through ``selectors.hall_state`` and acts through
``actions.perform``; the state lives in the database, never in the socket."""

from __future__ import annotations

from channels.db import database_sync_to_async

from core.realtime import GroupJsonConsumer

from .actions import perform
from .policies import HallRefused, access_hall
from .realtime import opening_group
from .selectors import hall_state


class OpeningHallConsumer(GroupJsonConsumer):
    """``/ws/openings/<tender id>/``: the live opening hall.

    On connect the client gets ``hall.state`` (everything it may see); afterwards every
    change arrives as a small event (``hall.phase``, ``hall.announce``, ``hall.counters``,
    ``hall.signin``, ``hall.objection``, ``hall.answer``, ``hall.share``,
    ``hall.confirmed``, ``hall.closed``). Clients act by sending ``{"type": ...}``:
    ``state``, ``signin``, ``decrypt`` (``bid_key``, ``price_sheet_key``), ``share``
    (``share``), ``objection`` (``text``), ``answer`` (``objection``, ``answer``),
    ``confirm`` (``remark``), ``ping``. A refused action answers
    ``{"type": "error", "code", "message"}`` to that client only. After a reconnect the
    client receives the full state again: nothing lives in the socket.
    """

    actions = {"signin", "decrypt", "share", "objection", "answer", "confirm"}

    async def connect(self):
        self.tender_id = self.scope["url_route"]["kwargs"]["tender_id"]
        try:
            self.tender_pk, self.role = await self._enter()
        except HallRefused:  # no such tender, or not a participant: the same answer
            await self.refuse(4403)
            return
        await self.join(opening_group(self.tender_pk))

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind in self.actions:
            error = await self._act(kind, content)
            if error:
                await self.send_json({"type": "error", **error})
            else:
                await self.send_json({"type": "ok", "action": kind})
        else:
            await super().receive_json(content, **kwargs)

    @database_sync_to_async
    def _enter(self):
        tender, role = access_hall(self.scope.get("user"), self.tender_id, with_parties=False)
        return tender.pk, role

    @database_sync_to_async
    def _state(self):
        tender, role = access_hall(self.scope.get("user"), self.tender_pk, with_parties=False)
        return hall_state(tender, self.scope.get("user"), role)

    @database_sync_to_async
    def _act(self, kind, content):
        return perform(self.scope.get("user"), self.tender_pk, kind, content)
