"""Reads for bids and bonds. Callers have been authorised by ``policies``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

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
    """Every bond due for refund, soonest first. Internal: pages and the API show
    ``refunds_due`` instead, which keeps who withdrew from which tender secret."""
    return (BidBond.objects.filter(status=BidBond.Status.REFUND_DUE)
            .select_related("tender", "bidder").order_by("refund_due_by", "public_id"))


# Statuses in which a tender is still at (or before) the bidding stage. A tender
# suspended from one of them has not closed bidding either: suspension must not lift
# the secrecy (the status says "suspended", not "bidding over").
_BIDDING_STAGE = (Tender.Status.DRAFT, Tender.Status.PUBLISHED)


def bidding_has_closed(tender: Tender, now: datetime | None = None) -> bool:
    """Bidding on the tender is over: its deadline has passed and the tender went past
    the bidding stage. Until then who bid, withdrew or paid a bond is secret (E-Rules
    28), whatever the status says (a suspension does not end bidding)."""
    now = now or timezone.now()
    if tender.deadline > now or tender.status in _BIDDING_STAGE:
        return False
    return not (tender.status == Tender.Status.SUSPENDED
                and tender.suspended_from in _BIDDING_STAGE)


def tenders_still_sealed(now: datetime | None = None) -> QuerySet[Tender]:
    """Tenders whose bidding has not closed (``bidding_has_closed`` as a query)."""
    now = now or timezone.now()
    return Tender.objects.filter(
        Q(deadline__gt=now) | Q(status__in=_BIDDING_STAGE)
        | Q(status=Tender.Status.SUSPENDED, suspended_from__in=_BIDDING_STAGE)
    )


@dataclass(frozen=True)
class RefundDue:
    """A bond refund as the trading centre sees it.

    Reg 35 wants the refund within 5 days of a withdrawal, usually long before the
    deadline, so it cannot wait for the deadline. Until the tender's bidding has
    closed the row carries only what paying it needs (the random refund reference,
    the amount, the kind, the bank transfer's own reference so the bank can return it
    to the account it came from, the date due): no tender, no bidder, no payer account
    or name. After the deadline the rest is shown too.
    """

    public_id: str
    amount: Decimal
    kind: str
    transfer_reference: str
    refund_due_by: datetime | None
    sealed: bool
    tender: str | None = None
    bidder: str | None = None
    payer_account: str | None = None
    payer_name: str | None = None
    from_basic_account: bool | None = None


def refunds_due(now: datetime | None = None) -> list[RefundDue]:
    """Bonds due for refund, soonest first, with tender and bidder only where the
    tender's bidding has closed."""
    now = now or timezone.now()
    rows = []
    for bond in bonds_refund_due():
        common = dict(public_id=str(bond.public_id), amount=bond.amount, kind=bond.kind,
                      transfer_reference=bond.reference, refund_due_by=bond.refund_due_by)
        if bidding_has_closed(bond.tender, now):
            rows.append(RefundDue(
                **common, sealed=False, tender=bond.tender.reference, bidder=bond.bidder.name,
                payer_account=bond.payer_account, payer_name=bond.payer_name,
                from_basic_account=bond.from_basic_account))
        else:
            rows.append(RefundDue(**common, sealed=True))
    return rows


def bidder_organisations(tender: Tender) -> set[int]:
    """Every organisation that ever uploaded a bid version on the tender."""
    return set(Bid.objects.filter(tender=tender).values_list("bidder_id", flat=True))


# ------------------------------------------------------------ reads for supervision
# supervision reads bids only through these (import contract in pyproject.toml).


def bids_of_tender(tender_id: int) -> QuerySet[Bid]:
    """Every bid (all versions) of the tender, with its bidder. Used by supervision
    (case evidence, the inspector's avoidance check); callers keep bids sealed until the
    bidding closes (``tenders_still_sealed``)."""
    return Bid.objects.filter(tender_id=tender_id).select_related("bidder")


def bid_with_tender(pk: int) -> Bid | None:
    """One bid with its tender and bidder, or None. Used by supervision (case evidence)."""
    return Bid.objects.select_related("tender", "bidder").filter(pk=pk).first()


def bonds_of_tender(tender) -> QuerySet[BidBond]:
    """The tender's bid bonds. Used by supervision's screens (bond rows beside prices)."""
    return BidBond.objects.filter(tender=tender)
