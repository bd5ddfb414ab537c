"""Documents at rest on the platform: the same chunked STREAM as the sealed envelope,
under a data key that a platform key-encryption key (KEK) wraps.

Used for what the platform must keep but must not keep readable on its disk or in its
database: bid documents decrypted at the opening, TOTP secrets. Whoever copies the
media storage and the database reads nothing without the KEK, which lives with the
platform key provider (``core.platform_keys``), not beside the data.

File format (all integers big-endian, unsigned)
-----------------------------------------------
::

    offset  size  field
    0       8     magic          b"GGZYREST"
    8       1     version        0x01
    9       4     chunk_size     plaintext bytes per chunk, 64 .. 16 MiB
    13      16    salt           random; HKDF salt of the payload key
    29      7     nonce_prefix   random; first 7 bytes of every chunk nonce
    36      2     context_len    1 .. 256
    38      *     context        UTF-8, no control characters: what the document is,
                                 e.g. "bid-opening:<bid uuid>"

The body is the envelope's STREAM (:mod:`crypto.envelope`, "Body") unchanged::

    payload_key = HKDF-SHA256(data_key, salt=salt, info="ggzy-at-rest-payload-v1")
    nonce_i     = nonce_prefix (7) || i as uint32 (4) || last (1: 0x01 if last else 0x00)
    aad         = SHA-256(whole header)
    chunk_i     = AES-256-GCM(payload_key, nonce_i, plaintext_i, aad)  (tag appended)

There is no header MAC: every chunk's associated data is the header's hash and there is
always at least one chunk (an empty plaintext is one empty chunk), so an altered header
fails the first tag. A reader checks the context it expects, so a file moved to another
document's name is refused even before its key is tried.

Wrapped data key
----------------
::

    wrapped = nonce (12, random) || AES-256-GCM(kek, nonce, data_key,
                 aad = "ggzy-at-rest-wrap-v1" || 0x00 || key_id || 0x00 || context)

``key_id`` names the KEK so that KEKs can rotate: new documents are wrapped with the
current KEK, old ones stay readable while their KEK is still listed. The same wrapping
(:func:`wrap_secret`) protects small secrets kept in the database.

Errors: ``MalformedData`` for framing, ``DecryptionFailed`` for any tag that does not
verify (wrong KEK, altered wrapped key, altered or cut or extended file).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .envelope import (
    KEY_LEN,
    MAX_CHUNK_SIZE,
    MAX_COUNTER,
    MIN_CHUNK_SIZE,
    NONCE_PREFIX_LEN,
    SALT_LEN,
    TAG_LEN,
    _nonce,
    _read_full,
)
from .errors import DecryptionFailed, MalformedData
from .wrap import hkdf_sha256, random_bytes

MAGIC = b"GGZYREST"
VERSION = 1
LABEL_PAYLOAD = b"ggzy-at-rest-payload-v1"
LABEL_WRAP = b"ggzy-at-rest-wrap-v1"
WRAP_NONCE_LEN = 12
DEFAULT_CHUNK_SIZE = 64 * 1024
MAX_CONTEXT_LEN = 256
_FIXED = struct.Struct(">8sBI16s7sH")  # magic .. context_len, 38 bytes
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_KEY_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _context_bytes(context: str) -> bytes:
    if not isinstance(context, str):
        raise TypeError("context must be a string")
    data = context.encode("utf-8")
    if not 1 <= len(data) <= MAX_CONTEXT_LEN or _CONTROL_RE.search(context):
        raise ValueError(
            f"context must be 1..{MAX_CONTEXT_LEN} UTF-8 bytes without control characters"
        )
    return data


def check_key_id(key_id: str) -> str:
    """``key_id`` if it is 1..64 characters of ``[A-Za-z0-9._-]``, else ValueError."""
    if not isinstance(key_id, str) or not _KEY_ID_RE.fullmatch(key_id):
        raise ValueError("a key id is 1..64 characters of A-Z a-z 0-9 . _ -")
    return key_id


def _wrap_aad(key_id: str, context: str) -> bytes:
    return (
        LABEL_WRAP + b"\x00" + check_key_id(key_id).encode("ascii") + b"\x00"
        + _context_bytes(context)
    )


def wrap_secret(kek: bytes, secret: bytes, *, key_id: str, context: str, rng=None) -> bytes:
    """Encrypt ``secret`` (a data key or a small secret) under the 32-byte ``kek``,
    bound to ``key_id`` and ``context``; returns ``nonce || ciphertext || tag``."""
    if len(kek) != KEY_LEN:
        raise ValueError("a key-encryption key is 32 bytes")
    nonce = random_bytes(WRAP_NONCE_LEN, rng)
    return nonce + AESGCM(bytes(kek)).encrypt(nonce, bytes(secret), _wrap_aad(key_id, context))


def unwrap_secret(kek: bytes, wrapped: bytes, *, key_id: str, context: str) -> bytes:
    """The secret :func:`wrap_secret` wrapped; ``DecryptionFailed`` if the KEK, the key
    id, the context or a byte of ``wrapped`` is not what it was."""
    wrapped = bytes(wrapped)
    if len(kek) != KEY_LEN:
        raise DecryptionFailed("a key-encryption key is 32 bytes")
    if len(wrapped) < WRAP_NONCE_LEN + TAG_LEN:
        raise MalformedData("a wrapped key is too short")
    try:
        return AESGCM(bytes(kek)).decrypt(
            wrapped[:WRAP_NONCE_LEN], wrapped[WRAP_NONCE_LEN:], _wrap_aad(key_id, context)
        )
    except InvalidTag as exc:
        raise DecryptionFailed(
            f"the wrapped key does not open with key-encryption key {key_id!r} "
            "(wrong key, or the wrapped key or its context was altered)"
        ) from exc


def new_data_key(rng=None) -> bytes:
    """A fresh random 32-byte data key: one per document."""
    return random_bytes(KEY_LEN, rng)


def _header(chunk_size: int, salt: bytes, prefix: bytes, context: bytes) -> bytes:
    return _FIXED.pack(MAGIC, VERSION, chunk_size, salt, prefix, len(context)) + context


def read_header(src: BinaryIO) -> tuple[int, bytes, bytes, str, bytes]:
    """``(chunk_size, salt, nonce_prefix, context, raw)`` of an at-rest file; framing only."""
    fixed = _read_exact(src, _FIXED.size)
    magic, version, chunk_size, salt, prefix, n = _FIXED.unpack(fixed)
    if magic != MAGIC:
        raise MalformedData("not an at-rest document (bad magic)")
    if version != VERSION:
        raise MalformedData(f"unsupported at-rest version {version}")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise MalformedData(f"chunk size {chunk_size} out of range")
    if not 1 <= n <= MAX_CONTEXT_LEN:
        raise MalformedData(f"context length {n} out of range")
    raw_context = _read_exact(src, n)
    try:
        context = raw_context.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedData("context is not UTF-8") from exc
    return chunk_size, salt, prefix, context, fixed + raw_context


def _read_exact(src: BinaryIO, n: int) -> bytes:
    buf = memoryview(bytearray(n))
    if _read_full(src, buf) != n:
        raise MalformedData("truncated at-rest header")
    return bytes(buf)


class EncryptingWriter(io.RawIOBase):
    """A write-only file object: plaintext written to it reaches ``dst`` encrypted, one
    chunk at a time (memory: one chunk). :meth:`close` writes the last chunk; until then
    the file is incomplete and reads as cut. Keeps the plaintext's SHA-256 and size."""

    def __init__(self, dst: BinaryIO, data_key: bytes, *, context: str,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, rng=None):
        super().__init__()
        if len(data_key) != KEY_LEN:
            raise ValueError("a data key is 32 bytes")
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size must be {MIN_CHUNK_SIZE} .. {MAX_CHUNK_SIZE} bytes")
        salt = random_bytes(SALT_LEN, rng)
        self._prefix = random_bytes(NONCE_PREFIX_LEN, rng)
        raw = _header(chunk_size, salt, self._prefix, _context_bytes(context))
        self._aead = AESGCM(hkdf_sha256(bytes(data_key), salt=salt, info=LABEL_PAYLOAD))
        self._aad = hashlib.sha256(raw).digest()
        #: SHA-256 (hex) of the header: a reader can be told to expect exactly this file.
        self.header_sha256 = self._aad.hex()
        self._dst = dst
        self._cs = chunk_size
        self._buf = bytearray()
        self._counter = 0
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.written = 0
        self._put(raw)

    def writable(self) -> bool:
        return True

    def _put(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self._dst.write(view)
            if not n:
                raise OSError("the output accepted no bytes")
            view = view[n:]
        self.written += len(data)

    def _seal(self, chunk: bytes, last: bool) -> None:
        if self._counter > MAX_COUNTER:
            raise ValueError("input too large for this chunk size")
        nonce = _nonce(self._prefix, self._counter, last)
        self._put(self._aead.encrypt(nonce, chunk, self._aad))
        self._counter += 1

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to a closed at-rest writer")
        view = memoryview(data).cast("B")
        n = len(view)
        self.sha256.update(view)
        self.size += n
        cs = self._cs
        pos = 0
        # A full chunk is sealed only once more data follows: the last chunk must know
        # that it is last. At most one chunk waits in the buffer.
        while pos < n:
            if len(self._buf) == cs:
                self._seal(bytes(self._buf), last=False)
                self._buf.clear()
            if not self._buf and n - pos > cs:
                self._seal(view[pos : pos + cs], last=False)
                pos += cs
                continue
            take = min(cs - len(self._buf), n - pos)
            self._buf += view[pos : pos + take]
            pos += take
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self._seal(bytes(self._buf), last=True)
                self._buf.clear()
            finally:
                super().close()


class DecryptingReader(io.RawIOBase):
    """A read-only file object over an at-rest file: every chunk's tag is checked before
    its plaintext is handed out; a wrong key, an altered, cut or extended file raises
    ``DecryptionFailed`` (``MalformedData`` for bad framing) from the read that meets it.
    Memory: two chunks. Plaintext handed out before a later chunk fails is unverified as
    a whole: callers that must not act on a partial document read it to the end first."""

    def __init__(self, src: BinaryIO, data_key: bytes, *, context: str):
        super().__init__()
        chunk_size, salt, prefix, found, raw = read_header(src)
        if not hmac.compare_digest(found.encode("utf-8"), _context_bytes(context)):
            raise MalformedData(f"this at-rest file is {found!r}, not {context!r}")
        if len(data_key) != KEY_LEN:
            raise DecryptionFailed("a data key is 32 bytes")
        self._aead = AESGCM(hkdf_sha256(bytes(data_key), salt=salt, info=LABEL_PAYLOAD))
        self._aad = hashlib.sha256(raw).digest()
        self.header_sha256 = self._aad.hex()
        self._prefix = prefix
        self._src = src
        self._full = chunk_size + TAG_LEN
        self._counter = 0
        self._out = memoryview(b"")
        self._done = False
        self._next = self._read_chunk()
        if not self._next:
            raise MalformedData("at-rest file has no body (truncated)")

    def readable(self) -> bool:
        return True

    def _read_chunk(self) -> bytes:
        buf = memoryview(bytearray(self._full))
        n = _read_full(self._src, buf)
        return bytes(buf[:n])

    def _advance(self) -> None:
        ct = self._next
        self._next = self._read_chunk() if len(ct) == self._full else b""
        last = not self._next
        if len(ct) < TAG_LEN:
            raise MalformedData("at-rest body does not end on a chunk boundary")
        if self._counter > MAX_COUNTER:
            raise MalformedData("at-rest file has too many chunks")
        try:
            pt = self._aead.decrypt(_nonce(self._prefix, self._counter, last), ct, self._aad)
        except InvalidTag as exc:
            raise DecryptionFailed(
                f"chunk {self._counter} failed authentication "
                "(the document was altered, cut or extended, or the key is wrong)"
            ) from exc
        if last and not pt and self._counter:
            raise MalformedData("at-rest body ends with an empty chunk after data")
        self._counter += 1
        self._done = last
        self._out = memoryview(pt)

    def readinto(self, b) -> int:
        target = memoryview(b).cast("B")
        while not self._out:
            if self._done:
                return 0
            self._advance()
        n = min(len(target), len(self._out))
        target[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


def encrypt_bytes(data: bytes, data_key: bytes, *, context: str,
                  chunk_size: int = DEFAULT_CHUNK_SIZE, rng=None) -> bytes:
    """The at-rest file of a small in-memory ``data``."""
    out = io.BytesIO()
    with EncryptingWriter(out, data_key, context=context, chunk_size=chunk_size,
                          rng=rng) as w:
        w.write(data)
    return out.getvalue()


def decrypt_bytes(blob: bytes, data_key: bytes, *, context: str) -> bytes:
    """The plaintext of a small in-memory at-rest file; raises on any tamper."""
    with DecryptingReader(io.BytesIO(bytes(blob)), data_key, context=context) as r:
        return r.read()
