"""The workspace ("my" page): each stage's items for the signed-in user on one page.

It sits above the stages, so it may read all of them; each stage answers through its
own selectors and policies."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.policies import is_bidder
from accounts.selectors import notifications_of
from bidding.bids import selectors as bid_selectors
from bidding.bids.policies import can_see_refunds_due
from bidding.tenders.selectors import tenders_of_user


@login_required
def dashboard(request):
    user = request.user
    context = {
        "tenders": tenders_of_user(user),
        "notifications": notifications_of(user)[:20],
        "my_bids": bid_selectors.current_bids_of_organisation(user.organisation_id)
        if is_bidder(user) else [],
        "refunds_due": bid_selectors.refunds_due() if can_see_refunds_due(user) else [],
    }
    return render(request, "bidding/dashboard.html", context)
