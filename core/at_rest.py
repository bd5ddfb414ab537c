"""Keeping things encrypted at rest with the platform's KEKs (``core.platform_keys``).

The format is ``crypto.atrest``; this module only fetches the KEKs. Two uses:

* documents (``document_writer`` / ``document_reader``): a fresh data key per document,
  streamed chunk by chunk, the data key wrapped by the current KEK; the caller stores
  the returned key id and wrapped key beside the file's name;
* small secrets in the database (``secret_seal`` / ``secret_open``): a text token
  ``rest1:<key id>:<base64 of nonce || ciphertext>`` bound to a context string.

The context names what is encrypted (``"bid-opening:<uuid>"``, ``"totp:<user id>"``):
a wrapped key or a file moved to another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import BinaryIO

from core import platform_keys
from crypto import atrest
from crypto.errors import MalformedData

SECRET_PREFIX = "rest1"


@dataclass(frozen=True)
class WrappedKey:
    """A document's data key as stored: the KEK's id and the wrapped bytes."""

    key_id: str
    wrapped: bytes


def document_writer(dst: BinaryIO, *, context: str,
                    chunk_size: int = atrest.DEFAULT_CHUNK_SIZE
                    ) -> tuple[atrest.EncryptingWriter, WrappedKey]:
    """A writer that encrypts into ``dst`` under a fresh data key, and that key wrapped
    with the current KEK. Close the writer to finish the file; it keeps the plaintext's
    ``sha256`` and ``size``."""
    ring = platform_keys.at_rest_keyring()
    data_key = atrest.new_data_key()
    kid = ring.current_key_id
    wrapped = WrappedKey(kid, ring.wrap(data_key, key_id=kid, context=context))
    return atrest.EncryptingWriter(dst, data_key, context=context,
                                   chunk_size=chunk_size), wrapped


def document_reader(src: BinaryIO, key: WrappedKey, *, context: str
                    ) -> atrest.DecryptingReader:
    """A reader of the plaintext of the at-rest file ``src``. Raises
    ``PlatformKeyUnavailable`` when the KEK is missing and ``CryptoError`` when the
    wrapped key or the file was altered (reads raise too, chunk by chunk)."""
    ring = platform_keys.at_rest_keyring()
    data_key = ring.unwrap(key.wrapped, key_id=key.key_id, context=context)
    return atrest.DecryptingReader(src, data_key, context=context)


def secret_seal(secret: bytes, *, context: str) -> str:
    """``secret`` as a text token for a database column, wrapped by the current KEK."""
    ring = platform_keys.at_rest_keyring()
    kid = ring.current_key_id
    wrapped = ring.wrap(bytes(secret), key_id=kid, context=context)
    return f"{SECRET_PREFIX}:{kid}:{base64.b64encode(wrapped).decode('ascii')}"


def secret_open(token: str, *, context: str) -> bytes:
    """The secret in a token from :func:`secret_seal`; ``CryptoError`` if altered."""
    prefix, _, rest = str(token).partition(":")
    kid, _, b64 = rest.partition(":")
    if prefix != SECRET_PREFIX or not kid or not b64:
        raise MalformedData("not an at-rest secret token")
    try:
        wrapped = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise MalformedData("an at-rest secret token is not base64") from exc
    return platform_keys.at_rest_keyring().unwrap(wrapped, key_id=kid, context=context)


def secret_key_id(token: str) -> str:
    """The id of the KEK that wraps a token (to find what a rotation must re-wrap)."""
    return str(token).split(":", 2)[1] if str(token).count(":") >= 2 else ""
