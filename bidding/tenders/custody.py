"""A tender's custodians: who holds the k-of-n shares of every bid's data key.

There is no tender opening key for bids sealed in envelope format v2
(``crypto.envelope``, ``crypto.custody``). At publication the tender gets a
*custodian set*: the registered custodians (one active ``custodian`` key each), in
a fixed order (seat ``x`` = 1 .. n, a ``TenderKeyShare`` row), and the threshold k
(``settings.OPENING_KEY_THRESHOLD``). The bidder's own tool splits each envelope's
data key among them. Each custodian then endorses the set: it signs, on its own
machine with its ``custodian_signing`` key, the statement :func:`statement` builds
(``python -m ggzy_bid custodian-endorse``) and the platform stores the signature
(:func:`endorsement_add`). Bidders' tools and the bid page seal only when every
seat has endorsed the current statement, verifying the signatures against
custodian keys the bidder pinned out of band. The platform never holds anything
that opens a v2 bid.

The statement names the deadline: a deadline moved by an amendment makes the old
endorsements stale (they are kept but no longer count) and the custodians endorse
again; envelopes already sealed stay valid (the set and threshold do not change).

Legacy (format v1): tenders published before format v2 have a tender opening key,
made inside the publication request and split among the same seats
(``crypto.threshold``); the custodians' fallback still opens their v1 bids with it. New
tenders get no opening key unless ``settings.LEGACY_OPENING_KEY`` is on (off by
default; a platform that kept such a private key could open v1 bids, which is exactly
what format v2 removes).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import PublicKey
from audit.services import audit_record
from core.prepared import Prepared
from core.refusals import refuse
from crypto import custody as wire
from crypto import keys, signing, threshold
from crypto.errors import BadSignature, MalformedData

from .models import CustodianEndorsement, Tender, TenderKeyShare

#: The recipient label of the legacy opening key's stanza in v1 envelopes.
OPENING_LABEL = "opening"


def custodian_keys() -> list[PublicKey]:
    """Every custodian's current encryption key, one per person, in a stable order."""
    return list(
        PublicKey.objects.filter(purpose=PublicKey.Purpose.CUSTODIAN, active=True)
        .select_related("user")
        .order_by("user_id")
    )


def opening_key_create(tender: Tender) -> None:
    """Seat the tender's custodian set (and, only with ``LEGACY_OPENING_KEY``, make a
    v1 opening key).

    Called inside the publication transaction, on a locked tender. Refused when
    fewer custodians are registered than the threshold needs, or more than an
    envelope can name.
    """
    from crypto.envelope import MAX_CUSTODIANS

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
    if len(custodians) > MAX_CUSTODIANS:
        raise refuse(
            "__all__",
            _("%(n)s custodians are registered; a sealed bid can name at most %(max)s.")
            % {"n": len(custodians), "max": MAX_CUSTODIANS},
            "too_many_custodians",
        )
    tender.opening_threshold = k
    if not getattr(settings, "LEGACY_OPENING_KEY", False):
        # No tender opening key: bidders' tools split each data key among the seats.
        tender.save(update_fields=["opening_threshold"])
        TenderKeyShare.objects.bulk_create(
            TenderKeyShare(tender=tender, custodian=c.user, custodian_key=c, x=x,
                           encrypted_share={})
            for x, c in enumerate(custodians, 1)
        )
        return
    opening = threshold.opening_key_create(
        custodians=[(_custodian_id(c), keys.public_key_from_bytes(bytes(c.point)))
                    for c in custodians],
        threshold=k,
        tender_id=tender.reference,
    )
    tender.opening_public_key = opening.public_key
    tender.opening_key_fingerprint = opening.fingerprint
    tender.save(update_fields=["opening_public_key", "opening_key_fingerprint",
                               "opening_threshold"])
    TenderKeyShare.objects.bulk_create(
        TenderKeyShare(tender=tender, custodian=c.user, custodian_key=c, x=share.x,
                       encrypted_share=share.to_dict())
        for c, share in zip(custodians, opening.shares, strict=True)
    )


def _custodian_id(key: PublicKey) -> str:
    return key.user.get_username()


def seats(tender: Tender) -> list[TenderKeyShare]:
    """The tender's custodian seats in order of ``x``."""
    return list(tender.key_shares.select_related("custodian", "custodian_key").order_by("x"))


_SEATS = Prepared(
    lambda tender_id: TenderKeyShare.objects.filter(tender_id=tender_id).order_by("x")
    .annotate(endorsed=Exists(CustodianEndorsement.objects.filter(
        tender_id=OuterRef("tender_id"), custodian_id=OuterRef("custodian_id"))))
    .values_list("custodian_key__fingerprint", "endorsed"),
    tender_id=int)


def seat_fingerprints(tender: Tender) -> list[tuple[str, bool]]:
    """Each seat's custodian key fingerprint, in order of ``x``, with whether its
    custodian has endorsed the tender's custodian set: what an envelope's header is
    checked against on every upload, in one narrow query (compiled once,
    ``core.prepared``)."""
    return _SEATS.rows(tender_id=tender.pk)


def _deadline(tender: Tender) -> str:
    return tender.deadline.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def statement(tender: Tender) -> dict | None:
    """The current custodian-set statement (``crypto.custody``), or None before
    publication."""
    rows = seats(tender)
    if not rows or not tender.opening_threshold:
        return None
    return wire.statement(
        tender_id=tender.reference,
        threshold=tender.opening_threshold,
        deadline=_deadline(tender),
        custodians=[wire.CustodianSeat(s.x, s.custodian.get_username(),
                                       s.custodian_key.fingerprint) for s in rows],
    )


def signing_key_of(user) -> PublicKey | None:
    return PublicKey.objects.filter(
        user=user, purpose=PublicKey.Purpose.CUSTODIAN_SIGNING, active=True
    ).first()


def endorsement_add(*, user, tender: Tender, signature: str, now=None) -> CustodianEndorsement:
    """A custodian endorses the tender's current custodian set.

    ``signature`` is base64 of the custodian's signature over :func:`statement`
    (``crypto.custody.endorse``), made on its own machine. The platform checks it
    with the custodian's registered signing key so that a bad one is refused at
    once; bidders check it again with the keys they pinned. Endorsing again
    replaces the custodian's earlier endorsement (after a deadline change).
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Tender.objects.select_for_update().get(pk=tender.pk)
        if not locked.key_shares.filter(custodian=user).exists():
            raise PermissionDenied(_("You hold no seat in this tender's custodian set."))
        stmt = statement(locked)
        if stmt is None or locked.status != Tender.Status.PUBLISHED:
            raise refuse("__all__", _("Only a tender open for bidding can be endorsed."),
                         "not_endorsable")
        key = signing_key_of(user)
        if key is None:
            raise refuse("signature", _("Register a custodian signing key first "
                                        "(python -m ggzy_bid register-key --purpose "
                                        "custodian_signing)."), "no_signing_key")
        try:
            sig = base64.b64decode(str(signature), validate=True)
            signing.verify(keys.public_key_from_bytes(bytes(key.point)),
                           signing.CUSTODIAN_SET, wire.statement_bytes(stmt), sig)
        except (ValueError, binascii.Error, BadSignature, MalformedData) as exc:
            raise refuse(
                "signature",
                _("The signature does not verify with your registered signing key over "
                  "this tender's current custodian set: %(reason)s") % {"reason": exc},
                "bad_endorsement",
            ) from exc
        item, _created = CustodianEndorsement.objects.update_or_create(
            tender=locked, custodian=user,
            defaults={"signing_key": key, "statement": stmt,
                      "signature": base64.b64encode(sig).decode(), "endorsed_at": now},
        )
        audit_record(actor=user, action="tender.custody_endorse", obj=locked,
                     payload={"statement": stmt, "signing_key": key.fingerprint,
                              "signature": item.signature})
    return item


def endorsements(tender: Tender) -> list[CustodianEndorsement]:
    """The endorsements of the *current* statement (stale ones do not count)."""
    stmt = statement(tender)
    return [e for e in tender.endorsements.select_related("custodian", "signing_key")
            if e.statement == stmt]


def fully_endorsed(tender: Tender) -> bool:
    """True when every seat has endorsed the current statement."""
    stmt = statement(tender)
    if stmt is None:
        return False
    done = {e.custodian.get_username() for e in endorsements(tender)}
    return all(seat["id"] in done for seat in stmt["custodians"])


def custody_info(tender: Tender) -> dict | None:
    """What a bidder's tool needs to seal v2 (the ``/custody/`` API answer).

    ``{"statement", "statement_b64" (its signed canonical JSON), "endorsements":
    [{"custodian_id", "signing_key" (fingerprint),
    "signature"}], "custodians": [{"x", "id", "encryption_key": base64 point,
    "fingerprint"}], "complete": bool}``."""
    stmt = statement(tender)
    if stmt is None:
        return None
    return {
        "statement": stmt,
        # The exact signed bytes, so that a browser verifies without re-encoding JSON.
        "statement_b64": base64.b64encode(wire.statement_bytes(stmt)).decode(),
        "endorsements": [
            {"custodian_id": e.custodian.get_username(), "signing_key": e.signing_key.fingerprint,
             "signature": e.signature, "endorsed_at": e.endorsed_at.isoformat()}
            for e in endorsements(tender)
        ],
        "custodians": [
            {"x": s.x, "id": s.custodian.get_username(),
             "encryption_key": base64.b64encode(bytes(s.custodian_key.point)).decode(),
             "fingerprint": s.custodian_key.fingerprint}
            for s in seats(tender)
        ],
        "complete": fully_endorsed(tender),
    }
