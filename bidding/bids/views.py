"""The bidder's sealing and submission page. Sealing happens in the browser
(static/js/envelope.js); the view only provides what the page needs: the steps, the
checklist of what is done and what is missing, and the bond form (a plain form post)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.selectors import bid_keys_of
from bidding.tenders.models import Tender
from bidding.tenders.policies import access_tender
from bidding.tenders.reference import STANDARD_PRICE_SHEET_ITEMS
from bidding.tenders.selectors import has_obtained
from core import timefmt

from . import selectors
from . import services as bids
from .models import BidBond
from .policies import require_bidder

# A bid on a tender in one of these states still has to be decrypted at the opening, so
# the key it was sealed to is still needed.
_AWAITING_OPENING = (Tender.Status.PUBLISHED, Tender.Status.BIDDING_CLOSED,
                     Tender.Status.OPENING, Tender.Status.SUSPENDED)


class BondForm(forms.Form):
    amount = forms.DecimalField(label=gettext_lazy("Amount (yuan)"), max_digits=14,
                                decimal_places=2, min_value=0)
    kind = forms.ChoiceField(label=gettext_lazy("How it is paid"), choices=BidBond.Kind.choices)
    payer_account = forms.CharField(label=gettext_lazy("Paid from account number"),
                                    max_length=40)
    payer_name = forms.CharField(label=gettext_lazy("Account holder"), max_length=200)
    reference = forms.CharField(
        label=gettext_lazy("Transfer reference or guarantee number"), max_length=100,
        required=False,
        help_text=gettext_lazy("The bank's reference of the transfer, or the number of the "
                               "bank guarantee or guarantee insurance policy."))

    def add_service_errors(self, exc: ValidationError) -> None:
        for field, errors in exc.message_dict.items():
            self.add_error(None if field == "__all__" or field not in self.fields else field,
                           errors)


@dataclass(frozen=True)
class CheckItem:
    key: str
    label: str
    state: str          # "done", "missing", "not_needed"
    status: str         # the plain status shown
    action: str = ""    # the link or button text
    href: str = ""


def _sealed_bids(organisation_id: int) -> list[dict]:
    """The organisation's bids still waiting to be opened, with the key each was sealed
    to: the page warns before a new key is made while one of them exists."""
    out = []
    for bid in selectors.current_bids_of_organisation(organisation_id).filter(
            tender__status__in=_AWAITING_OPENING).order_by("tender__deadline"):
        tender = bid.tender
        out.append({
            "tender": tender.reference, "title": tender.title,
            "fingerprint": bid.bidder_key_fingerprint,
            "opening": tender.deadline.isoformat(),
            "opening_text": timefmt.human(tender.deadline),
            "fallback": tender.decryption_fallback,
            "url": reverse("bids:bid", args=[tender.pk]),
        })
    return out


def _checklist(*, tender, obtained, bid_keys, current, bond, bidding_open) -> list[CheckItem]:
    missing = _("Missing") if bidding_open else _("Missed: bidding has closed")
    here = reverse("bids:bid", args=[tender.pk])
    items = [
        CheckItem("documents", _("Tender documents obtained"),
                  "done" if obtained else "missing", _("Done") if obtained else missing,
                  "" if obtained else _("Obtain them on the tender page"),
                  "" if obtained else reverse("tenders:tender_detail", args=[tender.pk])),
        CheckItem("key", _("Bid key registered"),
                  "done" if bid_keys else "missing",
                  _("Done") if bid_keys else missing,
                  _("Check the key in this browser") if bid_keys else _("Set up your key"),
                  here + "#step-key"),
        CheckItem("price_sheet", _("Price sheet filled in and sealed"),
                  "done" if current else "missing",
                  _("Done: sealed with your bid") if current else missing,
                  "" if current else _("Fill it in"), "" if current else here + "#step-price"),
        CheckItem("bid", _("Bid file sealed and uploaded"),
                  "done" if current else "missing",
                  (_("Done: version %(v)s") % {"v": current.version}) if current else missing,
                  _("Replace it") if current and bidding_open
                  else ("" if current else _("Seal and submit")),
                  here + "#step-file" if bidding_open else ""),
        CheckItem("receipt", _("Signed receipt received"),
                  "done" if current and current.receipt else "missing",
                  _("Done") if current and current.receipt else missing,
                  _("Receipt (PDF)") if current else "",
                  f"/api/tenders/{tender.pk}/bids/mine/receipt.pdf" if current else ""),
    ]
    if tender.bond_amount and tender.bond_amount > 0:
        if bond is None:
            items.append(CheckItem("bond", _("Bid bond recorded"), "missing", missing,
                                   _("Record the bond") if bidding_open else "",
                                   here + "#step-bond" if bidding_open else ""))
        else:
            items.append(CheckItem(
                "bond", _("Bid bond recorded"),
                "done" if bond.status == BidBond.Status.HELD else "missing",
                _("Recorded: %(status)s") % {"status": bond.get_status_display()},
                _("See the bond"), here + "#step-bond"))
    else:
        items.append(CheckItem("bond", _("Bid bond"), "not_needed",
                               _("Not required by this tender")))
    return items


def _context(request, tender, bond_form=None) -> dict:
    organisation_id = request.user.organisation_id
    org = request.user.organisation
    versions = list(selectors.bids_of(tender, organisation_id))
    current = next((b for b in versions if b.status == "submitted"), None)
    obtained = has_obtained(request.user, tender)
    bid_keys = list(bid_keys_of(organisation_id))
    bond = selectors.bond_of(tender, organisation_id)
    bidding_open = tender.status == tender.Status.PUBLISHED
    if bond_form is None:
        bond_form = BondForm(initial={
            "amount": tender.bond_amount, "kind": BidBond.Kind.TRANSFER,
            "payer_account": org.basic_account, "payer_name": org.name})
    checklist = _checklist(tender=tender, obtained=obtained, bid_keys=bid_keys,
                           current=current, bond=bond, bidding_open=bidding_open)
    return {
        "tender": tender,
        "obtained": obtained,
        "opening_key_b64": base64.b64encode(bytes(tender.opening_public_key or b"")).decode(),
        "bidder_id": org.credit_code,
        "bid_keys": bid_keys,
        "current": current,
        "versions": versions,
        "standard_items": STANDARD_PRICE_SHEET_ITEMS,
        "extra_items": tender.price_sheet_items,
        "bidding_open": bidding_open,
        "bond": bond,
        "bond_required": bool(tender.bond_amount and tender.bond_amount > 0),
        "bond_form": bond_form,
        "checklist": checklist,
        "checklist_missing": sum(1 for i in checklist if i.state == "missing"),
        "sealed_bids": _sealed_bids(organisation_id),
    }


@login_required
def bid_page(request, tender_id):
    tender = access_tender(request.user, tender_id)
    require_bidder(request.user)
    return render(request, "bids/bid.html", _context(request, tender))


@login_required
@require_POST
def bond_record(request, tender_id):
    """Record the bid bond from the bid page (the same service as ``POST /api/tenders/
    {id}/bond/``): refused twice, after the deadline and for anyone but a bidder."""
    tender = access_tender(request.user, tender_id)
    require_bidder(request.user)
    form = BondForm(request.POST)
    if form.is_valid():
        try:
            bids.bond_record(user=request.user, tender=tender, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Your bid bond is recorded."))
            return redirect(reverse("bids:bid", args=[tender.pk]) + "#step-bond")
    return render(request, "bids/bid.html", _context(request, tender, bond_form=form),
                  status=400)
