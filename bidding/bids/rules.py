"""The bids stage's part in the tender lifecycle, added through its registries.

* One rule for the minimum number of bids (Reg 44: fewer than three bidders, and
  the tender must be re-tendered): ``min_bids_guard`` makes the guard, and each
  stage that counts bids registers it with its own count (here: the bids standing
  at the deadline; the opening: the bids it could open).
* What a failed tender means for bidders: every bidder and everyone who obtained
  the documents is told why, and the bonds still held become refundable.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation
from accounts.services import notify
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from core import statutory

from . import selectors
from .models import BidBond

S = Tender.Status


def min_bids_guard(count: Callable[[Tender], int], *, counted, name: str) -> lifecycle.Guard:
    """A lifecycle guard: refuse while fewer than ``MIN_BIDS_TO_OPEN`` bids count.

    ``count(tender)`` says how many bids count at this point; ``counted`` names them
    in the refusal ("received by the deadline", "opened"); ``name`` identifies the
    guard, so registering it again replaces it.
    """

    def guard(tender: Tender, now) -> str:
        n = count(tender)
        minimum = statutory.value("MIN_BIDS_TO_OPEN")
        if n >= minimum:
            return ""
        return _("%(n)s bids %(counted)s, fewer than the %(min)s required (%(source)s).") % {
            "n": n, "counted": str(counted), "min": minimum,
            "source": statutory.source("MIN_BIDS_TO_OPEN"),
        }

    guard.__name__ = name
    return guard


def standing_bid_count(tender: Tender) -> int:
    return selectors.current_bids(tender).count()


def tender_failed(*, tender: Tender, previous: str, reason: str, now) -> None:
    """Lifecycle hook on ``failed``: tell the tenderer, every bidder and everyone who
    obtained the documents why, and make the bonds still held refundable (Reg 35's
    five days, counted from now)."""
    subject = _("Tender %(ref)s failed") % {"ref": tender.reference}
    body = _("%(title)s failed and must be re-tendered: %(reason)s Bid bonds still held "
             "will be refunded.") % {"title": tender.title, "reason": reason}
    recipients = {tender.tenderer_id, tender.agency_id}
    recipients |= selectors.bidder_organisations(tender)
    recipients |= set(tender.registrations.values_list("organisation_id", flat=True))
    for org in Organisation.objects.filter(pk__in=[r for r in recipients if r]):
        notify(organisation=org, subject=subject, body=body, link=f"/tenders/{tender.pk}/")
    from .services import bonds_make_refundable

    bonds_make_refundable(BidBond.objects.filter(tender=tender), now=now or timezone.now())


def tender_cancelled(*, tender: Tender, previous: str, reason: str, now) -> None:
    """Lifecycle hook on ``cancelled`` (终止招标): the bonds still held become due for
    refund with interest (Reg 31). The tender stage tells those who obtained the
    documents; bidders are among them."""
    from .services import bonds_make_refundable

    bonds_make_refundable(BidBond.objects.filter(tender=tender), now=now or timezone.now(),
                          rule="BOND_REFUND_AFTER_CANCELLATION_DAYS")


def tender_contracted(*, tender: Tender, previous: str, reason: str, now) -> None:
    """Lifecycle hook on ``contracted``: every bond still held, the winner's and the
    other bidders', becomes due for refund with interest within 5 days (Reg 57)."""
    from .services import bonds_make_refundable

    bonds_make_refundable(BidBond.objects.filter(tender=tender), now=now or timezone.now(),
                          rule="BOND_REFUND_AFTER_CONTRACT_DAYS")


def install() -> None:
    """Called from ``BidsConfig.ready()``."""
    lifecycle.register_guard(
        S.BIDDING_CLOSED, S.OPENING,
        min_bids_guard(standing_bid_count, counted=gettext_lazy("received by the deadline"),
                       name="min_bids_at_deadline"),
    )
    lifecycle.register_hook(S.FAILED, tender_failed)
    lifecycle.register_hook(S.CANCELLED, tender_cancelled)
    lifecycle.register_hook(S.CONTRACTED, tender_contracted)
