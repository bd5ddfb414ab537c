"""The checks a sealed envelope must pass on upload, without any key.

Bids are sealed on the bidder's side (``crypto.envelope``). Format v2: to the
bidder's own registered ``bid`` key, with the data key split k-of-n among the
tender's custodian set in the header (``bidding.tenders.custody``); the header must
name exactly the tender's endorsed set, in order, and its threshold. Format v1
(only for tenders published with a legacy opening key; ``settings.ACCEPT_V1_ENVELOPES``,
on by default): to the bidder's key and that opening key.
"""

from __future__ import annotations

from typing import BinaryIO

from django.conf import settings

from accounts.models import PublicKey
from bidding.tenders import custody
from bidding.tenders.custody import OPENING_LABEL
from bidding.tenders.models import Tender
from core.prepared import Prepared
from crypto import envelope
from crypto.errors import MalformedData

BIDDER_LABEL = "bidder"


def bidder_id(organisation) -> str:
    """The bidder id written in every envelope header: the credit code."""
    return organisation.credit_code


_ACTIVE_BID_KEYS = Prepared(
    lambda organisation_id: PublicKey.objects.filter(
        organisation_id=organisation_id, purpose=PublicKey.Purpose.BID, active=True,
    ).values_list("fingerprint"),
    organisation_id=int)


def registered_fingerprints(organisation) -> frozenset[str]:
    """The fingerprints (hex) of the organisation's active bid keys (asked on every
    bid: compiled once, ``core.prepared``)."""
    return frozenset(fp for (fp,) in _ACTIVE_BID_KEYS.rows(organisation_id=organisation.pk))


def check_envelope(
    src: BinaryIO, *, tender: Tender, organisation, max_size: int | None = None,
    registered: frozenset[str] | None = None, received: tuple[int, str] | None = None,
    seats: list[tuple[str, bool]] | None = None,
) -> envelope.EnvelopeInfo:
    """Check, without any key, that ``src`` is a sealed envelope for this tender and
    bidder, sealed to one of the bidder's registered keys and (v2) split among exactly
    the tender's endorsed custodian set with its threshold, or (v1) sealed to the
    tender's legacy opening key. Raises ``MalformedData`` with a one-line reason.
    ``registered`` is ``registered_fingerprints(organisation)`` if the caller has it;
    ``received`` is ``(size, sha256)`` of a file hashed as it arrived (only its
    header is read then: ``crypto.envelope.check_structure``); ``seats`` is
    ``custody.seat_fingerprints(tender)`` if the caller has it."""
    info = envelope.check_structure(
        src,
        tender_id=tender.reference,
        bidder_id=bidder_id(organisation),
        max_size=max_size,
        received=received,
    )
    check_custody(info.header, tender, seats)
    if not bidder_stanza_fingerprint(info, organisation, registered):
        raise MalformedData(
            "envelope is not sealed to a bid key registered by your organisation"
        )
    return info


def check_custody(header: envelope.EnvelopeHeader, tender: Tender,
                  seats: list[tuple[str, bool]] | None = None) -> None:
    """The header's custody: v2 names the tender's endorsed set; v1 the opening key.
    ``seats``: ``custody.seat_fingerprints(tender)``, read here if not given."""
    if header.version == envelope.VERSION_CUSTODY:
        # Every seat must have endorsed this set; the statement's deadline may have
        # moved since (an amendment), which does not change the set or the threshold.
        if seats is None:
            seats = custody.seat_fingerprints(tender)
        if not seats or not all(endorsed for _fingerprint, endorsed in seats):
            raise MalformedData(
                "the tender's custodians have not all endorsed its custodian set yet"
            )
        want = [fingerprint for fingerprint, _endorsed in seats]
        if header.custodian_fingerprints != want:
            raise MalformedData("envelope is not split among this tender's custodian set")
        if header.threshold != tender.opening_threshold:
            raise MalformedData(
                f"envelope threshold is {header.threshold}, the tender's is "
                f"{tender.opening_threshold}"
            )
        return
    if not getattr(settings, "ACCEPT_V1_ENVELOPES", True):
        raise MalformedData("envelope format v1 is no longer accepted: seal again (v2)")
    if not tender.opening_key_fingerprint:
        raise MalformedData(
            "this tender has no opening key: seal in format v2, split among its custodians"
        )
    fingerprint = bytes.fromhex(tender.opening_key_fingerprint or "")
    if not any(s.label == OPENING_LABEL and s.fingerprint == fingerprint
               for s in header.stanzas):
        raise MalformedData(
            f"envelope is not sealed to the required {OPENING_LABEL!r} key "
            f"{(tender.opening_key_fingerprint or '')[:16]}"
        )


def bidder_stanza_fingerprint(info: envelope.EnvelopeInfo, organisation,
                              registered: frozenset[str] | None = None) -> str:
    """The fingerprint of the header's stanza to one of the organisation's registered
    bid keys, or "" if there is none."""
    if registered is None:
        registered = registered_fingerprints(organisation)
    for stanza in info.header.stanzas:
        if stanza.label == BIDDER_LABEL and stanza.fingerprint.hex() in registered:
            return stanza.fingerprint.hex()
    return ""


def custodian_work(seat, bids) -> dict:
    """What a custodian's tool needs at the opening (``/opening/my-share/``): its seat,
    its legacy v1 opening-key share, and the headers of every bid still pending
    (``{"sha256", "bid_header", "price_sheet"}``, base64) so that it decrypts its
    shares of each on its own machine (``crypto.custody.unwrap_share``)."""
    import base64

    pending = []
    for bid in bids:
        with bid.envelope.open("rb") as fh:
            header = envelope.read_header(fh)
        pending.append({
            "sha256": bid.sha256,
            "version": header.version,
            "bid_header": base64.b64encode(header.raw).decode(),
            "price_sheet": base64.b64encode(bytes(bid.price_sheet)).decode(),
        })
    return {**(seat.encrypted_share or {}), "seat": seat.x,
            "tender_id": seat.tender.reference, "custodian_id": seat.custodian.get_username(),
            "pending": pending}
