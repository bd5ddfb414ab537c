"""The checks a sealed envelope must pass on upload, without any key.

Bids are sealed on the bidder's side (``crypto.envelope``) to two recipients: the
bidder's own registered ``bid`` key and the tender's opening key
(``bidding.tenders.custody``).
"""

from __future__ import annotations

from typing import BinaryIO

from accounts.models import PublicKey
from bidding.tenders.custody import OPENING_LABEL
from bidding.tenders.models import Tender
from crypto import envelope
from crypto.errors import MalformedData

BIDDER_LABEL = "bidder"


def bidder_id(organisation) -> str:
    """The bidder id written in every envelope header: the credit code."""
    return organisation.credit_code


def bidder_keys(organisation) -> list[PublicKey]:
    return list(PublicKey.objects.filter(
        organisation=organisation, purpose=PublicKey.Purpose.BID, active=True))


def check_envelope(
    src: BinaryIO, *, tender: Tender, organisation, max_size: int | None = None
) -> envelope.EnvelopeInfo:
    """Check, without any key, that ``src`` is a sealed envelope for this tender and
    bidder, sealed to the tender's opening key and to one of the bidder's registered
    keys. Raises ``MalformedData`` with a one-line reason."""
    info = envelope.check_structure(
        src,
        tender_id=tender.reference,
        bidder_id=bidder_id(organisation),
        max_size=max_size,
        required_recipients={OPENING_LABEL: tender.opening_key_fingerprint},
    )
    registered = {k.fingerprint for k in bidder_keys(organisation)}
    own = [s for s in info.header.stanzas
           if s.label == BIDDER_LABEL and s.fingerprint.hex() in registered]
    if not own:
        raise MalformedData(
            "envelope is not sealed to a bid key registered by your organisation"
        )
    return info


def bidder_stanza_fingerprint(info: envelope.EnvelopeInfo, organisation) -> str:
    registered = {k.fingerprint for k in bidder_keys(organisation)}
    for stanza in info.header.stanzas:
        if stanza.label == BIDDER_LABEL and stanza.fingerprint.hex() in registered:
            return stanza.fingerprint.hex()
    return ""
