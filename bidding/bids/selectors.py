"""Reads for bids and bonds. Callers have been authorised by ``policies``."""

from __future__ import annotations

from django.db.models import QuerySet

from bidding.tenders.models import Tender

from .models import Bid, BidBond


def bids_of(tender: Tender, organisation_id: int) -> QuerySet[Bid]:
    """One organisation's bid versions on a tender. Callers must be that organisation."""
    return Bid.objects.filter(tender=tender, bidder_id=organisation_id).order_by("version")


def current_bid_of(tender: Tender, organisation_id: int) -> Bid | None:
    return bids_of(tender, organisation_id).filter(status=Bid.Status.SUBMITTED).first()


def current_bids(tender: Tender) -> QuerySet[Bid]:
    """The version that counts of every bidder's bid (withdrawn and replaced ones not)."""
    return Bid.objects.filter(tender=tender, status=Bid.Status.SUBMITTED)


def current_bids_of_organisation(organisation_id: int) -> QuerySet[Bid]:
    return (Bid.objects.filter(bidder_id=organisation_id, status=Bid.Status.SUBMITTED)
            .select_related("tender"))


def bond_of(tender: Tender, organisation_id: int) -> BidBond | None:
    return BidBond.objects.filter(tender=tender, bidder_id=organisation_id).first()


def bonds_refund_due() -> QuerySet[BidBond]:
    return (BidBond.objects.filter(status=BidBond.Status.REFUND_DUE)
            .select_related("tender", "bidder").order_by("refund_due_by"))


def bidder_organisations(tender: Tender) -> set[int]:
    """Every organisation that ever uploaded a bid version on the tender."""
    return set(Bid.objects.filter(tender=tender).values_list("bidder_id", flat=True))
