"""The online opening (不见面开标): one module owns its rules.

At the deadline the clock starts the opening (``opening_start``): the tender moves to
``opening``, the accepted envelopes' digests are fixed in a Merkle tree, and the
decryption window opens. Each bidder hands over the data keys of its bid and its price
sheet (``opening_decrypt``); the server checks every GCM tag, decrypts, reads the price
sheet and announces it (at once, or all together when the window closes, as the
tender says). When the window closes (``opening_close_window``) bids nobody decrypted
follow the tender's rule (E-Rules 31): the custodians open them with the threshold
opening key (``opening_custodian_share``), or they count as revoked. Objections are
raised and answered in the hall (Reg 44); bidders confirm the record, and silence
within the confirmation time counts as confirmation. ``opening_finish`` writes the
signed record and moves the tender to ``opened``.

State lives in the database; the websocket hall only announces it. Every function is
safe to retry, and every clock-driven one is idempotent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from bidding.bids.models import Bid
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender, TenderKeyShare
from bidding.tenders.policies import is_owner
from bidding.tenders.reference import AnnounceMode, DecryptionFallback
from core import statutory, timefmt
from core.clock import for_each
from core.prepared import Prepared
from core.realtime import broadcast_on_commit
from core.refusals import refuse
from crypto import envelope, merkle, threshold
from crypto.errors import CryptoError

from . import at_rest
from .models import (
    BidOpening,
    Confirmation,
    CustodianShare,
    Objection,
    OpeningSession,
    OpeningSignin,
)
from .policies import require_bidder
from .realtime import opening_group
from .signals import bid_rejected_unopenable, opening_closed

log = logging.getLogger(__name__)
S = Tender.Status
P = OpeningSession.Phase
B = BidOpening.Status


def _announce(event: dict, tender_id: int) -> None:
    broadcast_on_commit(opening_group(tender_id), event)


# The queries of a bidder's hand-over, compiled once (``core.prepared``): each
# hand-over announces a price to the whole hall, and the ORM's building and compiling
# of these short queries cost more than running them.
_BIDDER_OPENING = Prepared(
    lambda tender_id, bidder_id: BidOpening.objects.select_related("session", "bid__bidder")
    .filter(session__tender_id=tender_id, bid__bidder_id=bidder_id).order_by("pk")[:1],
    tender_id=int, bidder_id=int)
_SESSION_LOCKED = Prepared(
    lambda tender_id: OpeningSession.objects.select_for_update(no_key=True)
    .filter(tender_id=tender_id),
    tender_id=int)
_STATUS_LOCKED = Prepared(
    lambda pk: BidOpening.objects.select_for_update(no_key=True).filter(pk=pk)
    .values_list("status")[:2],
    pk=int)
_LAST_ANNOUNCED = Prepared(
    lambda session_id: BidOpening.objects.filter(
        session_id=session_id, announce_order__isnull=False)
    .order_by("-announce_order").values_list("announce_order")[:1],
    session_id=int)
_COUNTED = Prepared(
    lambda session_id: BidOpening.objects.filter(session_id=session_id).order_by()
    .values_list("status", "announced_at"),
    session_id=int)


def _session(tender: Tender, *, lock: bool = True) -> OpeningSession:
    """The tender's opening session, its row locked unless ``lock`` is False."""
    if lock:  # one session per tender (its own key): no second row to tell apart
        session = _SESSION_LOCKED.first(tender_id=tender.pk)
    else:
        session = OpeningSession.objects.filter(tender_id=tender.pk).first()
    if session is None:
        raise refuse("__all__", _("The opening has not started."), "not_started")
    session.tender = tender
    return session


def _bidder_opening(session: OpeningSession, user) -> BidOpening:
    """The user's bid in the opening, its row locked."""
    require_bidder(user)
    item = (
        BidOpening.objects.select_for_update(no_key=True, of=("self",))
        .select_related("bid__bidder")
        .filter(session=session, bid__bidder_id=user.organisation_id)
        .first()
    )
    if item is None:
        raise PermissionDenied(_("Your organisation has no bid in this opening."))
    item.session = session
    item.bid.tender = session.tender
    return item


def _bidder_opening_unlocked(tender: Tender, user) -> BidOpening:
    """The user's bid in the opening and its session, read in one query without locks:
    a first look, checked again under the locks before anything is saved."""
    require_bidder(user)
    item = _BIDDER_OPENING.first(tender_id=tender.pk, bidder_id=user.organisation_id)
    if item is None:
        _session(tender, lock=False)  # refuses "not started" before "no bid of yours"
        raise PermissionDenied(_("Your organisation has no bid in this opening."))
    item.session.tender = item.bid.tender = tender
    return item


def _relock_status(item: BidOpening) -> None:
    """Lock ``item``'s row and read its status again: what another request (a second
    tab, the window's close) may have changed since ``item`` was read without a lock."""
    ((item.status,),) = _STATUS_LOCKED.rows(pk=item.pk)


# --- start ---------------------------------------------------------------------------


def opening_start(*, tender_id: int, now: datetime | None = None) -> OpeningSession | None:
    """Start the opening of a tender whose bidding has closed.

    Law 34: the opening is at the deadline. The lifecycle's guards decide whether it
    may start (the minimum number of bids, Reg 44); if not, the tender fails with the
    guard's reason and None is returned. Idempotent: returns the existing session."""
    now = now or timezone.now()
    with transaction.atomic():
        tender = Tender.objects.select_for_update(no_key=True).get(pk=tender_id)
        existing = OpeningSession.objects.filter(tender=tender).first()
        if existing or tender.status != S.BIDDING_CLOSED:
            return existing
        moved_to = lifecycle.tender_advance_or_fail(
            tender=tender, to=S.OPENING, by=lifecycle.CLOCK, now=now
        )
        if moved_to != S.OPENING:
            return None
        bids = list(
            Bid.objects.filter(tender=tender, status=Bid.Status.SUBMITTED).order_by("submitted_at")
        )
        digests = [b.sha256 for b in bids]
        session = OpeningSession.objects.create(
            tender=tender,
            started_at=now,
            window_ends_at=now + timedelta(minutes=tender.decryption_window_minutes),
            merkle_root=merkle.root(digests),
            merkle_size=len(set(digests)),
        )
        BidOpening.objects.bulk_create(BidOpening(session=session, bid=b) for b in bids)
        OpeningSignin.objects.filter(tender=tender).update(session=session)
        audit_record(
            actor="clock",
            action="opening.start",
            obj=session,
            payload={
                "tender": tender.reference,
                "merkle_root": session.merkle_root,
                "bids": len(bids),
                "window_ends_at": session.window_ends_at,
            },
        )
        _announce(
            {
                "type": "hall.phase",
                "phase": session.phase,
                "window_ends_at": session.window_ends_at.isoformat(),
                "bids": len(bids),
            },
            tender.pk,
        )
    return session


# --- sign-in ---------------------------------------------------------------------------


def opening_signin(*, user, tender: Tender, now: datetime | None = None) -> OpeningSignin:
    """A bidder signs in to the hall (签到): before the deadline or while decrypting."""
    now = now or timezone.now()
    require_bidder(user, _("Only bidders sign in."))
    with transaction.atomic():
        locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
        session = OpeningSession.objects.filter(tender=locked).first()
        has_bid = Bid.objects.filter(
            tender=locked, bidder_id=user.organisation_id, status=Bid.Status.SUBMITTED
        ).exists()
        if not has_bid:
            raise PermissionDenied(_("Your organisation has no bid on this tender."))
        if locked.status not in (S.PUBLISHED, S.BIDDING_CLOSED, S.OPENING) or (
            session and session.phase != P.DECRYPTING
        ):
            raise refuse("__all__", _("Sign-in is closed."), "signin_closed")
        signin, created = OpeningSignin.objects.get_or_create(
            tender=locked,
            bidder_id=user.organisation_id,
            defaults={"user": user, "signed_in_at": now, "session": session},
        )
        if created:
            audit_record(
                actor=user,
                action="opening.signin",
                obj=signin,
                payload={"tender": locked.reference},
                sealed_tender_id=locked.pk,
            )
            if session:
                _announce(
                    {
                        "type": "hall.signin",
                        "bidder": user.organisation.name,
                        "at": now.isoformat(),
                    },
                    locked.pk,
                )
    return signin


# --- decryption ----------------------------------------------------------------------------


def read_price_sheet(sealed: bytes, sheet_key: bytes, *, tender_id: str,
                     bidder_id: str) -> dict:
    """Open a sealed price sheet with its data key (every tag checked) and read its JSON
    object. Raises ``CryptoError`` if the key does not open it or it is not a JSON
    object. Shared with the award's second price round (``bidding.award.price_round``)."""
    sheet = envelope.open_bytes(sealed, sheet_key, tender_id=tender_id, bidder_id=bidder_id)
    try:
        price_sheet = json.loads(sheet.decode("utf-8"))
        if not isinstance(price_sheet, dict):
            raise ValueError("not an object")
    except (UnicodeDecodeError, ValueError) as exc:
        raise CryptoError(f"the price sheet is not JSON: {exc}") from exc
    return price_sheet


def _decrypt_into(item: BidOpening, bid_key: bytes, sheet_key: bytes) -> dict:
    """Check every tag of the bid with its data key, decrypt it into an at-rest file
    (never a plaintext one: ``bidding.opening.at_rest``), read the price sheet. Puts the
    document's fields on ``item`` (the caller saves). Raises ``CryptoError`` if a key
    does not open its envelope."""
    bid = item.bid
    ids = {"tender_id": bid.tender.reference, "bidder_id": bid.bidder.credit_code}
    price_sheet = read_price_sheet(bytes(bid.price_sheet), sheet_key, **ids)
    with bid.envelope.open("rb") as src:
        values = at_rest.decrypt_to_rest(item, src, bid_key, **ids)
    at_rest.apply(item, values)
    return price_sheet


def _mark_decrypted(
    item: BidOpening, session: OpeningSession, *, by: str, price_sheet: dict, now: datetime
) -> None:
    item.status = B.DECRYPTED
    item.decrypted_by = by
    item.decrypted_at = now
    item.price_sheet = price_sheet
    fields = ["status", "decrypted_by", "decrypted_at", "price_sheet",
              *at_rest.DOCUMENT_FIELDS]
    as_decrypted = item.bid.tender.announce_mode == AnnounceMode.AS_DECRYPTED
    if as_decrypted:
        fields += _number_announcement(item, session, now)
    item.save(update_fields=fields)
    if as_decrypted:
        _announce_bid(item, session)
    else:
        _announce({"type": "hall.counters", "counters": counters(session)}, session.tender_id)


def _number_announcement(item: BidOpening, session: OpeningSession, now: datetime) -> list[str]:
    """Give ``item`` the hall's next announcement number (the session's row is locked);
    returns the fields to save."""
    last = _LAST_ANNOUNCED.first(session_id=session.pk)
    item.announce_order = (last[0] if last else 0) + 1
    item.announced_at = now
    return ["announce_order", "announced_at"]


def _announce_bid(item: BidOpening, session: OpeningSession) -> None:
    """唱标: make a decrypted bid's price sheet public in the hall (the caller has
    numbered and saved it: ``_number_announcement``)."""
    audit_record(
        actor="platform",
        action="opening.announce",
        obj=item,
        payload={
            "bidder": item.bid.bidder.credit_code,
            "price_sheet": item.price_sheet,
            "sha256": item.bid.sha256,
            "order": item.announce_order,
        },
    )
    _announce(
        {"type": "hall.announce", "bid": announced_row(item), "counters": counters(session)},
        session.tender_id,
    )


#: The columns of an announced bid, as ``BidOpening.objects.values(*ANNOUNCED)`` reads
#: them: what the hall shows of it (``announced_row_of``).
ANNOUNCED = ("announce_order", "bid__bidder__name", "bid__bidder__credit_code", "price_sheet",
             "decrypted_by", "bid__sha256", "announced_at")


def announced_row(item: BidOpening) -> dict:
    return announced_row_of({
        "announce_order": item.announce_order, "bid__bidder__name": item.bid.bidder.name,
        "bid__bidder__credit_code": item.bid.bidder.credit_code,
        "price_sheet": item.price_sheet, "decrypted_by": item.decrypted_by,
        "bid__sha256": item.bid.sha256, "announced_at": item.announced_at})


def announced_row_of(values: dict) -> dict:
    """An announced bid as the hall shows it, from its ``ANNOUNCED`` values."""
    at = values["announced_at"]
    return {
        "order": values["announce_order"],
        "bidder": values["bid__bidder__name"],
        "credit_code": values["bid__bidder__credit_code"],
        "price_sheet": values["price_sheet"],
        "decrypted_by": values["decrypted_by"],
        "sha256": values["bid__sha256"],
        "announced_at": timefmt.iso(at) if at else None,
    }


def counters(session: OpeningSession, items=None) -> dict:
    """The hall's live counters: how many bids, decrypted, pending, announced. ``items``:
    the ``status`` and ``announced_at`` values of all the session's bids, when the caller
    has just read them."""
    counts = {s: 0 for s in B.values}
    announced = 0
    rows = (_COUNTED.rows(session_id=session.pk) if items is None
            else ((i["status"], i["announced_at"]) for i in items))
    for status, at in rows:
        counts[status] += 1
        announced += at is not None
    return {
        "bids": sum(counts.values()),
        "decrypted": counts[B.DECRYPTED],
        "pending": counts[B.PENDING],
        "not_decrypted": counts[B.REVOKED] + counts[B.WITHDRAWN],
        "announced": announced,
    }


def data_key(value, what: str) -> bytes:
    """A 32-byte data key handed over as bytes, hex or base64; refused (``bad_key``,
    keyed by ``what``) otherwise. Shared with the award's second price round."""
    if isinstance(value, bytes):
        raw = value
    else:
        text = str(value or "").strip()
        try:
            raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
        except (ValueError, binascii.Error):
            raw = b""
    if len(raw) != 32:
        raise refuse(what, _("A data key is 32 bytes, as hex or base64."), "bad_key")
    return raw


def opening_decrypt(
    *, user, tender: Tender, bid_key, price_sheet_key, now: datetime | None = None
) -> BidOpening:
    """The bidder hands over the data keys of its bid and its price sheet, in the window.

    The window is judged by the time the request arrived (``now``, read before any lock
    is waited for). Keys are checked against every tag before anything is announced; a
    wrong key is refused, the failure stays in the audit log, and the bidder may try
    again until the window closes. Decryption runs without holding any lock, so one
    large bid does not hold up the other bidders' hand-overs: the bid is read and
    checked first without locks, and what a concurrent request may have changed (the
    session's phase, the bid's status) is checked again under the locks before the
    result is saved and announced.
    """
    now = now or timezone.now()
    bid_key = data_key(bid_key, "bid_key")
    sheet_key = data_key(price_sheet_key, "price_sheet_key")
    item = _bidder_opening_unlocked(tender, user)
    _check_decryptable(item.session, item, now)
    try:
        price_sheet = _decrypt_into(item, bid_key, sheet_key)
    except CryptoError as exc:
        # Its own transaction: the refusal below must not roll the failure back.
        with transaction.atomic():
            audit_record(
                actor=user, action="opening.decrypt_failed", obj=item, payload={"reason": str(exc)}
            )
        raise refuse(
            "__all__",
            _("These keys do not open your bid: %(reason)s") % {"reason": exc},
            "wrong_key",
        ) from exc
    stored = {f: getattr(item, f) for f in at_rest.DOCUMENT_FIELDS}
    stored["document"] = item.document.name
    try:
        with transaction.atomic():
            session = _session(tender)
            _relock_status(item)
            _check_decryptable(session, item, now)
            audit_record(
                actor=user,
                action="opening.decrypt",
                obj=item,
                payload={"sha256": item.bid.sha256, "by": "bidder",
                         "document_sha256": stored["document_sha256"]},
            )
            _mark_decrypted(item, session, by="bidder", price_sheet=price_sheet, now=now)
    except BaseException:
        # Another hand-over (a second tab) won, or the window closed meanwhile: this
        # attempt's encrypted file is on no row.
        at_rest.discard(stored)
        raise
    return item


def _check_decryptable(session: OpeningSession, item: BidOpening, now: datetime) -> None:
    """A bidder's hand-over counts if it arrived before the window ended and its bid is
    still waiting (not decrypted meanwhile, nor revoked by the window's close)."""
    if item.status == B.DECRYPTED:
        raise refuse("__all__", _("Your bid is already decrypted."), "already_decrypted")
    if item.status != B.PENDING or now >= session.window_ends_at or session.phase not in (
        P.DECRYPTING, P.CUSTODIANS
    ):
        raise refuse("__all__", _("The decryption window has closed."), "window_closed")


# --- window close and custodians ---------------------------------------------------------


def opening_close_window(*, tender_id: int, now: datetime | None = None) -> bool:
    """Clock: when the window ends, apply the tender's rule to undecrypted bids."""
    now = now or timezone.now()
    with transaction.atomic():
        session = (
            OpeningSession.objects.select_for_update(no_key=True)
            .filter(tender_id=tender_id)
            .first()
        )
        if not session or session.phase != P.DECRYPTING or now < session.window_ends_at:
            return False
        pending = list(session.bids.select_for_update(no_key=True).filter(status=B.PENDING))
        if pending and session.tender.decryption_fallback == DecryptionFallback.CUSTODIANS:
            session.phase = P.CUSTODIANS
            session.custodians_until = now + timedelta(
                minutes=statutory.value("CUSTODIAN_WINDOW_MINUTES"))
            session.save(update_fields=["phase", "custodians_until"])
            audit_record(
                actor="clock",
                action="opening.window_closed",
                obj=session,
                payload={"pending": len(pending), "next": "custodians"},
            )
            _announce(
                {"type": "hall.phase", "phase": session.phase, "pending": len(pending),
                 "custodians_until": session.custodians_until.isoformat()},
                tender_id,
            )
            return True
        for item in pending:
            item.status = B.REVOKED
            item.reason = "not decrypted by the bidder within the window (E-Rules 31)"
            item.save(update_fields=["status", "reason"])
        audit_record(
            actor="clock",
            action="opening.window_closed",
            obj=session,
            payload={"pending": len(pending), "next": "confirming"},
        )
        _to_confirming(session, now)
    return True


def opening_close_custodians(*, tender_id: int, now: datetime | None = None) -> bool:
    """Clock: the custodians' time is over. Bids still unopened were not opened through
    no fault of their bidders (E-Rules 31): withdrawn, bonds back. Then every price is
    announced at once and the record goes to the bidders for confirmation."""
    now = now or timezone.now()
    with transaction.atomic():
        session = (
            OpeningSession.objects.select_for_update(no_key=True)
            .filter(tender_id=tender_id)
            .first()
        )
        if (not session or session.phase != P.CUSTODIANS or session.custodians_until is None
                or now < session.custodians_until):
            return False
        pending = list(session.bids.select_for_update(no_key=True).filter(status=B.PENDING))
        for item in pending:
            item.status = B.WITHDRAWN
            item.reason = ("the custodians did not open it in time "
                           "(E-Rules 31: not the bidder's fault)")
            item.save(update_fields=["status", "reason"])
        audit_record(
            actor="clock",
            action="opening.custodians_closed",
            obj=session,
            payload={"withdrawn": len(pending), "shares": session.shares.count()},
        )
        _to_confirming(session, now)
    return True


def _reject_unopenable(item: BidOpening, session: OpeningSession, *, proof: dict,
                       now: datetime) -> None:
    """A bid that nobody can open although the custodians' key was rebuilt and checked:
    only its bidder can have sealed it so (a random key in the custodians' stanza, say).
    It is rejected with the proof, its bond is kept where the tender documents say so
    (E-Rules 31), and supervision is told. Runs inside the caller's transaction."""
    from bidding.bids.services import bond_settle_unopenable

    tender = session.tender
    item.status = B.REJECTED
    item.reason = "sealed so that the custodians' key cannot open it (E-Rules 31: bidder's fault)"
    item.proof = proof
    item.save(update_fields=["status", "reason", "proof"])
    bond = bond_settle_unopenable(tender=tender, bidder_id=item.bid.bidder_id, now=now)
    audit_record(
        actor="platform",
        action="opening.reject",
        obj=item,
        payload={"sha256": item.bid.sha256, "proof": proof,
                 "bond": bond.status if bond else None},
    )
    bid_rejected_unopenable.send(sender=BidOpening, item=item, tender=tender, proof=proof)


def _to_confirming(session: OpeningSession, now: datetime) -> None:
    if session.tender.announce_mode == AnnounceMode.AT_CLOSE:
        for item in (
            session.bids.filter(status=B.DECRYPTED, announced_at__isnull=True)
            .select_related("bid__bidder")
            .order_by("bid__submitted_at")
        ):
            item.save(update_fields=_number_announcement(item, session, now))
            _announce_bid(item, session)
    session.phase = P.CONFIRMING
    session.confirm_until = now + timedelta(minutes=statutory.value("OPENING_CONFIRM_MINUTES"))
    session.save(update_fields=["phase", "confirm_until"])
    _announce(
        {
            "type": "hall.phase",
            "phase": session.phase,
            "confirm_until": session.confirm_until.isoformat(),
            "counters": counters(session),
        },
        session.tender_id,
    )


def opening_custodian_share(
    *, user, tender: Tender, share: dict, now: datetime | None = None
) -> int:
    """A custodian hands over its shares (``python -m ggzy_bid hall-share``).

    Only after the window has closed with undecrypted bids. ``share`` is
    ``{"v": 2, "bids": {envelope sha256: {"x", "envelope": base64 share,
    "price_sheet": base64 share}}, "opening_key_share": legacy v1 share (optional)}``:
    the custodian decrypted its shares of every pending bid on its own machine
    (``crypto.custody.unwrap_share``). Each share is checked at once against the
    bidder's commitment in the envelope header; a bad one is refused naming the
    custodian. A bid the custodian could not decrypt may be left out (even all of
    them: the custodian has still taken its turn). Every pending
    bid with k good shares is then opened (``_open_with_custodians``). A legacy
    (v1) share is checked when k of them rebuild the legacy opening key. Returns how
    many custodians have handed over shares."""
    from crypto import custody, shamir

    with transaction.atomic():
        session = _session(tender)
        now = now or timezone.now()
        if session.phase != P.CUSTODIANS:
            raise refuse(
                "__all__",
                _(
                    "Custodian shares are taken only after the decryption "
                    "window has closed with undecrypted bids."
                ),
                "not_custodian_phase",
            )
        mine = TenderKeyShare.objects.filter(tender_id=tender.pk, custodian=user).first()
        if mine is None:
            raise PermissionDenied(_("You hold no share of this tender's opening key."))
        if not isinstance(share, dict):
            raise refuse("share", _("Not a set of decrypted shares."), "bad_share")
        stored: dict = {"v": 2, "x": mine.x, "bids": {}}
        legacy = share.get("opening_key_share") if share.get("v") == 2 else share
        if legacy:
            try:
                parsed = shamir.ThresholdShare.from_dict(legacy)
            except (CryptoError, TypeError, ValueError, KeyError, AttributeError) as exc:
                raise refuse(
                    "share", _("Not a decrypted share: %(reason)s") % {"reason": exc},
                    "bad_share",
                ) from exc
            if parsed.x != mine.x:
                raise refuse("share", _("This is not your share (wrong index)."), "bad_share")
            stored["opening_key_share"] = parsed.to_dict()
        given = share.get("bids") if share.get("v") == 2 else {}
        if not isinstance(given, dict):
            raise refuse("share", _("Not a set of decrypted shares."), "bad_share")
        for item in session.bids.filter(status=B.PENDING).select_related("bid"):
            bid = item.bid
            entry = given.get(bid.sha256)
            if not entry:
                continue
            try:
                header = _header(bid)
                if header.version != envelope.VERSION_CUSTODY:
                    continue
                custody.check_share(header, mine.x, str(entry["envelope"]))
                custody.check_share(bytes(bid.price_sheet), mine.x, str(entry["price_sheet"]))
            except custody.BidderFault:
                pass  # a committed share that is junk: the bidder's; judged on combining
            except (CryptoError, KeyError, TypeError) as exc:
                raise refuse(
                    "share",
                    _("Custodian %(who)s (x = %(x)s): your share of bid %(sha)s does not "
                      "match the bidder's commitment: %(reason)s")
                    % {"who": user.get_username(), "x": mine.x, "sha": bid.sha256[:16],
                       "reason": exc},
                    "bad_share",
                ) from exc
            stored["bids"][bid.sha256] = {"envelope": str(entry["envelope"]),
                                          "price_sheet": str(entry["price_sheet"])}
        if share.get("v") != 2 and "opening_key_share" not in stored:
            raise refuse("share", _("No share of any undecrypted bid was handed over."),
                         "bad_share")
        # A v2 hand-over may hold no share at all: a custodian whose shares the bidders
        # wrapped so that they do not decrypt still takes its turn, so that once every
        # custodian has, bids short of k shares are settled instead of waiting forever.
        CustodianShare.objects.update_or_create(
            session=session,
            custodian=user,
            defaults={"share": stored, "submitted_at": now},
        )
        audit_record(actor=user, action="opening.share", obj=session,
                     payload={"x": mine.x, "bids": sorted(stored["bids"])})
        count = session.shares.count()
        _announce(
            {
                "type": "hall.share",
                "custodian": user.get_username(),
                "shares": count,
                "threshold": tender.opening_threshold,
            },
            tender.pk,
        )
        if count >= (tender.opening_threshold or 2):
            _open_with_custodians(session, now)
    return count


def _open_with_custodians(session: OpeningSession, now: datetime) -> None:
    """Open every pending bid the custodians' shares can open.

    v2 bids: with k shares checked against their commitments, rebuild the data keys
    (``crypto.custody.combine``); if k matching shares do not open the envelope the
    bidder sealed it so: the bid is rejected with the proof (``_reject_unopenable``,
    proof kind ``custodian_shares_do_not_open``, ``crypto.custody.FaultProof``).
    Legacy v1 bids: with k legacy shares, rebuild the opening key. A bid with fewer
    than k shares waits for more custodians; once every custodian has handed over,
    it stays unopened through no proven fault of its bidder (withdrawn)."""
    from crypto import custody, shamir

    tender = session.tender
    handed = list(session.shares.all())
    k = tender.opening_threshold or 2
    seat_count = TenderKeyShare.objects.filter(tender_id=tender.pk).count()
    everyone = len(handed) >= seat_count
    legacy = [shamir.ThresholdShare.from_dict(s.share.get("opening_key_share", s.share))
              for s in handed if "opening_key_share" in s.share or "commitment" in s.share]
    private = None
    if len(legacy) >= k and tender.opening_public_key:
        try:
            private = threshold.opening_key_combine(
                legacy, opening_public_key=bytes(tender.opening_public_key)
            )
        except CryptoError as exc:
            raise refuse(
                "share",
                _("The shares do not rebuild the opening key: %(reason)s") % {"reason": exc},
                "bad_share",
            ) from exc
    for item in (
        session.bids.select_for_update(no_key=True)
        .filter(status=B.PENDING)
        .select_related("bid__bidder", "bid__tender")
    ):
        bid = item.bid
        header = _header(bid)
        if header.version == envelope.VERSION_CUSTODY:
            mine = {s.share.get("x"): s.share.get("bids", {}).get(bid.sha256)
                    for s in handed}
            mine = {x: v for x, v in mine.items() if x and v}
            if len(mine) < header.threshold:
                if everyone:
                    item.status = B.WITHDRAWN
                    item.reason = (f"only {len(mine)} of the {header.threshold} custodian "
                                   "shares needed could be handed over")
                    item.save(update_fields=["status", "reason"])
                continue
            try:
                bid_key = custody.combine(header, {x: v["envelope"] for x, v in mine.items()},
                                          envelope_sha256=bid.sha256)
                sheet_key = custody.combine(bytes(bid.price_sheet),
                                            {x: v["price_sheet"] for x, v in mine.items()})
                price_sheet = _decrypt_into(item, bid_key, sheet_key)
            except custody.BidderFault as fault:
                _reject_unopenable(item, session, now=now, proof={
                    "kind": "custodian_shares_do_not_open",
                    "reason": str(fault),
                    "envelope_sha256": bid.sha256,
                    "fault_proof": fault.proof.to_dict(),
                    "checked_at": now.isoformat(),
                })
                continue
            except CryptoError as exc:
                _reject_unopenable(item, session, now=now, proof={
                    "kind": "custodian_data_key_does_not_open",
                    "reason": str(exc),
                    "envelope_sha256": bid.sha256,
                    "header_sha256": hashlib.sha256(header.raw).hexdigest(),
                    "checked_at": now.isoformat(),
                })
                continue
        else:
            if private is None:
                if everyone:
                    item.status = B.WITHDRAWN
                    item.reason = "the custodians could not rebuild the legacy opening key"
                    item.save(update_fields=["status", "reason"])
                continue
            try:
                bid_key = envelope.unwrap_data_key(header, private, label="opening")
                sheet_key = envelope.unwrap_data_key(bytes(bid.price_sheet), private,
                                                     label="opening")
                price_sheet = _decrypt_into(item, bid_key, sheet_key)
            except CryptoError as exc:
                # The key was rebuilt and checked against the published public key
                # above, so a bid it cannot open was sealed that way by its bidder.
                _reject_unopenable(item, session, now=now, proof={
                    "kind": "custodian_key_does_not_open",
                    "reason": str(exc),
                    "opening_key_fingerprint": tender.opening_key_fingerprint,
                    "envelope_sha256": bid.sha256,
                    "header_sha256": hashlib.sha256(header.raw).hexdigest(),
                    "checked_at": now.isoformat(),
                })
                continue
        audit_record(
            actor="custodians",
            action="opening.decrypt",
            obj=item,
            payload={"sha256": bid.sha256, "by": "custodians"},
        )
        _mark_decrypted(item, session, by="custodians", price_sheet=price_sheet, now=now)
    if not session.bids.filter(status=B.PENDING).exists():
        _to_confirming(session, now)


def _header(bid: Bid) -> envelope.EnvelopeHeader:
    with bid.envelope.open("rb") as fh:
        return envelope.read_header(fh)


# --- objections and confirmation -------------------------------------------------------------


def _free_text(value, field: str) -> str:
    """Text typed in the hall, stripped; a NUL is refused (PostgreSQL cannot store it, and
    no keyboard types it), whichever way the text arrived."""
    text = str(value or "").strip()
    if "\x00" in text:
        raise refuse(field, _("The text contains a NUL character."), "nul_byte")
    return text


def opening_objection_raise(
    *, user, tender: Tender, text: str, now: datetime | None = None
) -> Objection:
    """A bidder objects to the opening (Reg 44); the host answers on the spot."""
    text = _free_text(text, "text")
    if not text:
        raise refuse("text", _("Write the objection."), "empty")
    now = now or timezone.now()
    with transaction.atomic():
        session = _session(tender)
        if session.phase == P.CLOSED:
            raise refuse("__all__", _("The opening is closed."), "closed")
        item = _bidder_opening(session, user)
        objection = Objection.objects.create(
            session=session,
            bidder_id=item.bid.bidder_id,
            raised_by=user,
            text=text[:2000],
            raised_at=now,
        )
        audit_record(
            actor=user, action="opening.objection", obj=objection, payload={"text": objection.text}
        )
        _announce({"type": "hall.objection", **objection_row(objection)}, tender.pk)
    return objection


def objection_row(o: Objection) -> dict:
    return {
        "id": o.pk,
        "bidder": o.bidder.name,
        "text": o.text,
        "raised_at": timefmt.iso(o.raised_at),
        "answer": o.answer,
        "answered_at": timefmt.iso(o.answered_at) if o.answered_at else None,
    }


def opening_objection_answer(
    *, user, tender: Tender, objection_id, answer: str, now: datetime | None = None
) -> Objection:
    now = now or timezone.now()
    answer = _free_text(answer, "answer")
    if not answer:
        raise refuse("answer", _("Write the answer."), "empty")
    if not is_owner(user, tender):
        raise PermissionDenied(_("Only the host (the tenderer or its agency) answers."))
    with transaction.atomic():
        session = _session(tender)
        objection = (
            Objection.objects.select_for_update(no_key=True)
            .filter(session=session, pk=objection_id)
            .first()
        )
        if objection is None:
            raise refuse("objection", _("No such objection."), "not_found")
        if objection.answered_at:
            raise refuse("objection", _("This objection has been answered."), "answered")
        objection.answer = answer[:2000]
        objection.answered_at = now
        objection.answered_by = user
        objection.save(update_fields=["answer", "answered_at", "answered_by"])
        audit_record(
            actor=user, action="opening.answer", obj=objection, payload={"answer": objection.answer}
        )
        _announce({"type": "hall.answer", **objection_row(objection)}, tender.pk)
    return objection


def opening_confirm(
    *, user, tender: Tender, remark: str = "", now: datetime | None = None
) -> Confirmation:
    """A bidder confirms the opening record within the confirmation time. Once every
    bidder has confirmed, the record is made at once (not only when the time is up)."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _session(tender)
        item = _bidder_opening(session, user)
        if session.phase != P.CONFIRMING or now >= session.confirm_until:
            raise refuse("__all__", _("The record is not open for confirmation."), "not_confirming")
        confirmation, created = Confirmation.objects.get_or_create(
            session=session,
            bidder_id=item.bid.bidder_id,
            defaults={"confirmed_at": now, "remark": _free_text(remark, "remark")[:500]},
        )
        if created:
            audit_record(
                actor=user,
                action="opening.confirm",
                obj=confirmation,
                payload={"remark": confirmation.remark},
            )
            _announce(
                {"type": "hall.confirmed", "bidder": item.bid.bidder.name, "deemed": False},
                tender.pk,
            )
            if _all_confirmed(session):
                tender_id = tender.pk
                transaction.on_commit(lambda: _finish_now(tender_id))
    return confirmation


def _all_confirmed(session: OpeningSession) -> bool:
    bidders = set(session.bids.values_list("bid__bidder_id", flat=True))
    confirmed = set(session.confirmations.values_list("bidder_id", flat=True))
    return bool(bidders) and bidders <= confirmed


def _finish_now(tender_id: int) -> None:
    """After the last confirmation commits; if this fails, the clock finishes it later."""
    try:
        opening_finish(tender_id=tender_id)
    except Exception:
        log.exception("opening of tender %s: the record after the last confirmation failed; "
                      "the clock retries", tender_id)


def opening_finish(*, tender_id: int, now: datetime | None = None) -> bool:
    """Clock, or the last confirmation: once every bidder has confirmed or the
    confirmation time is over, record silence as confirmation, write and sign
    the record, publish it, and move the tender to opened (or to failed, when the
    lifecycle's guard finds too few bids opened, Reg 44)."""
    from .pdf.record import opening_record_pdf

    now = now or timezone.now()
    with transaction.atomic():
        session = (
            OpeningSession.objects.select_for_update(no_key=True)
            .filter(tender_id=tender_id)
            .first()
        )
        if not session or session.phase != P.CONFIRMING:
            return False
        if now < session.confirm_until and not _all_confirmed(session):
            return False
        for item in session.bids.select_related("bid"):
            Confirmation.objects.get_or_create(
                session=session,
                bidder_id=item.bid.bidder_id,
                defaults={"confirmed_at": session.confirm_until, "deemed": True},
            )
        session.phase = P.CLOSED
        session.closed_at = now
        pdf = opening_record_pdf(session)
        session.record_sha256 = hashlib.sha256(pdf).hexdigest()
        session.record.save(
            f"{session.tender.reference}-opening-record.pdf", ContentFile(pdf), save=False
        )
        session.save(update_fields=["phase", "closed_at", "record", "record_sha256"])
        valid = session.bids.filter(status=B.DECRYPTED).count()
        lifecycle.tender_advance_or_fail(
            tender=session.tender,
            to=S.OPENED,
            by=lifecycle.SYSTEM,
            reason=f"{valid} valid bids",
            now=now,
        )
        audit_record(
            actor="platform",
            action="opening.record",
            obj=session,
            payload={
                "record_sha256": session.record_sha256,
                "merkle_root": session.merkle_root,
                "valid_bids": valid,
            },
        )
        _announce(
            {
                "type": "hall.closed",
                "phase": P.CLOSED,
                "record_url": f"/api/tenders/{tender_id}/opening/record.pdf",
                "record_sha256": session.record_sha256,
            },
            tender_id,
        )
        transaction.on_commit(
            lambda: opening_closed.send(OpeningSession, tender=session.tender, session=session))
    return True


def opening_tick(*, now: datetime | None = None) -> None:
    """Every clock-driven step of every opening that is due. Idempotent; one tender's
    failure is logged and does not hold up the others."""
    now = now or timezone.now()
    for_each(
        Tender.objects.filter(status=S.BIDDING_CLOSED).values_list("pk", flat=True),
        lambda pk: opening_start(tender_id=pk, now=now), what="starting the opening of tender",
    )
    for_each(
        OpeningSession.objects.filter(phase=P.DECRYPTING, window_ends_at__lte=now)
        .values_list("tender_id", flat=True),
        lambda pk: opening_close_window(tender_id=pk, now=now),
        what="closing the decryption window of tender",
    )
    for_each(
        OpeningSession.objects.filter(phase=P.CUSTODIANS, custodians_until__lte=now)
        .values_list("tender_id", flat=True),
        lambda pk: opening_close_custodians(tender_id=pk, now=now),
        what="closing the custodians' time of tender",
    )
    # Every confirming session: opening_finish decides (time over, or all confirmed).
    for_each(
        OpeningSession.objects.filter(phase=P.CONFIRMING).values_list("tender_id", flat=True),
        lambda pk: opening_finish(tender_id=pk, now=now), what="finishing the opening of tender",
    )


def inclusion_proof_for(bid: Bid) -> dict:
    """The Merkle inclusion proof of one accepted envelope in its opening's tree."""
    session = bid.tender.opening
    digests = list(session.bids.values_list("bid__sha256", flat=True))
    proof = merkle.inclusion_proof(digests, bid.sha256).to_dict()
    if proof["root"] != session.merkle_root:  # the stored tree and the bids disagree
        raise CryptoError("the bids no longer match the opening's Merkle root")
    return proof
