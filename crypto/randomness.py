"""Verifiable draws: commit to a secret, select from it, let anyone recompute.

Used for expert draws and award lotteries. The platform publishes a commitment
to a fresh secret *before* the draw; the selection is a deterministic function
of that secret, the published parameters, the digest of the candidate list and
a public input fixed at the moment of the draw (one nobody knew in advance, for
example the digits of a public lottery draw). Afterwards the secret is revealed
and anybody recomputes the selection with :func:`verify_selection`.

Algorithm (version 1), precise enough to reimplement
----------------------------------------------------
Byte strings are written ``"..."`` (ASCII) and ``||`` is concatenation;
``u32(n)`` / ``u64(n)`` are big-endian unsigned integers; ``utf8(s)`` is UTF-8.

1. **Commitment.** ``secret`` is 32 random bytes (16 .. 64 accepted).
   ``commitment = hex(SHA-256("ggzy-random-commit-v1\\0" || secret))``.
2. **Candidate digest.** Candidates are distinct non-empty strings. Sort them by
   their UTF-8 bytes (bytewise, ascending); then
   ``digest = SHA-256("ggzy-random-candidates-v1\\0" || u32(len(utf8(c1))) ||
   utf8(c1) || u32(len(utf8(c2))) || utf8(c2) || ...)``, written as hex. The
   order callers pass the list in does not matter.
3. **Seed.** ``params`` is a JSON object (for example the draw's purpose, the
   tender, the count), serialised canonically: sorted keys, separators ``,``
   and ``:``, no whitespace, non-ASCII characters unescaped, UTF-8 (see
   :func:`crypto.chain.canonical_json`). Then::

       seed = HMAC-SHA256(key = secret,
                          msg = "ggzy-random-seed-v1\\0"
                                || u32(len(P)) || P        (P = canonical params)
                                || D                       (D = raw 32-byte digest)
                                || u32(len(I)) || I)       (I = utf8(public_input))

4. **Stream.** Block ``j`` (``j = 0, 1, 2, ...``) is
   ``HMAC-SHA256(key = seed, msg = "ggzy-random-stream-v1\\0" || u64(j))``; the
   random stream is block 0 || block 1 || ... read 8 bytes at a time.
5. **Uniform integer below n** (no modulo bias): read the next 8 bytes as
   ``v = u64``; let ``limit = 2^64 - (2^64 mod n)``; if ``v >= limit`` discard it
   and read again; otherwise the result is ``v mod n``.
6. **Selection** (partial Fisher-Yates): ``pool`` is the sorted candidate list
   of length ``N``. For ``i = 0 .. m-1``: ``r = i + uniform(N - i)``; swap
   ``pool[i]`` and ``pool[r]``. The result is ``pool[0 .. m-1]`` in that order:
   the first drawn first. ``m`` is not an input to the stream, so drawing
   ``m + 1`` extends the draw of ``m`` by one (reserves follow the primaries).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from . import _fields
from .chain import canonical_json
from .errors import MalformedData, VerificationFailed

LABEL_COMMIT = b"ggzy-random-commit-v1\x00"
LABEL_CANDIDATES = b"ggzy-random-candidates-v1\x00"
LABEL_SEED = b"ggzy-random-seed-v1\x00"
LABEL_STREAM = b"ggzy-random-stream-v1\x00"
SECRET_LEN = 32
_TWO64 = 2**64


def _check_secret(secret: bytes) -> bytes:
    secret = bytes(secret)
    if not 16 <= len(secret) <= 64:
        raise MalformedData("a draw secret is 16 .. 64 bytes")
    return secret


def commitment_of(secret: bytes) -> str:
    """The public commitment to ``secret`` (hex, step 1 of the module docstring)."""
    return hashlib.sha256(LABEL_COMMIT + _check_secret(secret)).hexdigest()


def commit(rng: Callable[[int], bytes] | None = None) -> tuple[bytes, str]:
    """A fresh 32-byte secret and its commitment. Publish the commitment only."""
    secret = secrets.token_bytes(SECRET_LEN) if rng is None else bytes(rng(SECRET_LEN))
    return secret, commitment_of(secret)


def _sorted_candidates(candidates: Sequence[str]) -> list[str]:
    if isinstance(candidates, str):
        raise TypeError("candidates must be a list of strings")
    items = list(candidates)
    for c in items:
        if not isinstance(c, str) or not c:
            raise MalformedData("every candidate is a non-empty string")
    items.sort(key=lambda c: c.encode("utf-8"))
    for a, b in itertools.pairwise(items):
        if a == b:
            raise MalformedData(f"candidate {a!r} is listed twice")
    return items


def candidates_digest(candidates: Sequence[str]) -> str:
    """Canonical hex digest of a candidate list (step 2); order-independent."""
    return _digest_of_sorted(_sorted_candidates(candidates))


def _seed(
    secret: bytes, params: Mapping[str, Any], digest: bytes, public_input: str
) -> bytes:
    p = canonical_json(dict(params))
    i = public_input.encode("utf-8")
    msg = (
        LABEL_SEED
        + struct.pack(">I", len(p))
        + p
        + digest
        + struct.pack(">I", len(i))
        + i
    )
    return hmac.new(secret, msg, hashlib.sha256).digest()


def _stream(seed: bytes) -> Iterator[int]:
    """Successive big-endian u64 values of the HMAC counter-mode stream (step 4)."""
    counter = 0
    while True:
        block = hmac.new(
            seed, LABEL_STREAM + struct.pack(">Q", counter), hashlib.sha256
        )
        yield from struct.unpack(">4Q", block.digest())
        counter += 1


def _uniform(values: Iterator[int], n: int) -> int:
    limit = _TWO64 - (_TWO64 % n)
    while True:
        v = next(values)
        if v < limit:
            return v % n


def select(
    *,
    secret: bytes,
    params: Mapping[str, Any],
    candidates_digest: str,
    public_input: str,
    candidates: Sequence[str],
    m: int,
) -> list[str]:
    """Draw ``m`` distinct candidates in order (steps 3-6 of the module docstring).

    ``candidates_digest`` must be the published digest of ``candidates``
    (``VerificationFailed`` otherwise), so a changed list cannot slip in.
    """
    digest_hex = _fields.hex_digest(candidates_digest, "candidates_digest")
    pool = _sorted_candidates(candidates)
    if not hmac.compare_digest(_digest_of_sorted(pool), digest_hex):
        raise VerificationFailed(
            "the candidate list does not match the published digest"
        )
    if not isinstance(public_input, str):
        raise TypeError("public_input must be a string")
    if not isinstance(m, int) or not 0 <= m <= len(pool):
        raise ValueError(f"m must be 0 .. {len(pool)}")
    values = _stream(
        _seed(_check_secret(secret), params, bytes.fromhex(digest_hex), public_input)
    )
    for i in range(m):
        r = i + _uniform(values, len(pool) - i)
        pool[i], pool[r] = pool[r], pool[i]
    return pool[:m]


def _digest_of_sorted(pool: list[str]) -> str:
    h = hashlib.sha256(LABEL_CANDIDATES)
    for c in pool:
        data = c.encode("utf-8")
        h.update(struct.pack(">I", len(data)) + data)
    return h.hexdigest()


def verify_selection(
    *,
    commitment: str,
    secret: bytes,
    params: Mapping[str, Any],
    candidates_digest: str,
    public_input: str,
    candidates: Sequence[str],
    m: int,
    expected: Sequence[str],
) -> bool:
    """Recompute a published draw from its revealed secret; ``True`` if it matches.

    Raises ``VerificationFailed`` if the secret does not match the commitment,
    the candidates do not match their digest, or the draw differs from
    ``expected`` (order included).
    """
    if not hmac.compare_digest(commitment_of(secret), str(commitment).lower()):
        raise VerificationFailed("the revealed secret does not match the commitment")
    result = select(
        secret=secret,
        params=params,
        candidates_digest=candidates_digest,
        public_input=public_input,
        candidates=candidates,
        m=m,
    )
    if result != list(expected):
        raise VerificationFailed("the published draw differs from the recomputed one")
    return True
