"""The link the tender page shows to the trading centre and supervisors: the draw."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from bidding.tenders.pages import StageLink

from . import policies


def draw_link(user, tender, facts) -> StageLink | None:
    """Operators (who request draws) and supervisors (who verify them)."""
    if not (policies.can_request_draw(user) or policies.can_verify(user)):
        return None
    if tender.status == tender.Status.DRAFT:
        return None
    try:
        url = reverse("expert_pool:tender_draw", args=[tender.pk])
    except NoReverseMatch:  # the pages are not mounted in this deployment
        return None
    return StageLink(_("Expert draw"), url)
