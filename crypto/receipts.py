"""Receipts: the platform's signed statement that it accepted an envelope.

Wire specification (version 1)
------------------------------
A receipt is a JSON object::

    {"v": 1, "type": "ggzy-receipt",
     "tender_id": str, "bidder_id": str,
     "sha256": 64 hex digits, the SHA-256 of the whole envelope as received,
     "size": int, bytes of the envelope,
     "server_time": ISO 8601 with UTC offset, when the platform accepted it,
     "extra": object (optional context such as a bid id; may be empty),
     "tree_head": object (optional): the audit log's latest signed tree head when the
         receipt was issued, a complete STH of :mod:`crypto.log` with its own signature,
     "key": hex SHA-256 of the platform's 32-byte Ed25519 verify key,
     "signature": base64 Ed25519 signature}

The signature covers ``"ggzy-receipt-v1\\x00" || canonical_json(receipt without
"signature")`` (see :mod:`crypto.signing` and :func:`crypto.chain.canonical_json`).
A bidder checks a receipt with the platform's published verify key and checks
that ``sha256`` is the digest of the file it uploaded.

The ``tree_head`` makes every bidder a keeper of the audit log's state: whoever later
doubts the log runs ``manage.py verify_audit --against`` with the tree heads from the
receipts (:func:`receipt_tree_head` takes it out), and a log that was cut or rewritten
since no longer matches them. Its signature is checked with :func:`crypto.log.sth_verify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _fields
from ._signed import sign_statement, verify_statement
from .errors import MalformedData
from .log import sth_parse
from .signing import RECEIPT, SigningKey, VerifyKey

RECEIPT_TYPE = "ggzy-receipt"


def _body(receipt: Mapping[str, Any]) -> dict:
    if receipt.get("v") != 1 or receipt.get("type") != RECEIPT_TYPE:
        raise MalformedData("not a version-1 receipt")
    _fields.text(receipt.get("tender_id"), "tender_id")
    _fields.text(receipt.get("bidder_id"), "bidder_id")
    _fields.hex_digest(receipt.get("sha256"), "sha256")
    _fields.non_negative_int(receipt.get("size"), "size")
    _fields.iso_time(receipt.get("server_time"), "server_time")
    if not isinstance(receipt.get("extra", {}), dict):
        raise MalformedData("extra must be an object")
    if "tree_head" in receipt:
        sth_parse(receipt["tree_head"])
    return dict(receipt)


def receipt_issue(
    signing_key: SigningKey,
    *,
    tender_id: str,
    bidder_id: str,
    sha256: str,
    size: int,
    server_time: str,
    extra: dict | None = None,
    tree_head: Mapping[str, Any] | None = None,
) -> dict:
    """Sign a receipt for an accepted envelope; return the JSON-ready dict.

    ``tree_head``, the audit log's latest signed tree head, goes in whole when given."""
    body = {
        "v": 1,
        "type": RECEIPT_TYPE,
        "tender_id": tender_id,
        "bidder_id": bidder_id,
        "sha256": sha256,
        "size": size,
        "server_time": server_time,
        "extra": dict(extra or {}),
    }
    if tree_head is not None:
        body["tree_head"] = dict(tree_head)
    return sign_statement(signing_key, RECEIPT, _body(body))


def receipt_verify(receipt: Mapping[str, Any], verify_key: VerifyKey) -> dict:
    """Check a receipt's form and signature; return its fields (no signature).

    Raises ``MalformedData`` for a malformed receipt and ``BadSignature`` if
    the signature fails or another key signed it.
    """
    if not isinstance(receipt, Mapping):
        raise MalformedData("a receipt is a JSON object")
    _body(receipt)
    return verify_statement(receipt, verify_key, RECEIPT)


def receipt_tree_head(receipt: Mapping[str, Any]) -> dict | None:
    """The signed tree head a receipt carries, or None (receipts issued before any)."""
    head = receipt.get("tree_head") if isinstance(receipt, Mapping) else None
    return dict(head) if isinstance(head, Mapping) else None
