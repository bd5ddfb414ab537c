"""Price competition (竞价定标): a second sealed price round among the candidates.

Under 评定分离 with ``decision_method=price_competition`` the award goes to the lowest
valid price of a second sealed round among the candidates. The round reuses the first
round's pieces rather than copying them:

* **The envelope** (``crypto.envelope`` format v2): each candidate seals a JSON price
  sheet (``{"total_price": ..., ...}``, as the first round's) with its own tool, to its
  registered ``bid`` key, with the data key split k-of-n among **the tender's custodian
  set** (``bidding.tenders.custody``; checked on upload by
  ``bidding.bids.sealing.check_custody``), so the platform cannot read it before the
  round's hall opens. The header's tender id is ``<reference>/price-round``
  (``envelope_id``): a first-round price sheet cannot stand for a second-round one
  (its custody commitments are bound to the other id) and a custodian's tool sees which
  round it is asked to open.
* **The hall** (``bidding.opening``): the data key is checked and the sheet read with
  ``bidding.opening.services.read_price_sheet`` / ``data_key``; shares with
  ``crypto.custody.check_share`` / ``combine`` (a bidder's fault comes with the same
  ``FaultProof``); the tender's ``decryption_fallback`` applies as in the first round;
  events go to the opening hall's websocket group (``opening_group``) as
  ``price_round.*`` events; prices are announced all together when the round closes.

Steps: ``price_round_open`` (tenderer or trading centre; deadline at least
``PRICE_ROUND_MIN_HOURS`` ahead, window within the ``DECRYPTION_WINDOW_*`` bounds) ->
``price_offer_submit`` (each candidate, once, before the deadline) -> clock at the
deadline: the hall opens (``decrypting``) -> ``price_offer_decrypt`` (candidates hand
over their data keys in the window) -> clock at the window's end: undecrypted sheets go
to the custodians (``price_round_custodian_share``, for ``CUSTODIAN_WINDOW_MINUTES``) or
are revoked, as the tender's fallback says -> close: every price announced together,
each judged, the winner decided (``AwardDecision`` + award report), then the tenderer
issues the notices (``decision.notices_issue``: ``award -> awarded``).

Rules at the close (``judge``; written into the decision's record):

* a second-round total price above the tender's **maximum price** is invalid;
* a second-round total price above the candidate's **own first-round price** is invalid
  (a price competition only lowers prices) - ``ABOVE_FIRST_RULE``;
* a sheet without a readable positive ``total_price``, one the custodians' shares prove
  unopenable (the candidate's fault), or one the candidate did not decrypt where the
  tender's fallback is revocation: invalid;
* a candidate who **submitted nothing**, or whose sheet the custodians failed to open
  through no fault of the candidate, **stands on its first-round price**
  (``NO_OFFER_RULE``);
* an invalid offer takes the candidate out of the competition;
* the lowest price among the rest wins; **ties** go to the candidate listed earlier in
  the evaluation report (``decision.TIE_RULE``), recorded as ``tie_broken``;
* no valid price at all (every candidate made an offer and every offer is invalid, so
  nobody stands on a first-round price): no decision (``outcome: no_valid_offer``) and
  **the tender fails** (``award -> failed`` by the platform, reason ``NO_VALID_REASON``):
  the failed-tender hook tells everyone and makes the bonds refundable; it must be
  re-tendered.
"""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.policies import is_bidder, is_operator
from accounts.services import notify
from audit.services import audit_record, audit_tree_head_latest
from bidding.bids import sealing
from bidding.evaluation.selectors import recommended_candidates
from bidding.opening.realtime import opening_group
from bidding.opening.services import data_key, read_price_sheet
from bidding.tenders import custody as tender_custody
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender, TenderKeyShare
from bidding.tenders.policies import is_owner
from bidding.tenders.reference import DecisionMethod, DecryptionFallback
from core import platform_keys, statutory, timefmt
from core.clock import for_each
from core.realtime import broadcast_on_commit
from core.refusals import refuse
from crypto import custody, envelope, receipts
from crypto.errors import CryptoError, MalformedData

from . import decision
from .models import AwardDecision, PriceOffer, PriceRound, PriceRoundShare

Phase = PriceRound.Phase
OS = PriceOffer.Status
S = Tender.Status
ROUND_SUFFIX = "/price-round"
ABOVE_FIRST_RULE = "above_first_round_invalid"
NO_OFFER_RULE = "first_round_price_stands"
NO_VALID_REASON = ("price competition: no candidate has a valid second-round price and none "
                   "stands on its first-round price")


def envelope_id(tender: Tender) -> str:
    """The tender id every second-round envelope header carries."""
    return f"{tender.reference}{ROUND_SUFFIX}"


def _announce(tender_id: int, event: dict) -> None:
    broadcast_on_commit(opening_group(tender_id), event)


def counters(rnd: PriceRound) -> dict:
    counts = {s: 0 for s in OS.values}
    for status in rnd.offers.values_list("status", flat=True):
        counts[status] += 1
    return {"candidates": len(rnd.candidates), "offers": sum(counts.values()), **counts}


def _locked_round(tender: Tender) -> PriceRound:
    rnd = PriceRound.objects.select_for_update().filter(tender_id=tender.pk).first()
    if rnd is None:
        raise refuse("__all__", _("No price round has been opened for this tender."),
                     "no_round")
    return rnd


def _candidate_bid(rnd: PriceRound, user):
    """The user's organisation's first-round bid among the round's candidates."""
    bids = {str(c.bid.public_id): c.bid for c in recommended_candidates(rnd.tender)}
    if is_bidder(user):
        for public_id in rnd.candidates:
            bid = bids.get(public_id)
            if bid is not None and bid.bidder_id == user.organisation_id:
                return bid
    raise refuse("__all__", _("Only the candidates take part in the price round."),
                 "not_a_candidate")


# ---------------------------------------------------------------- open the round


@transaction.atomic
def price_round_open(*, user, tender: Tender, deadline: datetime,
                     window_minutes: int | None = None,
                     now: datetime | None = None) -> PriceRound:
    """The tenderer or the trading centre opens the second price round among the
    candidates, with its deadline and decryption window; the candidates are told."""
    now = now or timezone.now()
    if not (is_owner(user, tender) or is_operator(user)):
        raise PermissionDenied(_("Only the tenderer, its agency or the trading centre opens "
                                 "the price round."))
    tender = Tender.objects.select_for_update().get(pk=tender.pk)
    if PriceRound.objects.filter(tender=tender).exists():
        raise refuse("__all__", _("The price round has already been opened; it is opened "
                                  "once."), "round_exists")
    decision._check_separate(tender, DecisionMethod.PRICE_COMPETITION)
    earliest = now + timedelta(hours=statutory.value("PRICE_ROUND_MIN_HOURS"))
    if deadline is None or deadline < earliest:
        raise refuse("deadline", _(
            "The candidates get at least %(hours)s hours to seal their prices (%(source)s).")
            % {"hours": statutory.value("PRICE_ROUND_MIN_HOURS"),
               "source": statutory.source("PRICE_ROUND_MIN_HOURS")}, "deadline_too_soon")
    if window_minutes is None:
        window_minutes = statutory.value("DECRYPTION_WINDOW_DEFAULT_MINUTES")
    statutory.check_decryption_window(int(window_minutes))
    if not tender_custody.fully_endorsed(tender):
        raise refuse("__all__", _("The tender's custodians have not all endorsed its "
                                  "custodian set; prices cannot be sealed to it."),
                     "custody_incomplete")
    candidates = decision.candidate_ids(tender)
    rnd = PriceRound.objects.create(
        tender=tender, envelope_id=envelope_id(tender), candidates=candidates,
        opened_by=user, opened_at=now, deadline=deadline,
        window_minutes=int(window_minutes))
    audit_record(actor=user, action="award.price_round_opened", obj=rnd,
                 payload={"tender": tender.reference, "candidates": candidates,
                          "deadline": deadline, "window_minutes": rnd.window_minutes,
                          "envelope_id": rnd.envelope_id,
                          "custody": tender_custody.statement(tender)},
                 summary=f"{tender.reference}: price round opened")
    for c in recommended_candidates(tender):
        notify(organisation=c.bid.bidder,
               subject=_("Price round of %(ref)s: seal your price by %(deadline)s")
               % {"ref": tender.reference, "deadline": timefmt.human(deadline)},
               link=f"/award/{tender.pk}/")
    _announce(tender.pk, {"type": "price_round.phase", "phase": rnd.phase,
                          "deadline": deadline.isoformat()})
    return rnd


# ---------------------------------------------------------------- submit


def check_sheet(sheet: bytes, *, rnd: PriceRound, organisation) -> envelope.EnvelopeInfo:
    """Without any key: a v2 envelope of this round and bidder, sealed to one of the
    bidder's registered bid keys and split among exactly the tender's endorsed
    custodian set with its threshold. Raises ``MalformedData`` with the reason."""
    info = envelope.check_structure(io.BytesIO(sheet), tender_id=rnd.envelope_id,
                                    bidder_id=sealing.bidder_id(organisation))
    if info.header.version != envelope.VERSION_CUSTODY:
        raise MalformedData("a second-round price sheet is sealed in format v2, split "
                            "among the tender's custodians")
    sealing.check_custody(info.header, rnd.tender)
    if not sealing.bidder_stanza_fingerprint(info, organisation):
        raise MalformedData("the price sheet is not sealed to a bid key registered by "
                            "your organisation")
    return info


@transaction.atomic
def price_offer_submit(*, user, tender: Tender, sheet: bytes,
                       now: datetime | None = None) -> PriceOffer:
    """A candidate submits its sealed second-round price sheet, once, before the
    deadline. The platform stores ciphertext only; the digest goes into the audit log."""
    now = now or timezone.now()
    rnd = _locked_round(tender)
    bid = _candidate_bid(rnd, user)
    if rnd.phase != Phase.SEALING or now >= rnd.deadline:
        raise refuse("__all__", _("The price round's deadline has passed."), "round_closed")
    if PriceOffer.objects.filter(round=rnd, bidder_id=bid.bidder_id).exists():
        raise refuse("__all__", _("Your organisation has already submitted its price; an "
                                  "offer is submitted once."), "already_submitted")
    sheet = bytes(sheet or b"")
    if not sheet or len(sheet) > settings.PRICE_SHEET_MAX_BYTES:
        raise refuse("price_sheet", _("The sealed price sheet is missing or too large."),
                     "price_sheet_size")
    try:
        check_sheet(sheet, rnd=rnd, organisation=bid.bidder)
    except CryptoError as exc:
        raise refuse("price_sheet", _("This price sheet cannot be accepted: %(reason)s")
                     % {"reason": exc}, "bad_price_sheet") from exc
    offer = PriceOffer(
        round=rnd, bid=bid, bidder=bid.bidder, submitted_by=user, sheet=sheet,
        sha256=hashlib.sha256(sheet).hexdigest(), submitted_at=now)
    # The same signed receipt as the first round's bid (crypto.receipts), naming the
    # round's envelope id, the SHA-256 of exactly these bytes and the audit tree head.
    offer.receipt = receipts.receipt_issue(
        platform_keys.signing_key(), tender_id=rnd.envelope_id,
        bidder_id=sealing.bidder_id(bid.bidder), sha256=offer.sha256, size=len(sheet),
        server_time=now.isoformat(timespec="microseconds"),
        extra={"round": "price", "offer": str(offer.public_id),
               "first_round_bid": str(bid.public_id)},
        tree_head=audit_tree_head_latest())
    offer.save()
    audit_record(actor=user, action="award.price_offer_submitted", obj=offer,
                 payload={"tender": tender.reference, "bidder": bid.bidder.credit_code,
                          "sha256": offer.sha256, "at": now},
                 summary=f"{tender.reference}: sealed price submitted")
    _announce(tender.pk, {"type": "price_round.counters", "counters": counters(rnd)})
    return offer


# ---------------------------------------------------------------- the hall


def price_round_start_hall(*, tender_id: int, now: datetime | None = None) -> bool:
    """Clock, at the deadline: the round's hall opens and the window starts."""
    now = now or timezone.now()
    with transaction.atomic():
        rnd = PriceRound.objects.select_for_update().filter(tender_id=tender_id).first()
        if rnd is None or rnd.phase != Phase.SEALING or now < rnd.deadline:
            return False
        rnd.phase = Phase.DECRYPTING
        rnd.window_ends_at = now + timedelta(minutes=rnd.window_minutes)
        rnd.save(update_fields=["phase", "window_ends_at"])
        submitted = {str(o.bid.public_id) for o in rnd.offers.select_related("bid")}
        absent = [c for c in rnd.candidates if c not in submitted]
        audit_record(actor="clock", action="award.price_round_hall_opened", obj=rnd,
                     payload={"offers": sorted(rnd.offers.values_list("sha256", flat=True)),
                              "no_offer": absent, "window_ends_at": rnd.window_ends_at},
                     summary=f"{rnd.tender.reference}: price round hall opened")
        _announce(tender_id, {"type": "price_round.phase", "phase": rnd.phase,
                              "window_ends_at": rnd.window_ends_at.isoformat(),
                              "counters": counters(rnd)})
    return True


def price_offer_decrypt(*, user, tender: Tender, price_sheet_key,
                        now: datetime | None = None) -> PriceOffer:
    """A candidate hands over its price sheet's data key in the window. The key is
    checked against every tag (``read_price_sheet``); a wrong key is refused, the failure
    stays in the audit log, and the candidate may try again until the window closes.
    Nothing is announced before the round closes."""
    now = now or timezone.now()
    key = data_key(price_sheet_key, "price_sheet_key")
    with transaction.atomic():
        rnd = _locked_round(tender)
        offer = _own_offer(rnd, user)
        _check_decryptable(rnd, offer, now)
    try:
        sheet = read_price_sheet(bytes(offer.sheet), key, tender_id=rnd.envelope_id,
                                 bidder_id=offer.bidder.credit_code)
    except CryptoError as exc:
        with transaction.atomic():
            audit_record(actor=user, action="award.price_offer_decrypt_failed", obj=offer,
                         payload={"reason": str(exc)})
        raise refuse("price_sheet_key", _("This key does not open your price sheet: "
                                          "%(reason)s") % {"reason": exc},
                     "wrong_key") from exc
    with transaction.atomic():
        rnd = _locked_round(tender)
        offer = _own_offer(rnd, user)
        _check_decryptable(rnd, offer, now)
        _mark_decrypted(offer, rnd, sheet=sheet, by="bidder", actor=user, now=now)
    return offer


def _own_offer(rnd: PriceRound, user) -> PriceOffer:
    bid = _candidate_bid(rnd, user)
    offer = (PriceOffer.objects.select_for_update().select_related("bidder", "bid")
             .filter(round=rnd, bidder_id=bid.bidder_id).first())
    if offer is None:
        raise refuse("__all__", _("Your organisation submitted no price in this round."),
                     "no_offer")
    return offer


def _check_decryptable(rnd: PriceRound, offer: PriceOffer, now: datetime) -> None:
    if offer.status == OS.DECRYPTED:
        raise refuse("__all__", _("Your price sheet is already decrypted."),
                     "already_decrypted")
    if (rnd.phase != Phase.DECRYPTING or offer.status != OS.PENDING
            or now >= rnd.window_ends_at):
        raise refuse("__all__", _("The price round's decryption window is not open."),
                     "window_closed")


def _total(sheet: dict) -> Decimal | None:
    try:
        value = Decimal(str(sheet.get("total_price", "")).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value <= 0:
        return None
    return value.quantize(Decimal("0.01"))


def _mark_decrypted(offer: PriceOffer, rnd: PriceRound, *, sheet: dict, by: str, actor,
                    now: datetime) -> None:
    offer.status = OS.DECRYPTED
    offer.decrypted_by = by
    offer.decrypted_at = now
    offer.price_sheet = sheet
    offer.total_price = _total(sheet)
    offer.save(update_fields=["status", "decrypted_by", "decrypted_at", "price_sheet",
                              "total_price"])
    # The price itself stays out of the log and the hall until the round closes.
    audit_record(actor=actor, action="award.price_offer_decrypted", obj=offer,
                 payload={"sha256": offer.sha256, "by": by})
    _announce(rnd.tender_id, {"type": "price_round.counters", "counters": counters(rnd)})


def price_round_close_window(*, tender_id: int, now: datetime | None = None) -> bool:
    """Clock, when the window ends: undecrypted sheets go to the custodians or are
    revoked, as the tender's decryption fallback says (as in the first round)."""
    now = now or timezone.now()
    with transaction.atomic():
        rnd = PriceRound.objects.select_for_update().filter(tender_id=tender_id).first()
        if rnd is None or rnd.phase != Phase.DECRYPTING or now < rnd.window_ends_at:
            return False
        pending = list(rnd.offers.select_for_update().filter(status=OS.PENDING))
        if pending and rnd.tender.decryption_fallback == DecryptionFallback.CUSTODIANS:
            rnd.phase = Phase.CUSTODIANS
            rnd.custodians_until = now + timedelta(
                minutes=statutory.value("CUSTODIAN_WINDOW_MINUTES"))
            rnd.save(update_fields=["phase", "custodians_until"])
            audit_record(actor="clock", action="award.price_round_window_closed", obj=rnd,
                         payload={"pending": len(pending), "next": "custodians"})
            _announce(tender_id, {"type": "price_round.phase", "phase": rnd.phase,
                                  "custodians_until": rnd.custodians_until.isoformat(),
                                  "counters": counters(rnd)})
            return True
        for offer in pending:
            offer.status = OS.REJECTED
            offer.reason = "not decrypted by the candidate within the window (E-Rules 31)"
            offer.save(update_fields=["status", "reason"])
        audit_record(actor="clock", action="award.price_round_window_closed", obj=rnd,
                     payload={"pending": len(pending), "next": "close"})
        _close(rnd, now)
    return True


def price_round_custodian_share(*, user, tender: Tender, share: dict,
                                now: datetime | None = None) -> int:
    """A custodian hands over its decrypted shares of the unopened price sheets.

    ``share`` is ``{"v": 2, "offers": {sheet sha256: {"x", "price_sheet": base64
    share}}}`` (the custodian unwraps each on its own machine with
    ``crypto.custody.unwrap_share``). Each share is checked against the candidate's
    commitment at once; a bad one is refused naming the custodian. With k custodians in,
    every pending sheet with k shares is opened. Returns how many custodians handed
    over."""
    now = now or timezone.now()
    with transaction.atomic():
        rnd = _locked_round(tender)
        if rnd.phase != Phase.CUSTODIANS:
            raise refuse("__all__", _("Custodian shares are taken only after the price "
                                      "round's window has closed with undecrypted sheets."),
                         "not_custodian_phase")
        seat = TenderKeyShare.objects.filter(tender_id=tender.pk, custodian=user).first()
        if seat is None:
            raise PermissionDenied(_("You hold no custodian seat of this tender."))
        given = share.get("offers") if isinstance(share, dict) else None
        if not isinstance(given, dict):
            raise refuse("share", _("Not a set of decrypted shares."), "bad_share")
        stored = {}
        for offer in rnd.offers.filter(status=OS.PENDING):
            entry = given.get(offer.sha256)
            if not entry:
                continue
            try:
                custody.check_share(bytes(offer.sheet), seat.x, str(entry["price_sheet"]))
            except custody.BidderFault:
                pass  # committed junk: the candidate's, judged on combining
            except (CryptoError, KeyError, TypeError) as exc:
                raise refuse("share", _(
                    "Custodian %(who)s (x = %(x)s): your share of price sheet %(sha)s does "
                    "not match the candidate's commitment: %(reason)s")
                    % {"who": user.get_username(), "x": seat.x, "sha": offer.sha256[:16],
                       "reason": exc}, "bad_share") from exc
            stored[offer.sha256] = str(entry["price_sheet"])
        PriceRoundShare.objects.update_or_create(
            round=rnd, custodian=user,
            defaults={"x": seat.x, "share": {"offers": stored}, "submitted_at": now})
        audit_record(actor=user, action="award.price_round_share", obj=rnd,
                     payload={"x": seat.x, "offers": sorted(stored)})
        count = rnd.shares.count()
        _announce(tender.pk, {"type": "price_round.share", "custodian": user.get_username(),
                              "shares": count, "threshold": tender.opening_threshold})
        if count >= (tender.opening_threshold or 2):
            _open_with_custodians(rnd, now)
    return count


def _open_with_custodians(rnd: PriceRound, now: datetime) -> None:
    handed = list(rnd.shares.all())
    everyone = len(handed) >= TenderKeyShare.objects.filter(tender_id=rnd.tender_id).count()
    for offer in rnd.offers.select_for_update().filter(status=OS.PENDING).select_related(
            "bidder"):
        sealed = bytes(offer.sheet)
        mine = {s.x: s.share["offers"][offer.sha256] for s in handed
                if offer.sha256 in s.share.get("offers", {})}
        header = envelope.read_header(io.BytesIO(sealed))
        if len(mine) < header.threshold:
            if everyone:
                offer.status = OS.WITHDRAWN
                offer.reason = (f"only {len(mine)} of the {header.threshold} custodian "
                                "shares needed could be handed over")
                offer.save(update_fields=["status", "reason"])
            continue
        try:
            key = custody.combine(sealed, mine, envelope_sha256=offer.sha256)
            sheet = read_price_sheet(sealed, key, tender_id=rnd.envelope_id,
                                     bidder_id=offer.bidder.credit_code)
        except custody.BidderFault as fault:
            _reject(offer, {"kind": "custodian_shares_do_not_open", "reason": str(fault),
                            "envelope_sha256": offer.sha256,
                            "fault_proof": fault.proof.to_dict(),
                            "checked_at": now.isoformat()})
            continue
        except CryptoError as exc:
            _reject(offer, {"kind": "custodian_data_key_does_not_open", "reason": str(exc),
                            "envelope_sha256": offer.sha256,
                            "header_sha256": hashlib.sha256(header.raw).hexdigest(),
                            "checked_at": now.isoformat()})
            continue
        _mark_decrypted(offer, rnd, sheet=sheet, by="custodians", actor="custodians",
                        now=now)
    if not rnd.offers.filter(status=OS.PENDING).exists():
        _close(rnd, now)


def _reject(offer: PriceOffer, proof: dict) -> None:
    """A sheet the custodians' k matching shares cannot open: sealed so by its candidate."""
    offer.status = OS.REJECTED
    offer.reason = "sealed so that the custodians cannot open it (the candidate's fault)"
    offer.proof = proof
    offer.save(update_fields=["status", "reason", "proof"])
    audit_record(actor="platform", action="award.price_offer_rejected", obj=offer,
                 payload={"sha256": offer.sha256, "proof": proof})


def price_round_close_custodians(*, tender_id: int, now: datetime | None = None) -> bool:
    """Clock: the custodians' time is over; sheets still unopened were not opened
    through no fault of their candidates (withdrawn: the first-round price stands)."""
    now = now or timezone.now()
    with transaction.atomic():
        rnd = PriceRound.objects.select_for_update().filter(tender_id=tender_id).first()
        if (rnd is None or rnd.phase != Phase.CUSTODIANS or rnd.custodians_until is None
                or now < rnd.custodians_until):
            return False
        pending = list(rnd.offers.select_for_update().filter(status=OS.PENDING))
        for offer in pending:
            offer.status = OS.WITHDRAWN
            offer.reason = "the custodians did not open it in time (not the candidate's fault)"
            offer.save(update_fields=["status", "reason"])
        audit_record(actor="clock", action="award.price_round_custodians_closed", obj=rnd,
                     payload={"withdrawn": len(pending), "shares": rnd.shares.count()})
        _close(rnd, now)
    return True


# ---------------------------------------------------------------- judge, announce, decide


def judge(candidates: list[dict], offers: dict[str, dict], *, max_price: Decimal) -> dict:
    """Judge the round. ``candidates``: ``[{"bid", "price"}]`` in report order (first-round
    prices); ``offers``: bid -> ``{"status", "total_price"}`` (absent: no offer).
    Returns ``{"entries": [...], "winner", "price", "tie_broken", "outcome", rules}``."""
    entries = []
    for c in candidates:
        first = Decimal(str(c["price"]))
        offer = offers.get(c["bid"])
        entry = {"bid": c["bid"], "first_round_price": str(first), "offer": None,
                 "price": None, "valid": False, "reason": ""}
        if offer is None or offer["status"] == OS.WITHDRAWN:
            entry.update(offer=None if offer is None else offer["status"], price=str(first),
                         valid=True, reason=NO_OFFER_RULE)
        else:
            entry["offer"] = offer["status"]
            total = offer.get("total_price")
            if offer["status"] != OS.DECRYPTED:
                entry["reason"] = "not_opened"
            elif total is None:
                entry["reason"] = "no_total_price"
            else:
                total = Decimal(str(total))
                entry["price"] = str(total)
                if total > max_price:
                    entry["reason"] = "above_max_price"
                elif total > first:
                    entry["reason"] = "above_first_round"
                else:
                    entry["valid"] = True
        entries.append(entry)
    valid = [e for e in entries if e["valid"]]
    out = {"entries": entries, "max_price": str(max_price), "tie_rule": decision.TIE_RULE,
           "above_first_rule": ABOVE_FIRST_RULE, "no_offer_rule": NO_OFFER_RULE,
           "winner": None, "price": None, "tie_broken": False}
    if not valid:
        out["outcome"] = "no_valid_offer"
        return out
    low = min(Decimal(e["price"]) for e in valid)
    lowest = [e for e in valid if Decimal(e["price"]) == low]  # report order kept
    out.update(outcome="winner", winner=lowest[0]["bid"], price=str(low),
               tie_broken=len(lowest) > 1)
    return out


def _close(rnd: PriceRound, now: datetime) -> None:
    """Announce every price together, judge, and decide (inside the caller's
    transaction)."""
    tender = rnd.tender
    candidates = recommended_candidates(tender)
    names = {str(c.bid.public_id): c.bid.bidder.name for c in candidates}
    offers = {str(o.bid.public_id): {"status": o.status, "total_price": o.total_price,
                                     "sha256": o.sha256, "decrypted_by": o.decrypted_by,
                                     "reason": o.reason}
              for o in rnd.offers.select_related("bid")}
    result = judge([{"bid": str(c.bid.public_id), "price": c.price} for c in candidates
                    if str(c.bid.public_id) in rnd.candidates], offers,
                   max_price=tender.max_price)
    for entry in result["entries"]:
        entry["bidder"] = names.get(entry["bid"], "")
        o = offers.get(entry["bid"])
        if o is not None:
            entry.update(sha256=o["sha256"], decrypted_by=o["decrypted_by"],
                         offer_reason=o["reason"])
    rnd.phase = Phase.CLOSED
    rnd.closed_at = now
    rnd.result = result
    rnd.save(update_fields=["phase", "closed_at", "result"])
    audit_record(actor="platform", action="award.price_round_announced", obj=rnd,
                 payload=result, summary=f"{tender.reference}: second-round prices announced")
    _announce(tender.pk, {"type": "price_round.closed", "phase": rnd.phase,
                          "entries": result["entries"], "winner": result["winner"],
                          "winner_name": names.get(result["winner"] or "", ""),
                          "price": result["price"]})
    if result["winner"] is None:
        # Nobody is left to award: the tender fails (lifecycle edge award -> failed).
        lifecycle.tender_transition(tender=tender, to=S.FAILED, by=lifecycle.SYSTEM,
                                    reason=NO_VALID_REASON, now=now)
        return
    if AwardDecision.objects.filter(tender=tender).exists():
        return
    decision._decide(tender=tender, winner=result["winner"],
                     method=DecisionMethod.PRICE_COMPETITION,
                     record={"price_round": {**result, "deadline": rnd.deadline.isoformat(),
                                             "envelope_id": rnd.envelope_id}},
                     by="system", now=now, price=Decimal(result["price"]))


def price_round_tick(*, now: datetime | None = None) -> None:
    """Clock: every due step of every price round; idempotent, one failure isolated."""
    now = now or timezone.now()
    for_each(PriceRound.objects.filter(phase=Phase.SEALING, deadline__lte=now)
             .values_list("tender_id", flat=True),
             lambda pk: price_round_start_hall(tender_id=pk, now=now),
             what="opening the price round hall of tender")
    for_each(PriceRound.objects.filter(phase=Phase.DECRYPTING, window_ends_at__lte=now)
             .values_list("tender_id", flat=True),
             lambda pk: price_round_close_window(tender_id=pk, now=now),
             what="closing the price round window of tender")
    for_each(PriceRound.objects.filter(phase=Phase.CUSTODIANS, custodians_until__lte=now)
             .values_list("tender_id", flat=True),
             lambda pk: price_round_close_custodians(tender_id=pk, now=now),
             what="closing the custodians' time of the price round of tender")


def custodian_work(*, user, tender: Tender) -> dict:
    """What a custodian's tool needs in the round's custodian phase: its seat and every
    pending sealed price sheet (base64), to unwrap its shares on its own machine."""
    seat = TenderKeyShare.objects.filter(tender_id=tender.pk, custodian=user).first()
    if seat is None:
        raise PermissionDenied(_("You hold no custodian seat of this tender."))
    rnd = PriceRound.objects.filter(tender=tender).first()
    pending = [] if rnd is None or rnd.phase != Phase.CUSTODIANS else [
        {"sha256": o.sha256, "price_sheet": base64.b64encode(bytes(o.sheet)).decode()}
        for o in rnd.offers.filter(status=OS.PENDING)]
    return {"seat": seat.x, "envelope_id": rnd.envelope_id if rnd else envelope_id(tender),
            "phase": rnd.phase if rnd else None, "pending": pending}
