"""The tender's opening key and the checks a sealed envelope must pass on upload.

Bids are sealed on the bidder's side (``crypto.envelope``) to two recipients: the
bidder's own registered ``bid`` key and the tender's opening key. The opening key is
made when the tender is published; its private half is split k-of-n among the
registered custodians (``crypto.threshold``) and never stored whole.
"""

from __future__ import annotations

from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.models import PublicKey
from crypto import envelope, keys, threshold
from crypto.errors import MalformedData
from tradecentre.refusals import refuse

from .models import Tender, TenderKeyShare

BIDDER_LABEL = "bidder"
OPENING_LABEL = "opening"


def custodian_keys() -> list[PublicKey]:
    """Every custodian's current key, one per person, in a stable order."""
    return list(
        PublicKey.objects.filter(purpose=PublicKey.Purpose.CUSTODIAN, active=True)
        .select_related("user")
        .order_by("user_id")
    )


def opening_key_create(tender: Tender) -> None:
    """Make the tender's opening key and store the custodians' encrypted shares.

    Called inside the publication transaction, on a locked tender. Refused when
    fewer custodians are registered than the threshold needs.
    """
    k = settings.OPENING_KEY_THRESHOLD
    custodians = custodian_keys()
    if len(custodians) < max(k, 2):
        raise refuse(
            "__all__",
            _("The trading centre has registered %(n)s opening-key custodians; at least "
              "%(k)s are needed before a tender can be published.")
            % {"n": len(custodians), "k": max(k, 2)},
            "no_custodians",
        )
    opening = threshold.opening_key_create(
        custodians=[(_custodian_id(c), keys.public_key_from_bytes(bytes(c.point)))
                    for c in custodians],
        threshold=k,
        tender_id=tender.reference,
    )
    tender.opening_public_key = opening.public_key
    tender.opening_key_fingerprint = opening.fingerprint
    tender.opening_threshold = k
    tender.save(update_fields=["opening_public_key", "opening_key_fingerprint",
                               "opening_threshold"])
    TenderKeyShare.objects.bulk_create(
        TenderKeyShare(tender=tender, custodian=c.user, custodian_key=c, x=share.x,
                       encrypted_share=share.to_dict())
        for c, share in zip(custodians, opening.shares, strict=True)
    )


def _custodian_id(key: PublicKey) -> str:
    return key.user.get_username()


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
