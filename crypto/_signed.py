"""Signed JSON statements: the shared machinery of receipts and checkpoints.

A statement is a JSON object. Its signature covers ``label || canonical_json(body)``
where ``body`` is the object without its ``"signature"`` member, and is stored
base64-encoded in that member. ``"key"`` in the body names the signer's key by
fingerprint so a verifier holding several keys can pick the right one.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any

from .chain import canonical_json
from .errors import BadSignature, MalformedData
from .keys import key_fingerprint
from .signing import SigningKey, VerifyKey, sign, verify


def sign_statement(
    signing_key: SigningKey, label: bytes, body: Mapping[str, Any]
) -> dict:
    """Return ``body`` plus ``key`` (fingerprint) and ``signature`` (base64)."""
    out = dict(body)
    out["key"] = key_fingerprint(signing_key)
    sig = sign(signing_key, label, canonical_json(out))
    out["signature"] = base64.b64encode(sig).decode("ascii")
    return out


def verify_statement(
    statement: Mapping[str, Any], verify_key: VerifyKey, label: bytes
) -> dict:
    """Verify a :func:`sign_statement` object; return it without the signature."""
    if not isinstance(statement, Mapping):
        raise MalformedData("a signed statement is a JSON object")
    body = dict(statement)
    try:
        sig = base64.b64decode(str(body.pop("signature")), validate=True)
    except KeyError as exc:
        raise MalformedData("the statement has no signature") from exc
    except (binascii.Error, ValueError) as exc:
        raise MalformedData("the signature is not base64") from exc
    if not hmac.compare_digest(str(body.get("key", "")), key_fingerprint(verify_key)):
        raise BadSignature("the statement was signed by a different key")
    try:
        message = canonical_json(body)
    except (TypeError, ValueError) as exc:
        raise MalformedData("the statement is not canonical JSON") from exc
    verify(verify_key, label, message, sig)
    return body
