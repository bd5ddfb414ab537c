"""Custody without a trusted dealer: checking and recombining v2 envelope shares,
the bidder-fault proof, and the custodians' signed endorsement of a tender's
custodian set.

Nobody holds a tender opening key: the bidder's own tool splits each envelope's
data key k-of-n and wraps share ``x`` to custodian ``x`` (:mod:`crypto.envelope`,
format v2, "the custody block"). At the opening, a custodian decrypts its shares
on its own machine (:func:`unwrap_share`) and hands them over; the platform
checks each one on its own against its commitment in the header
(:func:`check_share`, naming the custodian of a bad one) and, with k good
shares, recombines them (:func:`combine`).

The verdict of :func:`combine`
------------------------------
* the 32-byte data key, checked with the header MAC;
* ``NotEnoughShares`` -- fewer than k distinct valid shares;
* ``BadShare(x, fingerprint)`` -- share ``x`` does not match its commitment:
  custodian ``x`` handed over something else than the bidder's share (or its
  copy was corrupted). The share is refused; nobody else is blamed;
* ``BidderFault(proof)`` -- k shares that all match the bidder's own
  commitments do not rebuild a key under which the header MAC verifies. The
  format requires every k of the committed shares to rebuild the data key, so
  this proves **the bidder** made an envelope the custodians cannot open.
  :class:`FaultProof` holds the header and the k shares; anyone re-checks it
  with :func:`verify_fault_proof` (the header must also be the start of the
  envelope whose digest the bidder signed and the receipt names:
  ``proof.envelope_sha256`` when the caller supplied it).

The shares are combined in the order of ``x`` and exactly the k with the
lowest ``x`` are used: the outcome does not depend on which extra shares
arrived.

The custodian-set statement (endorsement)
-----------------------------------------
Each custodian signs, with its registered **custodian signing key** (P-256,
ECDSA-SHA256, 64-byte ``r || s``; see :mod:`crypto.signing`), under the label
``ggzy-custodian-set-v1`` || 0x00, the canonical JSON
(:func:`crypto.chain.canonical_json`)::

    {"v": 1, "tender_id": str, "threshold": k, "deadline": ISO 8601 UTC string,
     "custodians": [{"x": 1, "id": str, "key": hex SHA-256 fingerprint of the
                     custodian's P-256 encryption key}, ...]}       (x = 1 .. n)

A bidder's tool seals only when **every** custodian of the set has endorsed
exactly this statement with a signing key the bidder pinned out of band
(:func:`verify_endorsements`; the trust file is :func:`load_trust_file`), and
the encryption keys it wraps to have the fingerprints the statement names.
ECDSA P-256 rather than Ed25519 so that a browser can verify endorsements with
WebCrypto everywhere; a separate signing key (not the ECDH custodian key) so
that no key serves two algorithms.

Trust file (``~/.config/ggzy/custodians.json``, from the trading centre)::

    {"v": 1, "custodians": [{"id": "notary1", "signing_key": base64 65-byte
      P-256 point (or PEM)}, ...]}

What a malicious party can still do
-----------------------------------
* A bidder can make its envelope unopenable by the custodians (wrong shares,
  shares that do not rebuild the key): it is caught with a :class:`FaultProof`
  when k custodians hand over matching shares. It can also wrap garbage to a
  custodian (the custodian then cannot decrypt its share); with at least k
  other custodians the bid still opens, otherwise the case has no
  cryptographic proof in this version (a custodian cannot prove its ECDH
  result without a DLEQ proof) and goes to the supervisor.
* Fewer than k colluding custodians learn nothing about any data key (Shamir).
* k colluding custodians can open bids early: that is what the threshold means.
* A custodian can hand over a wrong share: it is refused and named at once.
* The platform alone can open nothing: it never sees a share before the
  opening, and it cannot substitute custodian keys without the pinned
  custodians' signatures. It could claim an opening early to get shares: the
  custodian's command-line tool (``python -m ggzy_bid hall-share``) hands over
  shares only after the deadline it endorsed has passed by its own clock, and
  only of envelopes of that tender. The browser's custodian panel and bid page
  run the platform's JavaScript, so they protect only against a platform that
  does not also change its scripts.
* Denial of service stays possible: the platform can hide endorsements or
  refuse uploads; the audit trail records what it did.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from . import shamir, signing
from .chain import canonical_json
from .envelope import (
    LABEL_SHARE_WRAP,
    VERSION_CUSTODY,
    EnvelopeHeader,
    _to_header,
    check_header_mac,
    share_commitment,
    share_wrap_aad,
)
from .errors import BadSignature, CryptoError, DecryptionFailed, MalformedData, NotEnoughShares
from .keys import key_fingerprint, public_key_bytes, public_key_from_bytes
from .wrap import unwrap

STATEMENT_VERSION = 1


class BadShare(DecryptionFailed):
    """A share that does not match its commitment: custodian ``x`` is to blame."""

    def __init__(self, message: str, *, x: int, fingerprint: str):
        super().__init__(message)
        self.x = x
        self.fingerprint = fingerprint


@dataclass(frozen=True)
class FaultProof:
    """Proof that the bidder sealed an envelope its custodians cannot open."""

    header: bytes
    shares: tuple[tuple[int, bytes], ...]
    reason: str
    envelope_sha256: str = ""

    def to_dict(self) -> dict:
        """JSON form: ``{"v": 1, "header": b64, "shares": [{"x", "share": b64}],
        "reason": str, "envelope_sha256": hex}``."""
        return {
            "v": 1,
            "header": base64.b64encode(self.header).decode(),
            "shares": [
                {"x": x, "share": base64.b64encode(s).decode()} for x, s in self.shares
            ],
            "reason": self.reason,
            "envelope_sha256": self.envelope_sha256,
        }

    @classmethod
    def from_dict(cls, data: dict) -> FaultProof:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                header=base64.b64decode(data["header"], validate=True),
                shares=tuple(
                    (int(s["x"]), base64.b64decode(s["share"], validate=True))
                    for s in data["shares"]
                ),
                reason=str(data.get("reason", "")),
                envelope_sha256=str(data.get("envelope_sha256", "")),
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise MalformedData(f"not a fault proof ({exc})") from exc


class BidderFault(CryptoError):
    """k matching shares do not open the envelope: the bidder's fault, with proof."""

    def __init__(self, proof: FaultProof):
        super().__init__(proof.reason)
        self.proof = proof


def _custody_header(header_or_src) -> EnvelopeHeader:
    header = _to_header(header_or_src)
    if header.version != VERSION_CUSTODY:
        raise MalformedData("not a version-2 envelope: it has no custodian shares")
    return header


def _share_bytes(share: bytes | str | shamir.Share) -> bytes:
    if isinstance(share, shamir.Share):
        return share.to_bytes()
    if isinstance(share, str):
        try:
            return base64.b64decode(share, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise MalformedData("a share is base64 of its 69 bytes") from exc
    return bytes(share)


def check_share(header_or_src, x: int, share: bytes | str | shamir.Share) -> shamir.Share:
    """Check share ``x`` on its own against its commitment in the header.

    Returns the parsed share; raises ``BadShare`` naming custodian ``x`` if it
    does not match (or is not a share of the right form), ``MalformedData`` if
    the header has no custodian ``x``.
    """
    header = _custody_header(header_or_src)
    if not 1 <= int(x) <= len(header.custodians):
        raise MalformedData(f"the envelope has no custodian {x}")
    entry = header.custodians[int(x) - 1]
    fp = entry.fingerprint.hex()
    wire = _share_bytes(share)
    if not hmac.compare_digest(share_commitment(header.tender_id, entry.x, wire),
                               entry.commitment):
        raise BadShare(
            f"share {x} does not match its commitment (custodian key {fp[:16]})",
            x=entry.x,
            fingerprint=fp,
        )
    try:  # the committed bytes may still be junk: then the bidder committed junk
        parsed = shamir.Share.from_bytes(wire)
    except MalformedData as exc:
        raise BidderFault(FaultProof(header.raw, ((entry.x, wire),),
                                     f"committed share {x} is not a share: {exc}")) from exc
    if parsed.x != entry.x:
        raise BidderFault(FaultProof(header.raw, ((entry.x, wire),),
                                     f"committed share {x} carries x = {parsed.x}"))
    return parsed


def combine(
    header_or_src,
    shares: Mapping[int, bytes | str | shamir.Share] | Iterable[tuple[int, bytes]],
    *,
    envelope_sha256: str = "",
) -> bytes:
    """Rebuild and check a v2 envelope's data key from custodians' shares.

    ``shares`` maps ``x`` to the share (69 bytes, base64, or a ``Share``).
    Every share is checked first (``BadShare`` for the first bad one, in order
    of ``x``); then the k with the lowest ``x`` are combined. Returns the data
    key; raises ``NotEnoughShares`` or ``BidderFault`` (see the module docstring).
    """
    header = _custody_header(header_or_src)
    items = shares.items() if isinstance(shares, Mapping) else shares
    good: dict[int, tuple[shamir.Share, bytes]] = {}
    for x, share in sorted(items, key=lambda item: int(item[0])):
        wire = _share_bytes(share)
        good[int(x)] = (check_share(header, int(x), wire), wire)
    k = header.threshold
    if len(good) < k:
        raise NotEnoughShares(f"need {k} shares, have {len(good)}")
    chosen = sorted(good)[:k]
    used = tuple((x, good[x][1]) for x in chosen)

    def fault(reason: str) -> BidderFault:
        return BidderFault(FaultProof(header.raw, used, reason, envelope_sha256))

    try:
        key = shamir.combine(good[x][0] for x in chosen)
    except CryptoError as exc:
        raise fault(f"the bidder's committed shares do not rebuild a key: {exc}") from exc
    if len(key) != 32:
        raise fault("the bidder's committed shares rebuild a secret that is not a data key")
    try:
        check_header_mac(header, key)
    except DecryptionFailed:
        raise fault(
            f"{k} shares that match the bidder's commitments (x = "
            f"{', '.join(map(str, chosen))}) do not open the envelope"
        ) from None
    return key


def verify_fault_proof(proof: FaultProof | dict) -> EnvelopeHeader:
    """Re-check a :class:`FaultProof` independently; return the header it is about.

    Raises ``VerificationFailed``-like ``CryptoError`` if the proof does not hold
    (a share does not match, too few shares, or the shares do open the envelope).
    The caller must still check that ``proof.header`` starts the envelope the
    bidder signed (its digest is ``proof.envelope_sha256``).
    """
    from .errors import VerificationFailed

    if isinstance(proof, dict):
        proof = FaultProof.from_dict(proof)
    header = _custody_header(proof.header)
    if len({x for x, _ in proof.shares}) != header.threshold:
        raise VerificationFailed("a fault proof holds exactly k distinct shares")
    try:
        combine(header, dict(proof.shares))
    except BidderFault:
        return header
    except CryptoError as exc:
        raise VerificationFailed(f"the fault proof does not hold: {exc}") from exc
    raise VerificationFailed("the shares open the envelope: the bidder is not at fault")


def unwrap_share(
    header_or_src, private_key: ec.EllipticCurvePrivateKey
) -> tuple[int, bytes]:
    """A custodian's own share of a v2 envelope: ``(x, 69-byte share)``.

    Finds the entry whose fingerprint is the key's, decrypts it and checks it
    against its commitment (so a custodian learns at once, on its own machine,
    if the bidder wrapped it a share that is not the committed one). Raises
    ``DecryptionFailed`` if the key is not a custodian of the envelope or its
    wrapped share does not decrypt.
    """
    header = _custody_header(header_or_src)
    mine = bytes.fromhex(key_fingerprint(private_key))
    for entry in header.custodians:
        if hmac.compare_digest(entry.fingerprint, mine):
            wire = unwrap(
                private_key,
                entry.ephemeral_point,
                entry.wrapped_share,
                info=LABEL_SHARE_WRAP,
                aad=share_wrap_aad(header.tender_id, entry.x, header.salt),
            )
            try:
                check_share(header, entry.x, wire)
            except BadShare as exc:
                raise DecryptionFailed(
                    f"the bidder wrapped you a share that does not match its "
                    f"commitment (x = {entry.x})"
                ) from exc
            return entry.x, wire
    raise DecryptionFailed("this key is not a custodian of the envelope")


# -- the custodian-set statement -------------------------------------------------------


@dataclass(frozen=True)
class CustodianSeat:
    """Custodian ``x`` of a tender: its id and its encryption key's fingerprint."""

    x: int
    id: str
    key: str

    def to_dict(self) -> dict:
        return {"x": self.x, "id": self.id, "key": self.key}


def statement(
    *, tender_id: str, threshold: int, custodians: Sequence[CustodianSeat], deadline: str
) -> dict:
    """The custodian-set statement as a dict (see the module docstring)."""
    seats = list(custodians)
    if [s.x for s in seats] != list(range(1, len(seats) + 1)):
        raise ValueError("custodians are numbered 1 .. n in order")
    if not 1 <= threshold <= len(seats):
        raise ValueError("need 1 <= threshold <= number of custodians")
    return {
        "v": STATEMENT_VERSION,
        "tender_id": str(tender_id),
        "threshold": int(threshold),
        "deadline": str(deadline),
        "custodians": [s.to_dict() for s in seats],
    }


def statement_bytes(stmt: dict) -> bytes:
    """The signed bytes of a statement: its canonical JSON."""
    return canonical_json(stmt)


def endorse(signing_key: signing.SigningKey, stmt: dict) -> bytes:
    """A custodian's 64-byte signature over a custodian-set statement."""
    return signing.sign(signing_key, signing.CUSTODIAN_SET, statement_bytes(stmt))


def seats_of(stmt: dict) -> list[CustodianSeat]:
    """The custodian seats a statement names; ``MalformedData`` if it is not one."""
    try:
        if stmt["v"] != STATEMENT_VERSION:
            raise MalformedData(f"unsupported custodian statement version {stmt['v']}")
        seats = [CustodianSeat(int(c["x"]), str(c["id"]), str(c["key"]).lower())
                 for c in stmt["custodians"]]
        statement(tender_id=stmt["tender_id"], threshold=int(stmt["threshold"]),
                  custodians=seats, deadline=stmt["deadline"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedData(f"not a custodian-set statement ({exc})") from exc
    return seats


def verify_endorsements(
    stmt: dict,
    endorsements: Iterable[dict],
    pinned: Mapping[str, signing.VerifyKey],
) -> list[CustodianSeat]:
    """Check that every custodian of ``stmt`` endorsed it with its pinned key.

    ``endorsements`` are ``{"custodian_id", "signature": base64}`` objects;
    ``pinned`` maps a custodian id to the signing key the bidder pinned. Raises
    ``BadSignature`` with one line naming the first custodian that is not
    pinned, has not endorsed, or whose signature does not verify. Returns the
    seats (x, id, encryption-key fingerprint) in order.
    """
    seats = seats_of(stmt)
    message = statement_bytes(stmt)
    given: dict[str, list[bytes]] = {}
    for e in endorsements:
        try:
            sig = base64.b64decode(str(e["signature"]), validate=True)
            given.setdefault(str(e["custodian_id"]), []).append(sig)
        except (KeyError, TypeError, ValueError, binascii.Error):
            continue
    for seat in seats:
        key = pinned.get(seat.id)
        if key is None:
            raise BadSignature(f"custodian {seat.id!r} is not in your pinned custodian keys")
        sigs = given.get(seat.id)
        if not sigs:
            raise BadSignature(f"custodian {seat.id!r} has not endorsed this tender's "
                               "custodian set")
        for sig in sigs:
            try:
                signing.verify(key, signing.CUSTODIAN_SET, message, sig)
                break
            except (BadSignature, MalformedData):
                continue
        else:
            raise BadSignature(f"custodian {seat.id!r}'s endorsement does not verify "
                               "with its pinned key")
    return seats


def check_custodian_keys(
    seats: Sequence[CustodianSeat], points: Mapping[str, bytes]
) -> tuple[ec.EllipticCurvePublicKey, ...]:
    """The custodians' encryption keys in seat order, each checked against the
    fingerprint the endorsed statement names. ``points`` maps id -> 65-byte point."""
    out = []
    for seat in seats:
        point = points.get(seat.id)
        if point is None or key_fingerprint(bytes(point)) != seat.key:
            raise BadSignature(
                f"custodian {seat.id!r}'s encryption key is not the one it endorsed"
            )
        out.append(public_key_from_bytes(bytes(point)))
    return tuple(out)


def load_trust_file(data: bytes | str) -> dict[str, signing.VerifyKey]:
    """Parse a custodian trust file (module docstring): id -> P-256 verify key."""
    from .keys import public_key_from_pem

    try:
        doc = json.loads(data)
        if doc.get("v") != 1:
            raise MalformedData("unsupported custodian trust file version")
        out: dict[str, signing.VerifyKey] = {}
        for c in doc["custodians"]:
            raw = str(c["signing_key"]).strip()
            if raw.startswith("-----BEGIN"):
                key = public_key_from_pem(raw.encode("ascii"))
            else:
                key = public_key_from_bytes(base64.b64decode(raw, validate=True))
            out[str(c["id"])] = key
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise MalformedData(f"not a custodian trust file ({exc})") from exc
    if not out:
        raise MalformedData("the custodian trust file names no custodian")
    return out


def trust_file(custodians: Mapping[str, ec.EllipticCurvePublicKey]) -> bytes:
    """Write a trust file for ``id -> signing public key`` (the trading centre's side)."""
    return (
        json.dumps(
            {
                "v": 1,
                "custodians": [
                    {"id": cid, "signing_key": base64.b64encode(public_key_bytes(k)).decode()}
                    for cid, k in custodians.items()
                ],
            },
            indent=2,
        ).encode()
        + b"\n"
    )
