"""For pages of earlier stages that link into the evaluation room without knowing the
evaluation (expert_pool's "My evaluations" page): ``{% load evaluation_room %}``."""

from __future__ import annotations

from django import template
from django.urls import reverse

from ..models import Member

register = template.Library()


@register.filter
def evaluation_room_url(seat) -> str:
    """The room of a drawn expert's seat (an expert_pool DrawMember) once the evaluation
    has started — the committee is formed and this seat holds a place on it (a replaced
    member still reads there) —, else "" (seats not on the committee: declined, backups
    never called in, draws whose committee is not formed yet)."""
    if getattr(seat, "status", None) != "confirmed":
        return ""
    on_committee = Member.objects.filter(committee__tender_id=seat.draw.tender_id,
                                         draw_member=seat).exists()
    return reverse("evaluation:room", args=[seat.draw.tender_id]) if on_committee else ""
