"""The bids stage's link on the tender page."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.policies import is_bidder
from bidding.tenders.pages import PageFacts, StageLink


def bid_link(user, tender, facts: PageFacts) -> StageLink | None:
    """A bidder that obtained the documents seals and submits here (later: its receipt)."""
    if not (is_bidder(user) and facts.obtained):
        return None
    label = (_("Seal and submit a bid") if tender.status == tender.Status.PUBLISHED
             else _("My bid and receipt"))
    return StageLink(label, reverse("bids:bid", args=[tender.pk]), primary=True)
