"""Signed checkpoints of the audit hash chain (see :mod:`crypto.chain`).

Wire specification (version 1)
------------------------------
A checkpoint is a JSON object::

    {"v": 1, "type": "ggzy-checkpoint",
     "index": int, position of the last event covered (0-based),
     "head_hash": 64 hex digits, that event's chain hash,
     "time": ISO 8601 with UTC offset,
     "key": hex SHA-256 of the platform's Ed25519 verify key,
     "signature": base64 Ed25519 signature}

The signature covers ``"ggzy-checkpoint-v1\\x00" || canonical_json(checkpoint
without "signature")``. Because each chain hash commits to every event before
it, one signed head hash vouches for the whole prefix: an auditor recomputes
the chain up to ``index`` with :func:`crypto.chain.verify_chain` and compares.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from . import _fields
from ._signed import sign_statement, verify_statement
from .chain import GENESIS_HASH, verify_chain
from .errors import ChainBroken, MalformedData
from .signing import CHECKPOINT, SigningKey, VerifyKey

CHECKPOINT_TYPE = "ggzy-checkpoint"


def _body(checkpoint: Mapping[str, Any]) -> dict:
    if checkpoint.get("v") != 1 or checkpoint.get("type") != CHECKPOINT_TYPE:
        raise MalformedData("not a version-1 checkpoint")
    _fields.non_negative_int(checkpoint.get("index"), "index")
    _fields.hex_digest(checkpoint.get("head_hash"), "head_hash")
    _fields.iso_time(checkpoint.get("time"), "time")
    return dict(checkpoint)


def checkpoint_sign(
    signing_key: SigningKey, *, index: int, head_hash: str, time: str
) -> dict:
    """Sign the chain head ``head_hash`` of event ``index`` at ``time``."""
    body = _body(
        {
            "v": 1,
            "type": CHECKPOINT_TYPE,
            "index": index,
            "head_hash": head_hash,
            "time": time,
        }
    )
    return sign_statement(signing_key, CHECKPOINT, body)


def checkpoint_verify(checkpoint: Mapping[str, Any], verify_key: VerifyKey) -> dict:
    """Check a checkpoint's form and signature; return its fields.

    Raises ``MalformedData`` or ``BadSignature``.
    """
    if not isinstance(checkpoint, Mapping):
        raise MalformedData("a checkpoint is a JSON object")
    _body(checkpoint)
    return verify_statement(checkpoint, verify_key, CHECKPOINT)


def checkpoint_verify_chain(
    checkpoint: Mapping[str, Any],
    events: Iterable[tuple[Mapping[str, Any], str, str]],
    verify_key: VerifyKey,
    *,
    start_hash: str = GENESIS_HASH,
) -> dict:
    """Verify a checkpoint and the chain events ``0 .. index`` it vouches for.

    ``events`` are ``(fields, prev_hash, hash)`` triples from the first event
    on; events after ``index`` are ignored. Raises ``BadSignature`` or
    ``MalformedData`` for the checkpoint itself, and ``ChainBroken`` naming the
    first bad event, or the checkpoint's index when the chain is too short or
    its head differs from the signed one.
    """
    body = checkpoint_verify(checkpoint, verify_key)
    index = body["index"]
    covered = []
    for i, event in enumerate(events):
        if i > index:
            break
        covered.append(event)
    if len(covered) != index + 1:
        raise ChainBroken(
            f"checkpoint covers {index + 1} events, the chain has {len(covered)}",
            index=len(covered),
        )
    head = verify_chain(covered, start_hash=start_hash)
    if not hmac.compare_digest(head, body["head_hash"]):
        raise ChainBroken("chain head differs from the signed checkpoint", index=index)
    return body
