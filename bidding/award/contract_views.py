"""The contract page: the terms, the document's digest, both parties' signatures,
amendments and payments, for the tenderer, the winner and oversight (read-only). Each
party signs a version in its own browser with its signing key file (static/js/signing.js:
ECDSA P-256 over ``ggzy-contract-v1\\0 || signing_message``); only the signature comes
here, and ``contract.contract_sign`` verifies it against the party's registered key."""

from __future__ import annotations

import base64

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import signing_keys
from bidding.tenders.policies import access_tender, is_owner

from . import contract as contracts
from . import selectors
from .models import Contract


def _party(user, tender, contract: Contract | None) -> str:
    """``tenderer``, ``winner`` or "" (oversight reads only)."""
    if is_owner(user, tender):
        return "tenderer"
    if contract is not None and user.is_bidder and user.organisation_id == contract.winner_id:
        return "winner"
    return ""


def _label() -> str:
    return contracts.CONTRACT_LABEL.rstrip(b"\x00").decode("ascii")


@login_required
def contract_page(request, tender_id):
    tender = access_tender(request.user, tender_id)
    if not selectors.may_see_contract(request.user, tender):
        # The same answer as for a tender without a contract: ids leak nothing.
        raise Http404(_("No contract to show."))
    contract = Contract.objects.filter(tender=tender).select_related("winner").first()
    party = _party(request.user, tender, contract)
    key = signing_keys(request.user).first() if party else None
    versions = []
    for v in (contract.versions.select_related("tenderer_key", "winner_key").all()
              if contract else []):
        signed_at = getattr(v, f"{party}_signed_at") if party else None
        versions.append({
            "v": v,
            "message_b64": base64.b64encode(contracts.signing_message(v)).decode(),
            "can_sign": bool(party) and signed_at is None,
        })
    return render(request, "award/contract.html", {
        "tender": tender, "state": selectors.contract_state(tender), "contract": contract,
        "versions": versions, "party": party, "key": key, "label": _label(),
        "payments": contract.payments.all() if contract else [],
        "sign_i18n": {
            "noFile": _("Choose your signing key file."),
            "signing": _("Signing in this browser…"),
            "wrongKey": _("This key file is not your registered signing key "
                          "(fingerprint %(fp)s)."),
            "failed": _("Could not sign:"),
        },
    })


@login_required
@require_POST
def contract_sign(request, tender_id, number):
    """A party's signature of one version, made in its browser."""
    tender = access_tender(request.user, tender_id)
    if not selectors.may_see_contract(request.user, tender):
        raise Http404(_("No contract to show."))
    try:
        contracts.contract_sign(user=request.user, tender=tender, number=number,
                                signature_b64=request.POST.get("signature", ""))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You cannot sign this contract."))
    else:
        if number == 0:
            messages.success(request, _("Your signature of the contract is recorded."))
        else:
            messages.success(request, _("Your signature of amendment %(n)s is recorded.")
                             % {"n": number})
    return redirect("award:contract", tender_id=tender.pk)
