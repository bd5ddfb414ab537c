"""Shared test helpers: fixed keys, a scripted RNG and small envelopes."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from crypto import envelope, keys

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "envelope-v1.json").read_text("utf-8")
)


def det_bytes(tag: str, n: int) -> bytes:
    """Deterministic test bytes: SHA-256 of ``tag`` and a counter, concatenated."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"test/{tag}/{i}".encode()).digest()
        i += 1
    return out[:n]


def p256_key(tag: str) -> ec.EllipticCurvePrivateKey:
    """A fixed P-256 key derived from ``tag``."""
    d = int.from_bytes(det_bytes(tag, 32), "big") % (2**255) + 1
    return ec.derive_private_key(d, ec.SECP256R1())


def scripted_rng(*values: bytes):
    """An RNG that returns ``values`` in order and checks each requested length."""
    queue = list(values)

    def rng(n: int) -> bytes:
        value = queue.pop(0)
        assert len(value) == n, (len(value), n)
        return value

    return rng


def counter_rng(tag: str):
    """An endless deterministic RNG for tests that need reproducible output."""
    state = {"i": 0}

    def rng(n: int) -> bytes:
        state["i"] += 1
        return det_bytes(f"{tag}/{state['i']}", n)

    return rng


BIDDER = p256_key("bidder")
OPENING = p256_key("opening")
OTHER = p256_key("other")


def recipients(bidder=BIDDER, opening=OPENING) -> list[envelope.Recipient]:
    """The usual two recipients: the bidder's key and the tender's opening key."""
    return [
        envelope.Recipient("bidder", bidder.public_key()),
        envelope.Recipient("opening", opening.public_key()),
    ]


def small_envelope(
    plaintext: bytes = bytes(range(150)),
    *,
    tender_id: str = "T-1",
    bidder_id: str = "B-1",
    chunk_size: int = 64,
    rng=None,
) -> bytes:
    """A small multi-chunk envelope (150 bytes in 64-byte chunks: 3 chunks)."""
    return envelope.seal_bytes(
        plaintext,
        tender_id=tender_id,
        bidder_id=bidder_id,
        recipients=recipients(),
        chunk_size=chunk_size,
        rng=rng,
    )


def open_with(blob: bytes, key=OPENING, **kwargs) -> bytes:
    """Unwrap with ``key`` and decrypt; the way a recipient opens an envelope."""
    return envelope.open_bytes_with_key(blob, key, **kwargs)


def structure(blob: bytes, **kwargs) -> envelope.EnvelopeInfo:
    """Run the keyless structural check on bytes."""
    return envelope.check_structure(io.BytesIO(blob), **kwargs)


def fingerprint(key) -> str:
    """Hex fingerprint of a key's public half."""
    return keys.key_fingerprint(key)
