"""The trading centre's page of bid bonds due for refund, with the statutory deadline
of each, and the button that records a refund (the same service and rules as
``POST /api/bonds/{id}/refunded/``).

Why a bond is due decides its deadline: a withdrawal before the deadline or a failed
tender (Reg 35), a cancelled tender (Reg 31), the contract signed (Reg 57, for the
winner and every other bidder). Until the tender's bidding has closed a row names no
tender and no bidder (``selectors.refunds_due``): who withdrew stays secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.policies import is_oversight
from bidding.tenders.models import Tender
from core import statutory

from . import selectors
from . import services as bids
from .models import Bid, BidBond
from .policies import access_bond_for_refund, can_see_refunds_due

S = Tender.Status


@dataclass(frozen=True)
class RefundRow:
    due: selectors.RefundDue
    why: str
    source: str
    overdue: bool


def refund_basis(bond: BidBond) -> tuple[str, str]:
    """(why the bond is due, the rule that sets its deadline)."""
    withdrawn = Bid.objects.filter(tender_id=bond.tender_id, bidder_id=bond.bidder_id,
                                   status=Bid.Status.WITHDRAWN).exists()
    standing = Bid.objects.filter(tender_id=bond.tender_id, bidder_id=bond.bidder_id,
                                  status=Bid.Status.SUBMITTED).exists()
    if withdrawn and not standing:
        return _("Bid withdrawn before the deadline"), statutory.source("BOND_REFUND_DAYS")
    status = bond.tender.status
    if status == S.CANCELLED:
        return (_("Tender cancelled"),
                statutory.source("BOND_REFUND_AFTER_CANCELLATION_DAYS"))
    if status == S.CONTRACTED:
        return (_("Contract signed"), statutory.source("BOND_REFUND_AFTER_CONTRACT_DAYS"))
    if status == S.FAILED:
        return _("Tender failed"), statutory.source("BOND_REFUND_DAYS")
    return _("Bond returned"), statutory.source("BOND_REFUND_DAYS")


def refund_rows(now=None) -> list[RefundRow]:
    now = now or timezone.now()
    bonds = {str(b.public_id): b for b in selectors.bonds_refund_due()}
    rows = []
    for due in selectors.refunds_due(now):
        why, source = refund_basis(bonds[due.public_id])
        rows.append(RefundRow(due=due, why=why, source=source,
                              overdue=bool(due.refund_due_by and due.refund_due_by < now)))
    return rows


def _may_view(user) -> bool:
    """The trading centre records refunds; supervisors watch that they are on time."""
    return can_see_refunds_due(user) or is_oversight(user)


@login_required
def refunds_page(request):
    if not _may_view(request.user):
        raise PermissionDenied(_("Only the trading centre and supervisors see refunds due."))
    return render(request, "bids/refunds.html", {
        "rows": refund_rows(),
        "may_record": can_see_refunds_due(request.user),
    })


@login_required
@require_POST
def refund_record(request, bond_id):
    """Record that the bond was returned (operators; the API's rule)."""
    bond = access_bond_for_refund(request.user, bond_id)
    try:
        bids.bond_mark_refunded(user=request.user, bond=bond)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Refund %(id)s recorded.") % {"id": bond.public_id})
    return redirect("bids:refunds")
