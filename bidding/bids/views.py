"""The bidder's sealing and submission page. Sealing happens in the browser
(static/js/envelope.js); the view only provides what the page needs."""

from __future__ import annotations

import base64

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import bid_keys_of
from bidding.tenders.policies import access_tender
from bidding.tenders.reference import STANDARD_PRICE_SHEET_ITEMS
from bidding.tenders.selectors import has_obtained

from . import selectors
from .policies import require_bidder


@login_required
def bid_page(request, tender_id):
    tender = access_tender(request.user, tender_id)
    require_bidder(request.user)
    organisation_id = request.user.organisation_id
    versions = list(selectors.bids_of(tender, organisation_id))
    current = next((b for b in versions if b.status == "submitted"), None)
    return render(request, "bids/bid.html", {
        "tender": tender,
        "obtained": has_obtained(request.user, tender),
        "opening_key_b64": base64.b64encode(bytes(tender.opening_public_key or b"")).decode(),
        "bidder_id": request.user.organisation.credit_code,
        "bid_keys": bid_keys_of(organisation_id),
        "current": current,
        "versions": versions,
        "standard_items": STANDARD_PRICE_SHEET_ITEMS,
        "extra_items": tender.price_sheet_items,
        "bidding_open": tender.status == tender.Status.PUBLISHED,
    })
