"""What each person in a tender's opening hall sees.

Before the opening starts the hall shows only the countdown and, to a bidder, its own
sign-in: who has bid, and how many, stays secret until the deadline. Prices appear only
once announced. The same function answers the websocket on connect, the REST API and
the page, so every client sees one state.
"""

from __future__ import annotations

import contextlib
import io

from django.utils import timezone

from bidding.bids.models import Bid
from bidding.tenders.models import Tender
from core import timefmt
from core.prepared import Prepared

from . import at_rest
from .models import (
    BidOpening,
    Confirmation,
    CustodianShare,
    Objection,
    OpeningSession,
    OpeningSignin,
)
from .services import ANNOUNCED, announced_row_of, counters, objection_row

# Later stages that hold a round in this hall (the award's second price round) add their
# part of the state here: fn(tender, user, role) -> dict merged into the hall state, so a
# (re)connecting client gets it in the same snapshot. Registered from AppConfig.ready().
_state_parts: list = []


def register_hall_state(fn) -> None:
    """Add ``fn(tender, user, role) -> dict`` to every hall state (later stages only)."""
    if fn not in _state_parts:
        _state_parts.append(fn)


def _with_parts(state: dict, tender: Tender, user, role: str) -> dict:
    for fn in _state_parts:
        state.update(fn(tender, user, role) or {})
    return state


# The hall state's reads, compiled once (``core.prepared``): the state answers every
# hand-over and every (re)connecting watcher, in the process that fans the
# announcements out, so what it costs delays the broadcast.
_SESSION = Prepared(lambda tender_id: OpeningSession.objects.filter(tender_id=tender_id)
                    .order_by("pk")[:1], tender_id=int)
_ITEM_FIELDS = ("status", "bid__bidder_id", *ANNOUNCED)
_ITEMS = Prepared(lambda session_id: BidOpening.objects.filter(session_id=session_id)
                  .values_list(*_ITEM_FIELDS), session_id=int)
_SIGNED_IN = Prepared(lambda tender_id: OpeningSignin.objects.filter(tender_id=tender_id)
                      .values_list("bidder_id"), tender_id=int)
_CONFIRMATIONS = Prepared(lambda session_id: Confirmation.objects.filter(
    session_id=session_id).select_related("bidder"), session_id=int)
_OBJECTIONS = Prepared(lambda session_id: Objection.objects.filter(session_id=session_id)
                       .select_related("bidder"), session_id=int)
_SHARES = Prepared(lambda session_id: CustodianShare.objects.filter(session_id=session_id)
                   .values_list("pk"), session_id=int)


def hall_state(tender: Tender, user, role: str) -> dict:
    """The full state of the hall for this user: sent on connect and on request."""
    session = _SESSION.first(tender_id=tender.pk)
    now = timezone.now()
    state = {
        "type": "hall.state",
        "tender": {"id": tender.pk, "reference": tender.reference, "title": tender.title,
                   "status": tender.status, "opening_time": timefmt.iso(tender.deadline),
                   "max_price": str(tender.max_price),
                   "announce_mode": tender.announce_mode,
                   "decryption_fallback": tender.decryption_fallback,
                   "threshold": tender.opening_threshold},
        "server_time": timefmt.iso(now),
        "role": role,
        "phase": session.phase if session else "waiting",
    }
    you = {"role": role}
    if session is None:
        if role == "bidder":
            you["signed_in"] = OpeningSignin.objects.filter(
                tender=tender, bidder_id=user.organisation_id).exists()
        state["you"] = you
        return _with_parts(state, tender, user, role)
    # Only the values shown, no model instances: this runs for every hand-over's answer
    # and every watcher's connect, in the process that fans the announcements out.
    items = [dict(zip(_ITEM_FIELDS, row, strict=True))
             for row in _ITEMS.rows(session_id=session.pk)]
    signed_in = _signed_in(tender)
    confirmations = _CONFIRMATIONS.rows(session_id=session.pk)
    state.update({
        "started_at": timefmt.iso(session.started_at),
        "window_ends_at": timefmt.iso(session.window_ends_at),
        "confirm_until": timefmt.iso(session.confirm_until) if session.confirm_until else None,
        "merkle": {"root": session.merkle_root, "size": session.merkle_size},
        "counters": counters(session, items),
        "bidders": [{"bidder": i["bid__bidder__name"], "status": i["status"],
                     "signed_in": i["bid__bidder_id"] in signed_in} for i in items],
        "announced": [announced_row_of(i) for i in sorted(
            (i for i in items if i["announced_at"]), key=lambda i: i["announce_order"])],
        "objections": [objection_row(o) for o in _OBJECTIONS.rows(session_id=session.pk)],
        "confirmations": [{"bidder": c.bidder.name, "deemed": c.deemed,
                           "at": timefmt.iso(c.confirmed_at)} for c in confirmations],
        "shares": len(_SHARES.rows(session_id=session.pk)),
        "record": {"url": f"/api/tenders/{tender.pk}/opening/record.pdf",
                   "sha256": session.record_sha256} if session.record_sha256 else None,
    })
    if role == "bidder":
        you["signed_in"] = user.organisation_id in signed_in
        mine = next((i for i in items if i["bid__bidder_id"] == user.organisation_id), None)
        if mine:
            you.update({"bid_status": mine["status"], "sha256": mine["bid__sha256"],
                        "confirmed": any(c.bidder_id == user.organisation_id
                                         for c in confirmations)})
    if role == "custodian":
        you["share_submitted"] = session.shares.filter(custodian=user).exists()
    state["you"] = you
    return _with_parts(state, tender, user, role)


def _signed_in(tender: Tender) -> set[int]:
    return {bidder_id for (bidder_id,) in _SIGNED_IN.rows(tender_id=tender.pk)}


def accepted_bid(tender: Tender, *, sha256: str = "", bidder_id: int | None = None) -> Bid | None:
    """A bid whose envelope the opening accepted (it is in the Merkle tree), found by its
    digest or by its bidder."""
    bids = Bid.objects.filter(tender=tender, opening__isnull=False)
    if sha256:
        return bids.filter(sha256=sha256.lower()).first()
    if bidder_id is not None:
        return bids.filter(bidder_id=bidder_id).first()
    return None


# --- decrypted bid documents (kept encrypted at rest: ``bidding.opening.at_rest``) ----------


@contextlib.contextmanager
def open_bid_document(bid_opening, *, user, purpose: str):
    """Read a decrypted bid's document: yields a file-like object of its plaintext.

    Every call is audited first (``opening.document_access``: who, which bid, why), so
    no read skips the log; the caller decides who may read (the evaluation room lets
    committee members in while the evaluation runs, oversight afterwards). ``user`` is
    a user or an actor label such as ``"supervision"``; ``purpose`` says why, e.g.
    ``"evaluation.view"``, ``"evaluation.download"``, ``"supervision.screening"``.

    Decryption streams chunk by chunk and checks every tag: a file or wrapped key that
    was altered raises ``crypto.errors.CryptoError`` (at open or at the read that meets
    the altered chunk), a missing KEK ``core.platform_keys.PlatformKeyUnavailable``, a
    bid with no stored document ``bidding.opening.at_rest.DocumentUnavailable``.
    """
    from django.db import transaction

    from audit.services import audit_record

    purpose = str(purpose or "").strip()
    if not purpose:
        raise ValueError("say why the document is read (purpose)")
    with transaction.atomic():
        audit_record(
            actor=user,
            action="opening.document_access",
            obj=bid_opening,
            payload={"bid": str(bid_opening.bid.public_id), "purpose": purpose,
                     "document_sha256": bid_opening.document_sha256},
            summary=purpose,
        )
    handle = at_rest.document_reader(bid_opening)
    try:
        # Buffered, so read(n) returns n bytes (not one chunk) until the end.
        yield io.BufferedReader(handle.reader)
    finally:
        handle.close()


def bid_document_meta(bid_opening) -> dict | None:
    """What was recorded of a decrypted bid's document at decryption, without reading
    it (no audit event): ``size``, ``sha256`` of the plaintext, ``content_type`` (pdf,
    zip or other), ``key_id`` of the KEK that wraps it. None if there is no document."""
    if not bid_opening.document or not bid_opening.document_wrapped_key:
        return None
    return {
        "size": bid_opening.document_size,
        "sha256": bid_opening.document_sha256,
        "content_type": bid_opening.document_content_type,
        "key_id": bid_opening.document_key_id,
        "decrypted_at": bid_opening.decrypted_at,
    }


# ------------------------------------------------------------ reads for supervision
# supervision reads the opening only through these (import contract in pyproject.toml).


def opened_tender_ids() -> list[int]:
    """The tenders with at least one decrypted bid whose price was announced. Used by
    supervision's market screens."""
    return list(BidOpening.objects.filter(status=BidOpening.Status.DECRYPTED,
                                          announced_at__isnull=False)
                .values_list("session__tender_id", flat=True).distinct())


def decrypted_openings(tender, *, announced_only: bool = False):
    """The tender's decrypted bids (``BidOpening`` rows, with bid and bidder) in announce
    order; ``announced_only``: only those whose price was announced. Used by supervision's
    screens (price rows, bid documents through ``open_bid_document``)."""
    qs = BidOpening.objects.filter(session__tender=tender, status=BidOpening.Status.DECRYPTED)
    if announced_only:
        qs = qs.filter(announced_at__isnull=False)
    return qs.select_related("bid", "bid__bidder").order_by("announce_order", "pk")


def closed_opening_session(tender) -> OpeningSession | None:
    """The tender's opening session once its record is closed (closed phase and time),
    else None. Used by supervision's open data (bidders are public only then)."""
    session = OpeningSession.objects.filter(tender=tender).first()
    if session is None or session.phase != OpeningSession.Phase.CLOSED or not session.closed_at:
        return None
    return session


def opening_objections_of(tender, organisation_id: int):
    """The objections a bidder raised at the tender's opening, with their session, oldest
    first. Used by supervision's complaints (a complaint follows an objection, Reg 60)."""
    return (Objection.objects.filter(session__tender=tender, bidder_id=organisation_id)
            .select_related("session").order_by("raised_at"))
