"""The award's link on the tender page (bidding.tenders.pages)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from bidding.tenders.pages import PageFacts, StageLink

from .models import Publicity


def award_link(user, tender, facts: PageFacts) -> StageLink | None:
    """Once the candidates are published, everybody may follow the award."""
    if not Publicity.objects.filter(tender=tender).exists():
        return None
    return StageLink(_("Candidates and award"), reverse("award:page", args=[tender.pk]))
