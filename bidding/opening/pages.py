"""The opening stage's link on the tender page."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from bidding.tenders.pages import PageFacts, StageLink

from .policies import hall_role


def hall_link(user, tender, facts: PageFacts) -> StageLink | None:
    """Only where the hall would let this user in (``policies.hall_role``: its host,
    bidders with a bid, custodians and observers, the public where the tender says so),
    and never before the tender is published: a draft has no opening to attend."""
    if tender.status == tender.Status.DRAFT or hall_role(user, tender) is None:
        return None
    return StageLink(_("Online opening hall"), reverse("opening:hall", args=[tender.pk]))
