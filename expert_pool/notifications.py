"""What the expert pool tells drawn experts (core.notifications): a seat to confirm, and
a receipt for the answer given.

Loaded by ``ExpertPoolConfig.ready()``.

Confidentiality (Law 37, Reg 46): the list is sealed until the evaluation starts. These
notifications go to the drawn expert alone and say no more than the expert pool's own
SMS/voice call does (``services.member_call``): the tender's reference, the evaluation
day and the time to answer by; never the tender's title, the tenderer or the other
members. The seat call is a schedule over the seats waiting for an answer, not an
audit-event kind: the draw's events name the draw and the seat only (``SEALED_ACTOR``),
and the notification is not tied to one of them. Email stays off by default: the pool's
own channels (``notify.py``) already email and text the expert.
"""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import timefmt
from core.notifications.registry import Message, register_kind

from .models import Draw, DrawMember

M = DrawMember.Status


def _seat_message(member: DrawMember, **params) -> Message | None:
    user_id = member.expert.user_id
    if user_id is None:
        return None
    tender = member.draw.tender
    return Message(
        recipients=[user_id],
        # What the gateway's message says, nothing more: no title, no other member.
        params={"reference": tender.reference, "day": timefmt.iso(tender.opening_time),
                **params},
        url=reverse("expert_pool:seat", kwargs={"member_id": member.pk}),
        tender_reference=tender.reference,
    )


# --- a seat to confirm ------------------------------------------------------------------


def seats_to_confirm(now: datetime) -> list[Message]:
    """Every seat waiting for its expert's answer; once per call (a backup called later
    is a new occasion)."""
    messages = []
    for member in (DrawMember.objects.select_related("expert", "draw__tender")
                   .filter(status=M.CALLED, respond_by__gt=now,
                           draw__status=Draw.Status.DRAWN)):
        message = _seat_message(member, respond_by=timefmt.iso(member.respond_by))
        if message is not None:
            message.key = f"seat-call:{member.pk}:{timefmt.iso(member.called_at)}"
            messages.append(message)
    return messages


def render_seat_call(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: you were drawn as an evaluation expert") % p
    body = _("You were drawn for the evaluation of tender %(reference)s on %(day)s. "
             "Confirm or decline by %(by)s on the platform. Keep this confidential.") % {
        **p, "day": timefmt.day(p["day"]), "by": timefmt.human(p["respond_by"])}
    return title, body


# --- the answer, acknowledged ---------------------------------------------------------


def answers_of(event) -> list[Message]:
    """The seats of this draw answered so far, each acknowledged to its expert once (the
    event names the draw, not the seat: the person stays sealed)."""
    messages = []
    for member in (DrawMember.objects.select_related("expert", "draw__tender")
                   .filter(draw_id=event.object_id, status__in=[M.CONFIRMED, M.DECLINED],
                           responded_at__isnull=False)):
        message = _seat_message(member, accepted=member.status == M.CONFIRMED,
                                answered_at=timefmt.iso(member.responded_at))
        if message is not None:
            message.key = f"seat-answer:{member.pk}"
            messages.append(message)
    return messages


def render_seat_answer(p: dict) -> tuple[str, str]:
    if p.get("accepted"):
        title = _("%(reference)s: your seat is confirmed") % p
        body = _("Your confirmation for the evaluation of tender %(reference)s on %(day)s "
                 "was recorded at %(at)s. Sign the no-conflict pledge on the seat's page. "
                 "Keep this confidential.")
    else:
        title = _("%(reference)s: your decline was recorded") % p
        body = _("Your decline for the evaluation of tender %(reference)s was recorded at "
                 "%(at)s. A backup expert is called instead.")
    return title, body % {**p, "day": timefmt.day(p["day"]),
                          "at": timefmt.human(p["answered_at"])}


register_kind(
    "expert_draw.seat_call",
    label=gettext_lazy("You were drawn as an evaluation expert: confirm your seat"),
    default_email=False, schedule=seats_to_confirm, render=render_seat_call, order=35,
)
register_kind(
    "expert_draw.seat_answer",
    label=gettext_lazy("Your answer to an expert draw was recorded"),
    default_email=False, actions=("expert_draw.confirmed", "expert_draw.declined"),
    recipients_for_event=answers_of, render=render_seat_answer, order=36,
)
