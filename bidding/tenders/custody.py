"""The tender's opening key: made at publication, held k-of-n by the custodians.

The public half goes into the tender (bidders seal to it); the private half is split
among the registered custodians (``crypto.threshold``), each share encrypted to its
custodian, and never stored whole.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.models import PublicKey
from core.refusals import refuse
from crypto import keys, threshold

from .models import Tender, TenderKeyShare

#: The recipient label of the opening key's stanza in every envelope (crypto.envelope).
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
