"""The opening stage's part in the tender lifecycle and the clock, added through their
registries: the minimum number of bids applies again to the bids the opening could
open (Reg 44, the same guard as at the deadline), and the clock drives every opening
(start at the deadline, close the window, finish after the confirmation time)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from bidding.bids.rules import min_bids_guard
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from core import clock

from .models import BidOpening

S = Tender.Status


def opened_bid_count(tender: Tender) -> int:
    return BidOpening.objects.filter(
        session__tender=tender, status=BidOpening.Status.DECRYPTED
    ).count()


def install() -> None:
    """Called from ``OpeningConfig.ready()``."""
    from . import services

    lifecycle.register_guard(
        S.OPENING, S.OPENED,
        min_bids_guard(opened_bid_count, counted=gettext_lazy("opened"),
                       name="min_bids_opened"),
    )
    clock.register_job("opening.tick", lambda now: services.opening_tick(now=now), order=20)
