"""What each person in a tender's opening hall sees.

Before the opening starts the hall shows only the countdown and, to a bidder, its own
sign-in: who has bid, and how many, stays secret until the deadline. Prices appear only
once announced. The same function answers the websocket on connect, the REST API and
the page, so every client sees one state.
"""

from __future__ import annotations

from django.utils import timezone

from bidding.bids.models import Bid
from bidding.tenders.models import Tender

from .models import OpeningSession, OpeningSignin
from .services import announced_row, counters, objection_row


def hall_state(tender: Tender, user, role: str) -> dict:
    """The full state of the hall for this user: sent on connect and on request."""
    session = OpeningSession.objects.filter(tender=tender).first()
    now = timezone.now()
    state = {
        "type": "hall.state",
        "tender": {"id": tender.pk, "reference": tender.reference, "title": tender.title,
                   "status": tender.status, "opening_time": tender.deadline.isoformat(),
                   "max_price": str(tender.max_price),
                   "announce_mode": tender.announce_mode,
                   "decryption_fallback": tender.decryption_fallback,
                   "threshold": tender.opening_threshold},
        "server_time": now.isoformat(),
        "role": role,
        "phase": session.phase if session else "waiting",
    }
    you = {"role": role}
    if role == "bidder":
        you["signed_in"] = OpeningSignin.objects.filter(
            tender=tender, bidder_id=user.organisation_id).exists()
    if session is None:
        state["you"] = you
        return state
    items = list(session.bids.select_related("bid__bidder"))
    state.update({
        "started_at": session.started_at.isoformat(),
        "window_ends_at": session.window_ends_at.isoformat(),
        "confirm_until": session.confirm_until.isoformat() if session.confirm_until else None,
        "merkle": {"root": session.merkle_root, "size": session.merkle_size},
        "counters": counters(session),
        "bidders": [{"bidder": i.bid.bidder.name, "status": i.status,
                     "signed_in": i.bid.bidder_id in _signed_in(tender)} for i in items],
        "announced": [announced_row(i) for i in sorted(
            (i for i in items if i.announced_at), key=lambda i: i.announce_order)],
        "objections": [objection_row(o) for o in session.objections.select_related("bidder")],
        "confirmations": [{"bidder": c.bidder.name, "deemed": c.deemed,
                           "at": c.confirmed_at.isoformat()}
                          for c in session.confirmations.select_related("bidder")],
        "shares": session.shares.count(),
        "record": {"url": f"/api/tenders/{tender.pk}/opening/record.pdf",
                   "sha256": session.record_sha256} if session.record_sha256 else None,
    })
    if role == "bidder":
        mine = next((i for i in items if i.bid.bidder_id == user.organisation_id), None)
        if mine:
            you.update({"bid_status": mine.status, "sha256": mine.bid.sha256,
                        "confirmed": session.confirmations.filter(
                            bidder_id=user.organisation_id).exists()})
    if role == "custodian":
        you["share_submitted"] = session.shares.filter(custodian=user).exists()
    state["you"] = you
    return state


def _signed_in(tender: Tender) -> set[int]:
    return set(OpeningSignin.objects.filter(tender=tender).values_list("bidder_id", flat=True))


def accepted_bid(tender: Tender, *, sha256: str = "", bidder_id: int | None = None) -> Bid | None:
    """A bid whose envelope the opening accepted (it is in the Merkle tree), found by its
    digest or by its bidder."""
    bids = Bid.objects.filter(tender=tender, opening__isnull=False)
    if sha256:
        return bids.filter(sha256=sha256.lower()).first()
    if bidder_id is not None:
        return bids.filter(bidder_id=bidder_id).first()
    return None
