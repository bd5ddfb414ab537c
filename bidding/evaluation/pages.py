"""The evaluation room's link on the tender page (bidding.tenders.pages)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.policies import is_oversight
from bidding.tenders.pages import PageFacts, StageLink

from .models import Committee
from .policies import member_of


def room_link(user, tender, facts: PageFacts) -> StageLink | None:
    """Once the committee is formed, for those the room lets in (views.room): its
    members — the chair among them, and replaced members, who read only — and oversight
    (supervisors and the trading centre). Nobody else learns where the room is. The
    main call to action for an active member while the evaluation runs."""
    if not getattr(user, "is_authenticated", False):
        return None
    committee = Committee.objects.filter(tender=tender).first()
    if committee is None:
        return None
    member = member_of(committee, user, active_only=False)
    if member is None and not is_oversight(user):
        return None
    return StageLink(_("Evaluation room"), reverse("evaluation:room", args=[tender.pk]),
                     primary=bool(member is not None and member.active
                                  and tender.status == tender.Status.EVALUATION))
