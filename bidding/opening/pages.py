"""The opening stage's link on the tender page."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.policies import is_bidder
from bidding.tenders.pages import PageFacts, StageLink


def hall_link(user, tender, facts: PageFacts) -> StageLink | None:
    """The hall is open to the public where the tender says so, else to its host and
    to bidders that obtained the documents (the hall itself checks again on entry)."""
    public = tender.status != tender.Status.DRAFT and tender.public_opening
    if not (public or facts.owner or (is_bidder(user) and facts.obtained)):
        return None
    return StageLink(_("Online opening hall"), reverse("opening:hall", args=[tender.pk]))
