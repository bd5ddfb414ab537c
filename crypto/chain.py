"""Hash-chain primitives for an append-only audit trail.

Wire format (version 1). An event is a mapping of JSON-serialisable fields. Its
*digest* is ``SHA-256(LABEL_EVENT || canonical_json(fields))`` and its *hash*, the
link in the chain, is ``SHA-256(LABEL_LINK || prev_hash || digest)`` where
``prev_hash`` is the previous event's hash (32 zero bytes for the first event).
All hashes are written as lowercase hex.

``canonical_json`` is JSON with sorted keys, no insignificant whitespace and
UTF-8 output (``ensure_ascii=False``), so the same fields always give the same
bytes. Payloads are not stored in the chain: callers store ``payload_digest``
(see :func:`payload_digest`) among the fields.

A verifier walks the events in order and recomputes both hashes. An edited event
changes its digest; a deleted, inserted or reordered event breaks the next link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ChainBroken

LABEL_EVENT = b"ggzy-audit-event-v1\x00"
LABEL_LINK = b"ggzy-audit-link-v1\x00"
LABEL_PAYLOAD = b"ggzy-audit-payload-v1\x00"
GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` deterministically: sorted keys, compact, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def payload_digest(payload: Any) -> str:
    """Digest of an action's payload, stored in the event instead of the payload."""
    return hashlib.sha256(LABEL_PAYLOAD + canonical_json(payload)).hexdigest()


def event_digest(fields: Mapping[str, Any]) -> str:
    """Digest of one event's fields."""
    return hashlib.sha256(LABEL_EVENT + canonical_json(dict(fields))).hexdigest()


def link_hash(prev_hash: str, digest: str) -> str:
    """The chain link: binds an event's digest to the hash of the event before it."""
    try:
        prev = bytes.fromhex(prev_hash)
        dig = bytes.fromhex(digest)
    except ValueError as exc:
        raise ChainBroken(f"not a hex hash: {exc}", index=-1) from exc
    if len(prev) != 32 or len(dig) != 32:
        raise ChainBroken("hashes must be 32 bytes", index=-1)
    return hashlib.sha256(LABEL_LINK + prev + dig).hexdigest()


def verify_chain(
    events: Iterable[tuple[Mapping[str, Any], str, str]],
    *,
    start_hash: str = GENESIS_HASH,
    start_index: int = 0,
) -> str:
    """Verify ``(fields, prev_hash, hash)`` triples in order; return the last hash.

    Raises ``ChainBroken`` naming the position (``start_index``-based) of the first
    event whose stored ``prev_hash`` or ``hash`` disagrees with the recomputed one.
    """
    expected_prev = start_hash
    index = start_index - 1
    for index, (fields, prev_hash, stored_hash) in enumerate(events, start=start_index):
        if not hmac.compare_digest(str(prev_hash), expected_prev):
            raise ChainBroken(
                "previous-hash link does not match the event before it "
                "(an event was deleted, inserted or reordered)",
                index=index,
            )
        recomputed = link_hash(expected_prev, event_digest(fields))
        if not hmac.compare_digest(str(stored_hash), recomputed):
            raise ChainBroken(
                "event hash does not match its contents (the event was edited)",
                index=index,
            )
        expected_prev = recomputed
    return expected_prev


#: The two fields an appender fills in only once it holds the chain head.
_SEQ_MARK = '"seq":0,'
_TIME_MARK = '"time":""}'


def event_template(fields: Mapping[str, Any]) -> tuple[bytes, bytes, bytes]:
    """The event's canonical JSON with its ``seq`` and ``time`` left open.

    Returns ``(head, middle, tail)`` such that, for any sequence number ``n`` and time
    string ``t`` (which JSON writes without escapes: an ISO 8601 timestamp),
    ``head + str(n) + middle + t + tail == canonical_json({**fields, "seq": n,
    "time": t})``. An appender that learns ``n`` and ``t`` only while it holds the
    chain head (for example inside one SQL statement, ``audit.services``) can then
    compute :func:`event_digest` there, without the rest of the event. Keys sort
    ``… "seq", "summary", "time"``: ``time`` is last, ``seq`` comes before it."""
    text = canonical_json({**fields, "seq": 0, "time": ""}).decode("utf-8")
    # A key is the only place a bare '"' is followed by ':' (inside strings quotes are
    # escaped), so each mark occurs exactly once.
    if text.count(_SEQ_MARK) != 1 or not text.endswith("," + _TIME_MARK):
        raise ValueError("event fields must include seq and time as the last keys but one")
    head, rest = text.split(_SEQ_MARK)
    middle = "," + rest[: -len(_TIME_MARK)]
    return ((head + '"seq":').encode("utf-8"), (middle + '"time":"').encode("utf-8"),
            b'"}')
