"""Decrypted bids at rest: written encrypted as they are decrypted, read back only here.

At the opening a bid's envelope is decrypted straight into an at-rest writer
(``core.at_rest.document_writer``, format ``crypto.atrest``): each plaintext chunk is
encrypted under a fresh data key before it reaches the disk, so no plaintext file,
temporary or not, ever exists. The data key, wrapped by the platform's current at-rest
KEK, its key id and the file's header digest go on the ``BidOpening`` row together with
what was learned of the plaintext on the way (SHA-256, size, sniffed type).

Callers read through ``bidding.opening.selectors.open_bid_document``, which audits
every access; ``document_reader`` here is its unaudited engine.
"""

from __future__ import annotations

import base64
import os
import uuid
from typing import BinaryIO

from django.core.files.storage import default_storage

from core import at_rest
from crypto import envelope

#: Content types sniffed from the first bytes of a decrypted document.
PDF, ZIP, OTHER = "pdf", "zip", "other"


class DocumentUnavailable(Exception):
    """This bid has no readable at-rest document (not decrypted, or a legacy row)."""


def context(item) -> str:
    """What the at-rest file and its wrapped key are bound to: this bid."""
    return f"bid-opening:{item.bid.public_id}"


def sniff(head: bytes) -> str:
    """``pdf``, ``zip`` (docx, xlsx, ofd and zip itself) or ``other``."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZIP
    return OTHER


class _Head:
    """Passes writes on to the encrypting writer and keeps the first bytes for sniffing."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.head = b""

    def write(self, data) -> int:
        if len(self.head) < 8:
            self.head += bytes(memoryview(data)[: 8 - len(self.head)])
        return self.inner.write(data)


def decrypt_to_rest(item, src: BinaryIO, bid_key: bytes, *, tender_id: str,
                    bidder_id: str) -> dict:
    """Decrypt the envelope ``src`` with ``bid_key`` into a new at-rest file; return the
    ``BidOpening`` field values to save. Each attempt writes a file of its own name (two
    tabs may hand over at once; the row keeps the one whose key it stores); a failed
    attempt's file is removed. Raises ``CryptoError`` if the key does not open the bid."""

    def pump(sink) -> None:
        # Every chunk's tag is checked before its plaintext is written; the envelope's
        # SHA-256 was taken when it arrived (the receipt's), so it is not taken again.
        envelope.open_envelope(src, sink, bid_key, tender_id=tender_id, bidder_id=bidder_id,
                               digest=False)

    return _to_rest(item, pump)


def encrypt_to_rest(item, plain: BinaryIO) -> dict:
    """An at-rest file of an already decrypted document (legacy plaintext files)."""

    def pump(sink) -> None:
        while block := plain.read(1024 * 1024):
            sink.write(block)

    return _to_rest(item, pump)


def _to_rest(item, pump) -> dict:
    name = f"opened/{item.bid.tender.public_id}/{item.bid.public_id}.{uuid.uuid4().hex}.rest"
    path = default_storage.path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ok = False
    try:
        with open(path, "xb") as dst:
            writer, key = at_rest.document_writer(dst, context=context(item))
            sink = _Head(writer)
            try:
                pump(sink)
            finally:
                writer.close()
            dst.flush()
            os.fsync(dst.fileno())
        ok = True
    finally:
        if not ok and os.path.exists(path):
            os.unlink(path)
    return {
        "document": name,
        "document_key_id": key.key_id,
        "document_wrapped_key": base64.b64encode(key.wrapped).decode("ascii"),
        "document_header_sha256": writer.header_sha256,
        "document_sha256": writer.sha256.hexdigest(),
        "document_size": writer.size,
        "document_content_type": sniff(sink.head),
    }


DOCUMENT_FIELDS = ("document", "document_key_id", "document_wrapped_key",
                   "document_header_sha256", "document_sha256", "document_size",
                   "document_content_type")


def apply(item, values: dict) -> None:
    """Put the values of :func:`decrypt_to_rest` on ``item`` (the caller saves)."""
    for field, value in values.items():
        if field == "document":
            item.document.name = value
        else:
            setattr(item, field, value)


def discard(values: dict | None) -> None:
    """Remove the file of an attempt that did not make it onto the row."""
    if values and values.get("document"):
        default_storage.delete(values["document"])


def document_reader(item):
    """An open, tag-checking plaintext reader of ``item``'s document (close it).
    Raises ``DocumentUnavailable``, ``PlatformKeyUnavailable`` or ``CryptoError``."""
    from crypto.errors import DecryptionFailed

    if not item.document or not item.document_wrapped_key:
        if item.document:
            raise DocumentUnavailable(
                "this bid's decrypted file predates encryption at rest; run "
                "`manage.py seal_opened_documents` to encrypt it")
        raise DocumentUnavailable("no decrypted document is stored for this bid")
    key = at_rest.WrappedKey(item.document_key_id,
                             base64.b64decode(item.document_wrapped_key))
    fh = item.document.storage.open(item.document.name, "rb")
    try:
        reader = at_rest.document_reader(fh, key, context=context(item))
        if item.document_header_sha256 and reader.header_sha256 != item.document_header_sha256:
            raise DecryptionFailed("the at-rest file is not the one recorded for this bid")
    except BaseException:
        fh.close()
        raise
    return _Closing(reader, fh)


class _Closing:
    """The reader, closing the underlying file with it."""

    def __init__(self, reader, fh) -> None:
        self.reader = reader
        self.fh = fh

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.fh.close()
