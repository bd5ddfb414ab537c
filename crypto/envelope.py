"""Sealed-bid envelopes, format versions 1 and 2.

Version 2 (custody without a trusted dealer) is version 1 plus a *custody block*
in the header: the bidder's own tool splits the data key k-of-n with Shamir and
wraps share ``x`` to custodian ``x``; there is no tender opening key. It is
specified in "Version 2" below and in :mod:`crypto.custody` (checking shares,
recombining, the bidder-fault proof). Version 1 stays readable for stored bids.

An envelope is a header followed by a body. All integers are big-endian and
unsigned. Every step uses only what WebCrypto offers (P-256 ECDH, HKDF-SHA256,
AES-GCM, SHA-256, HMAC-SHA256), so a browser can seal and open the same bytes.

Header
------
::

    offset  size  field
    0       8     magic            b"GGZYSEAL"
    8       1     version          0x01
    9       1     suite            0x01 = P-256 / HKDF-SHA256 / AES-256-GCM STREAM
    10      2     flags            0x0000 (reserved; any other value is refused)
    12      4     chunk_size       plaintext bytes per chunk, 64 .. 16 MiB
    16      16    salt             random; HKDF salt of the payload and MAC keys
    32      7     nonce_prefix     random; first 7 bytes of every chunk nonce
    39      2     tender_len       1 .. 256
            *     tender_id        UTF-8, no control characters
            2     bidder_len       1 .. 256
            *     bidder_id        UTF-8, no control characters
            1     stanza_count     1 .. 16
            *     stanzas          stanza_count times, see below
            32    header_mac       HMAC-SHA256(mac_key, every header byte before it)

Each recipient stanza::

    1     label_len        1 .. 32
    *     label            ASCII [a-z0-9_-], e.g. "bidder", "opening"
    32    fingerprint      SHA-256 of the recipient's 65-byte public key
    65    ephemeral_point  uncompressed P-256 point of a fresh ephemeral key
    48    wrapped_key      AES-256-GCM ciphertext of the data key, tag appended

Keys
----
A fresh random 32-byte *data key* ``K`` is made per envelope. For every
recipient it is wrapped as in :mod:`crypto.wrap` with the label
``ggzy-envelope-wrap-v1`` and empty associated data::

    shared      = ECDH(ephemeral, recipient)                     (32 bytes)
    wrap_key    = HKDF-SHA256(shared, salt=ephemeral_point || recipient_point,
                              info="ggzy-envelope-wrap-v1")
    wrapped_key = AES-256-GCM(wrap_key, nonce=00*12, K, aad="")

From ``K`` and the header salt two keys are derived::

    payload_key = HKDF-SHA256(K, salt=salt, info="ggzy-envelope-payload-v1")
    mac_key     = HKDF-SHA256(K, salt=salt, info="ggzy-envelope-header-mac-v1")

The header MAC authenticates every header field and, being HMAC, commits the
envelope to one data key: a sender cannot make two stanzas that open to two
different keys which both pass the MAC (so no "invisible salamander" bids that
read one way to the bidder's key and another way to the opening key).

Body (STREAM, as in age and Tink's streaming AEAD)
--------------------------------------------------
The plaintext is cut into chunks of ``chunk_size`` bytes; the last chunk holds
1 .. ``chunk_size`` bytes, and an empty plaintext is exactly one empty chunk.
Chunk ``i`` (counting from 0) is::

    nonce_i = nonce_prefix (7) || i as uint32 (4) || last (1: 0x01 if last else 0x00)
    aad     = SHA-256(whole header, header_mac included)
    chunk_i = AES-256-GCM(payload_key, nonce_i, plaintext_i, aad)  (tag appended)

So every chunk is ``chunk_size + 16`` bytes except the last, which is 16 .. ``chunk_size
+ 16`` bytes, and a body of ``L`` bytes is valid only if ``L >= 16`` and either
``L mod (chunk_size + 16)`` is 0 or it is at least 17, or ``L == 16`` (the empty
envelope). This lets :func:`check_structure` check the framing without a key.
Reordered or swapped chunks fail (the counter is in the nonce), a cut final
chunk fails (the new last chunk was sealed with flag 0x00), appended bytes fail
(the old last chunk is no longer last, or the tail is not a chunk), and chunks
moved between envelopes fail (different keys and header hash).

The *digest* of an envelope is the SHA-256 of all its bytes, header included:
receipts and bidders' signatures name it.

Version 2: the custody block
----------------------------
A v2 header has ``version`` 0x02 and, between the recipient stanzas and the
header MAC, a custody block (the stanzas are as in v1; a v2 envelope has the
bidder's own ``bidder`` stanza and no ``opening`` stanza)::

    1     threshold        k, 1 .. count
    1     count            n, 1 .. 16: the custodian set, in the tender's order
    n times, for x = 1 .. n (custodian x):
      32  fingerprint      SHA-256 of custodian x's 65-byte P-256 encryption key
      32  commitment       SHA-256 commitment to share x (below)
      65  ephemeral_point  uncompressed P-256 point of a fresh ephemeral key
      85  wrapped_share    AES-256-GCM of the 69-byte share x, tag appended

The bidder's tool splits ``K`` with :func:`crypto.shamir.split` (k-of-n, field
GF(2^521 - 1), the 69-byte share wire form) and, for each custodian::

    commitment    = SHA-256("ggzy-envelope-share-commit-v2" || 0x00
                            || uint16 len || tender_id || x (1 byte) || share (69))
    wrapped_share = wrap(custodian key, share, info="ggzy-envelope-share-v2",
                         aad = uint16 len || tender_id || x (1 byte) || salt (16))

with :mod:`crypto.wrap`. The header MAC covers the whole custody block, so the
threshold, the custodian set and every commitment are bound to the data key.
An envelope is well formed only if **every** k of its committed shares rebuild
the data key that passes the header MAC: :func:`crypto.custody.combine` uses
that to turn k matching shares that do not open the envelope into a proof
against the bidder. The ``rng`` of :func:`seal` then also supplies, after the
recipients' ephemeral scalars, the k-1 Shamir coefficients (66-byte candidates,
rejection-sampled below p) and one ephemeral scalar candidate per custodian.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import shamir
from ._stream import Sidecar
from .errors import DecryptionFailed, MalformedData
from .keys import key_fingerprint, public_key_bytes
from .wrap import hkdf_sha256, random_bytes, unwrap, wrap

MAGIC = b"GGZYSEAL"
VERSION = 1
#: Version 2: the data key is split among custodians in the header (no opening key).
VERSION_CUSTODY = 2
VERSIONS = (VERSION, VERSION_CUSTODY)
SUITE_P256_AES256GCM = 1
SUITES = {SUITE_P256_AES256GCM: "p256-hkdf-sha256-aes256gcm-stream"}

LABEL_WRAP = b"ggzy-envelope-wrap-v1"
LABEL_PAYLOAD = b"ggzy-envelope-payload-v1"
LABEL_HEADER_MAC = b"ggzy-envelope-header-mac-v1"
LABEL_SHARE_WRAP = b"ggzy-envelope-share-v2"
LABEL_SHARE_COMMIT = b"ggzy-envelope-share-commit-v2\x00"

TAG_LEN = 16
KEY_LEN = 32
SALT_LEN = 16
NONCE_PREFIX_LEN = 7
MAC_LEN = 32
FINGERPRINT_LEN = 32
POINT_LEN = 65
WRAPPED_LEN = KEY_LEN + TAG_LEN
MAX_ID_LEN = 256
MAX_LABEL_LEN = 32
MAX_STANZAS = 16
MAX_COUNTER = 2**32 - 1
MAX_CUSTODIANS = 16
SHARE_WRAPPED_LEN = shamir.SHARE_LEN + TAG_LEN
COMMITMENT_LEN = 32

#: Limits the format accepts. Sizes below 64 KiB are slow and meant for tests.
MIN_CHUNK_SIZE = 64
MAX_CHUNK_SIZE = 16 * 1024 * 1024
#: The range a sealing tool should use; 1 MiB is the default.
RECOMMENDED_CHUNK_SIZES = (64 * 1024, MAX_CHUNK_SIZE)
DEFAULT_CHUNK_SIZE = 1024 * 1024

_FIXED = struct.Struct(">8sBBHI16s7s")  # magic .. nonce_prefix, 39 bytes
_LABEL_RE = re.compile(r"[a-z0-9_-]{1,32}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_IO_BLOCK = 1024 * 1024
#: Ring of ciphertext buffers shared with the helper thread (see :func:`_ring`):
#: at least two (the chunk in hand and the look-ahead one), at most ``_MAX_RING``,
#: about ``_RING_BUDGET`` bytes in all.
_RING_BUDGET = 8 * 1024 * 1024
_MAX_RING = 8


def _ring(buffer_size: int) -> list[memoryview]:
    """Preallocated buffers that the streaming loops reuse round-robin."""
    return _buffers(max(2, min(_MAX_RING, _RING_BUDGET // buffer_size)), buffer_size)


def _buffers(count: int, size: int) -> list[memoryview]:
    return [memoryview(bytearray(size)) for _ in range(count)]


# -- data objects -----------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Somebody who can open an envelope: a label and a P-256 public key."""

    label: str
    public_key: ec.EllipticCurvePublicKey


@dataclass(frozen=True)
class Stanza:
    """One recipient's copy of the wrapped data key, as found in a header."""

    label: str
    fingerprint: bytes
    ephemeral_point: bytes
    wrapped_key: bytes

    def to_bytes(self) -> bytes:
        """The stanza's wire form."""
        label = self.label.encode("ascii")
        return (
            bytes([len(label)])
            + label
            + self.fingerprint
            + self.ephemeral_point
            + self.wrapped_key
        )

    def to_dict(self) -> dict:
        """A JSON-friendly view (hex) for display."""
        return {
            "label": self.label,
            "fingerprint": self.fingerprint.hex(),
            "ephemeral_point": self.ephemeral_point.hex(),
            "wrapped_key": self.wrapped_key.hex(),
        }


@dataclass(frozen=True)
class Custody:
    """A v2 envelope's custodians: share the data key ``threshold``-of-``len(custodians)``.

    ``custodians`` are the custodians' P-256 encryption keys in the tender's order;
    custodian ``x`` (counting from 1) gets share ``x``.
    """

    threshold: int
    custodians: tuple[ec.EllipticCurvePublicKey, ...]


@dataclass(frozen=True)
class CustodianEntry:
    """Custodian ``x``'s part of a v2 header: who, the commitment, the wrapped share."""

    x: int
    fingerprint: bytes
    commitment: bytes
    ephemeral_point: bytes
    wrapped_share: bytes

    def to_bytes(self) -> bytes:
        """The entry's wire form (its position gives ``x``)."""
        return self.fingerprint + self.commitment + self.ephemeral_point + self.wrapped_share

    def to_dict(self) -> dict:
        """A JSON-friendly view (hex) for display."""
        return {
            "x": self.x,
            "fingerprint": self.fingerprint.hex(),
            "commitment": self.commitment.hex(),
            "ephemeral_point": self.ephemeral_point.hex(),
            "wrapped_share": self.wrapped_share.hex(),
        }


def share_commitment(tender_id: str, x: int, share: bytes) -> bytes:
    """The 32-byte commitment to share ``x`` of a v2 envelope for ``tender_id``."""
    tender = str(tender_id).encode("utf-8")
    return hashlib.sha256(
        LABEL_SHARE_COMMIT + struct.pack(">H", len(tender)) + tender + bytes([x])
        + bytes(share)
    ).digest()


def share_wrap_aad(tender_id: str, x: int, salt: bytes) -> bytes:
    """The associated data of custodian ``x``'s wrapped share (module docstring)."""
    tender = str(tender_id).encode("utf-8")
    return struct.pack(">H", len(tender)) + tender + bytes([x]) + bytes(salt)


@dataclass(frozen=True)
class EnvelopeHeader:
    """A parsed, framing-checked header. ``raw`` is its exact wire bytes."""

    version: int
    suite: int
    chunk_size: int
    salt: bytes
    nonce_prefix: bytes
    tender_id: str
    bidder_id: str
    stanzas: tuple[Stanza, ...]
    mac: bytes
    raw: bytes = field(repr=False)
    #: v2 only: the threshold k and the custodian entries (x = 1 .. n, in order).
    threshold: int = 0
    custodians: tuple[CustodianEntry, ...] = ()

    @property
    def custodian_fingerprints(self) -> list[str]:
        """Hex fingerprints of the custodian set, in order (empty for v1)."""
        return [c.fingerprint.hex() for c in self.custodians]

    @property
    def size(self) -> int:
        """Length of the header in bytes."""
        return len(self.raw)

    @property
    def hash(self) -> bytes:
        """SHA-256 of the header bytes: the associated data of every chunk."""
        return hashlib.sha256(self.raw).digest()

    def to_dict(self) -> dict:
        """A JSON-friendly view for display (``python -m ggzy_bid show``)."""
        custody = {}
        if self.version == VERSION_CUSTODY:
            custody = {
                "threshold": self.threshold,
                "custodians": [c.to_dict() for c in self.custodians],
            }
        return {
            **custody,
            "format": "ggzy-envelope",
            "version": self.version,
            "suite": SUITES.get(self.suite, str(self.suite)),
            "chunk_size": self.chunk_size,
            "tender_id": self.tender_id,
            "bidder_id": self.bidder_id,
            "salt": self.salt.hex(),
            "nonce_prefix": self.nonce_prefix.hex(),
            "recipients": [s.to_dict() for s in self.stanzas],
            "header_mac": self.mac.hex(),
            "header_size": self.size,
        }


@dataclass(frozen=True)
class EnvelopeInfo:
    """What a structural check (or a full verification) learned about an envelope."""

    header: EnvelopeHeader
    sha256: str
    size: int
    chunk_count: int
    plaintext_size: int


@dataclass(frozen=True)
class SealResult:
    """The outcome of :func:`seal`: digest and size of the bytes written.

    ``sha256`` is ``None`` when :func:`seal` ran with ``digest=False``.
    """

    sha256: str | None
    size: int
    header: EnvelopeHeader
    plaintext_size: int


@dataclass(frozen=True)
class OpenResult:
    """The outcome of :func:`open_envelope`.

    ``sha256`` is ``None`` when :func:`open_envelope` ran with ``digest=False``.
    """

    sha256: str | None
    size: int
    header: EnvelopeHeader
    plaintext_size: int


# -- helpers ------------------------------------------------------------------------


def _check_id(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string")
    data = value.encode("utf-8")
    if not 1 <= len(data) <= MAX_ID_LEN or _CONTROL_RE.search(value):
        raise ValueError(
            f"{what} must be 1..{MAX_ID_LEN} UTF-8 bytes without control characters"
        )
    return data


def _check_chunk_size(chunk_size: int) -> None:
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(
            f"chunk size must be {MIN_CHUNK_SIZE} .. {MAX_CHUNK_SIZE} bytes"
        )


def derive_keys(data_key: bytes, salt: bytes) -> tuple[bytes, bytes]:
    """``(payload_key, mac_key)`` for an envelope, from its data key and salt."""
    if len(data_key) != KEY_LEN:
        raise DecryptionFailed("a data key is 32 bytes")
    return (
        hkdf_sha256(data_key, salt=salt, info=LABEL_PAYLOAD),
        hkdf_sha256(data_key, salt=salt, info=LABEL_HEADER_MAC),
    )


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _read_full(src: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``src``; fewer bytes only at end of stream."""
    got = 0
    size = len(view)
    readinto = getattr(src, "readinto", None)
    while got < size:
        if readinto is not None:
            n = readinto(view[got:])
        else:
            data = src.read(size - got)
            n = len(data)
            view[got : got + n] = data
        if not n:
            break
        got += n
    return got


def _discard(view: memoryview) -> None:
    """Work for a helper that has none (verify without a digest)."""


def _writer(dst: BinaryIO) -> Callable[[memoryview], None]:
    """A sink that writes all of a view, even to a raw file that writes partially."""

    def write(view: memoryview) -> None:
        while view:
            n = dst.write(view)
            if not n:
                raise OSError("the output accepted no bytes")
            view = view[n:]

    return write


def _read_upto(src: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at end of stream (pipes return short reads)."""
    parts = []
    left = n
    while left:
        data = src.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def _read_exact(src: BinaryIO, n: int, what: str) -> bytes:
    data = _read_upto(src, n)
    if len(data) != n:
        raise MalformedData(f"truncated envelope header ({what})")
    return data


def _body_chunks(body_len: int, chunk_size: int) -> tuple[int, int]:
    """``(chunk_count, plaintext_size)`` of a body, or ``MalformedData``."""
    full = chunk_size + TAG_LEN
    n_full, rem = divmod(body_len, full)
    if body_len == 0:
        raise MalformedData("envelope has no body (truncated)")
    if rem == 0:
        return n_full, body_len - n_full * TAG_LEN
    if rem < TAG_LEN:
        raise MalformedData("envelope body does not end on a chunk boundary")
    if rem == TAG_LEN and n_full:
        raise MalformedData("envelope body ends with an empty chunk after data")
    return n_full + 1, body_len - (n_full + 1) * TAG_LEN


def _to_header(header_or_src: EnvelopeHeader | BinaryIO | bytes) -> EnvelopeHeader:
    if isinstance(header_or_src, EnvelopeHeader):
        return header_or_src
    if isinstance(header_or_src, bytes | bytearray | memoryview):
        return read_header(io.BytesIO(bytes(header_or_src)))
    return read_header(header_or_src)


# -- header -----------------------------------------------------------------------


def _build_header(
    *,
    chunk_size: int,
    salt: bytes,
    nonce_prefix: bytes,
    tender: bytes,
    bidder: bytes,
    stanzas: Sequence[Stanza],
    mac_key: bytes,
    threshold: int = 0,
    custodians: Sequence[CustodianEntry] = (),
) -> bytes:
    version = VERSION_CUSTODY if custodians else VERSION
    custody = b""
    if custodians:
        custody = bytes([threshold, len(custodians)]) + b"".join(
            c.to_bytes() for c in custodians
        )
    body = (
        _FIXED.pack(
            MAGIC, version, SUITE_P256_AES256GCM, 0, chunk_size, salt, nonce_prefix
        )
        + struct.pack(">H", len(tender))
        + tender
        + struct.pack(">H", len(bidder))
        + bidder
        + bytes([len(stanzas)])
        + b"".join(s.to_bytes() for s in stanzas)
        + custody
    )
    return body + hmac.new(mac_key, body, hashlib.sha256).digest()


def read_header(src: BinaryIO) -> EnvelopeHeader:
    """Read and frame-check an envelope header from ``src``; no key needed.

    Leaves ``src`` positioned at the first body byte. Raises ``MalformedData``
    with a one-line reason for anything that is not a v1 or v2 header. The header MAC
    is *not* checked here: that needs the data key (see :func:`unwrap_data_key`).
    """
    first = _read_upto(src, len(MAGIC))
    if first != MAGIC:
        raise MalformedData("not a sealed envelope (bad magic)")
    rest = _read_exact(src, _FIXED.size - len(MAGIC), "fixed fields")
    raw = bytearray(first + rest)
    _, version, suite, flags, chunk_size, salt, prefix = _FIXED.unpack(raw)
    if version not in VERSIONS:
        raise MalformedData(f"unsupported envelope version {version}")
    if suite not in SUITES:
        raise MalformedData(f"unsupported envelope suite {suite}")
    if flags:
        raise MalformedData("reserved header flags are set")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise MalformedData(f"chunk size {chunk_size} out of range")

    def take(n: int, what: str) -> bytes:
        data = _read_exact(src, n, what)
        raw.extend(data)
        return data

    def text(what: str) -> str:
        (n,) = struct.unpack(">H", take(2, f"{what} length"))
        if not 1 <= n <= MAX_ID_LEN:
            raise MalformedData(f"{what} length {n} out of range")
        try:
            value = take(n, what).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedData(f"{what} is not UTF-8") from exc
        if _CONTROL_RE.search(value):
            raise MalformedData(f"{what} contains control characters")
        return value

    tender_id = text("tender id")
    bidder_id = text("bidder id")
    count = take(1, "stanza count")[0]
    if not 1 <= count <= MAX_STANZAS:
        raise MalformedData(f"recipient stanza count {count} out of range")
    stanzas = []
    for i in range(count):
        n = take(1, f"stanza {i} label length")[0]
        label = take(n, f"stanza {i} label").decode("ascii", errors="replace")
        if not _LABEL_RE.fullmatch(label):
            raise MalformedData(f"stanza {i} has an invalid label")
        fp = take(FINGERPRINT_LEN, f"stanza {i} fingerprint")
        point = take(POINT_LEN, f"stanza {i} ephemeral key")
        if point[0] != 0x04:
            raise MalformedData(
                f"stanza {i} ephemeral key is not an uncompressed point"
            )
        wrapped = take(WRAPPED_LEN, f"stanza {i} wrapped key")
        stanzas.append(Stanza(label, fp, point, wrapped))
    threshold = 0
    custodians = []
    if version == VERSION_CUSTODY:
        threshold, n = take(2, "custody threshold and count")
        if not 1 <= n <= MAX_CUSTODIANS or not 1 <= threshold <= n:
            raise MalformedData(f"custody threshold {threshold} of {n} out of range")
        for x in range(1, n + 1):
            fp = take(FINGERPRINT_LEN, f"custodian {x} fingerprint")
            commitment = take(COMMITMENT_LEN, f"custodian {x} commitment")
            point = take(POINT_LEN, f"custodian {x} ephemeral key")
            if point[0] != 0x04:
                raise MalformedData(
                    f"custodian {x} ephemeral key is not an uncompressed point"
                )
            wrapped = take(SHARE_WRAPPED_LEN, f"custodian {x} wrapped share")
            custodians.append(CustodianEntry(x, fp, commitment, point, wrapped))
        if len({c.fingerprint for c in custodians}) != n:
            raise MalformedData("the custodian set names a key twice")
    mac = _read_exact(src, MAC_LEN, "header MAC")
    raw.extend(mac)
    return EnvelopeHeader(
        version=version,
        suite=suite,
        chunk_size=chunk_size,
        salt=salt,
        nonce_prefix=prefix,
        tender_id=tender_id,
        bidder_id=bidder_id,
        stanzas=tuple(stanzas),
        mac=mac,
        raw=bytes(raw),
        threshold=threshold,
        custodians=tuple(custodians),
    )


def _check_ids(
    header: EnvelopeHeader, tender_id: str | None, bidder_id: str | None
) -> None:
    if tender_id is not None and not hmac.compare_digest(
        header.tender_id.encode("utf-8"), str(tender_id).encode("utf-8")
    ):
        raise MalformedData(
            f"envelope is for tender {header.tender_id!r}, not {tender_id!r}"
        )
    if bidder_id is not None and not hmac.compare_digest(
        header.bidder_id.encode("utf-8"), str(bidder_id).encode("utf-8")
    ):
        raise MalformedData(
            f"envelope is from bidder {header.bidder_id!r}, not {bidder_id!r}"
        )


def check_header_mac(header: EnvelopeHeader, data_key: bytes) -> bytes:
    """Check the header MAC with ``data_key``; return the payload key.

    Raises ``DecryptionFailed`` if the key is not this envelope's data key or the
    header was altered.
    """
    payload_key, mac_key = derive_keys(bytes(data_key), header.salt)
    expected = hmac.new(mac_key, header.raw[:-MAC_LEN], hashlib.sha256).digest()
    if not hmac.compare_digest(expected, header.mac):
        raise DecryptionFailed(
            "the data key does not open this envelope (or its header was altered)"
        )
    return payload_key


# -- sealing ----------------------------------------------------------------------


def seal(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    tender_id: str,
    bidder_id: str,
    recipients: Sequence[Recipient],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
    rng: Callable[[int], bytes] | None = None,
    threads: bool = True,
    digest: bool = True,
    custody: Custody | None = None,
) -> SealResult:
    """Encrypt the stream ``src`` into an envelope written to ``dst``.

    With ``custody`` the envelope is version 2: the data key is also split
    ``custody.threshold``-of-n among ``custody.custodians`` in the header (see
    the module docstring); ``recipients`` then normally holds only the bidder.

    Memory use is two plaintext buffers of ``chunk_size`` bytes and a ring of
    two to eight ciphertext buffers (about 8 MiB), whatever the input size.
    ``progress`` is called after each chunk with the number of plaintext bytes
    read so far. ``rng``
    replaces the system CSPRNG for known-answer tests only: it supplies, in
    order, the data key (32 bytes), the salt (16), the nonce prefix (7) and one
    32-byte ephemeral scalar candidate per recipient. With ``threads`` (the
    default) one helper thread hashes the ciphertext (or, with
    ``digest=False``, writes it) while this thread reads, encrypts and writes;
    the output is the same either way.

    Returns the SHA-256 and size of everything written (header included). With
    ``digest=False`` the SHA-256 is not computed (``SealResult.sha256`` is
    ``None``): sealing then only encrypts and writes, which is faster when the
    caller hashes the envelope later anyway (``python -m ggzy_bid submit`` hashes
    it while uploading; the server hashes what it receives). The envelope bytes
    are the same either way.
    """
    tender = _check_id(tender_id, "tender id")
    bidder = _check_id(bidder_id, "bidder id")
    _check_chunk_size(chunk_size)
    if not 1 <= len(recipients) <= MAX_STANZAS:
        raise ValueError(f"an envelope needs 1 .. {MAX_STANZAS} recipients")
    data_key = random_bytes(KEY_LEN, rng)
    salt = random_bytes(SALT_LEN, rng)
    prefix = random_bytes(NONCE_PREFIX_LEN, rng)
    stanzas = []
    for r in recipients:
        if not _LABEL_RE.fullmatch(r.label):
            raise ValueError(
                f"recipient label {r.label!r} must match [a-z0-9_-]{{1,32}}"
            )
        point, wrapped = wrap(r.public_key, data_key, info=LABEL_WRAP, rng=rng)
        stanzas.append(
            Stanza(
                r.label,
                bytes.fromhex(key_fingerprint(public_key_bytes(r.public_key))),
                point,
                wrapped,
            )
        )
    entries = _custody_entries(custody, data_key, tender_id, salt, rng)
    payload_key, mac_key = derive_keys(data_key, salt)
    raw = _build_header(
        chunk_size=chunk_size,
        salt=salt,
        nonce_prefix=prefix,
        tender=tender,
        bidder=bidder,
        stanzas=stanzas,
        mac_key=mac_key,
        threshold=custody.threshold if custody else 0,
        custodians=entries,
    )
    header = read_header(io.BytesIO(raw))
    hasher = hashlib.sha256(raw) if digest else None
    _writer(dst)(memoryview(raw))

    aead = AESGCM(payload_key)
    aad = header.hash
    write = _writer(dst)
    # The caller's thread reads (one chunk ahead, to know which chunk is last)
    # and encrypts into a ring of preallocated buffers; one helper thread hashes
    # each ciphertext chunk (and the caller writes it) or, without a digest,
    # writes it. No per-chunk allocation, no copies besides the kernel's.
    plain = (memoryview(bytearray(chunk_size)), memoryview(bytearray(chunk_size)))
    ring = _ring(chunk_size + TAG_LEN)
    tickets = [0] * len(ring)
    total_in = 0
    written = len(raw)
    counter = 0
    with Sidecar(
        write if hasher is None else hasher.update, threaded=threads
    ) as side:
        got = _read_full(src, plain[0])
        while True:
            total_in += got
            if got == chunk_size:
                next_got = _read_full(src, plain[(counter + 1) & 1])
                last = next_got == 0
            else:
                next_got, last = 0, True
            if counter > MAX_COUNTER:
                raise ValueError("input too large for this chunk size")
            k = counter % len(ring)
            side.wait(tickets[k])
            ct = ring[k][: got + TAG_LEN]
            aead.encrypt_into(
                _nonce(prefix, counter, last), plain[counter & 1][:got], aad, ct
            )
            tickets[k] = side.submit(ct)
            if hasher is not None:
                write(ct)
            written += len(ct)
            if progress is not None:
                progress(total_in)
            if last:
                break
            got = next_got
            counter += 1
    return SealResult(
        sha256=None if hasher is None else hasher.hexdigest(),
        size=written,
        header=header,
        plaintext_size=total_in,
    )


def _randbelow(rng: Callable[[int], bytes] | None) -> Callable[[int], int]:
    """``secrets.randbelow``, or rejection sampling from ``rng`` in known-answer tests."""
    if rng is None:
        import secrets

        return secrets.randbelow

    def randbelow(bound: int) -> int:
        nbytes = (bound.bit_length() + 7) // 8
        mask = (1 << bound.bit_length()) - 1
        while True:
            v = int.from_bytes(rng(nbytes), "big") & mask
            if v < bound:
                return v

    return randbelow


def _custody_entries(
    custody: Custody | None,
    data_key: bytes,
    tender_id: str,
    salt: bytes,
    rng: Callable[[int], bytes] | None,
) -> list[CustodianEntry]:
    """Split the data key among the custodians and wrap each share (v2)."""
    if custody is None:
        return []
    keys_ = tuple(custody.custodians)
    n = len(keys_)
    if not 1 <= custody.threshold <= n <= MAX_CUSTODIANS:
        raise ValueError(f"need 1 <= threshold <= custodians <= {MAX_CUSTODIANS}")
    fingerprints = [bytes.fromhex(key_fingerprint(public_key_bytes(k))) for k in keys_]
    if len(set(fingerprints)) != n:
        raise ValueError("the custodian set names a key twice")
    shares = shamir.split(data_key, custody.threshold, n, randbelow=_randbelow(rng))
    entries = []
    for key, fp, share in zip(keys_, fingerprints, shares, strict=True):
        wire = share.to_bytes()
        point, wrapped = wrap(
            key,
            wire,
            info=LABEL_SHARE_WRAP,
            aad=share_wrap_aad(tender_id, share.x, salt),
            rng=rng,
        )
        entries.append(
            CustodianEntry(
                share.x, fp, share_commitment(tender_id, share.x, wire), point, wrapped
            )
        )
    return entries


def seal_bytes(
    data: bytes,
    *,
    tender_id: str,
    bidder_id: str,
    recipients: Sequence[Recipient],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    rng: Callable[[int], bytes] | None = None,
    custody: Custody | None = None,
) -> bytes:
    """Seal a small in-memory payload; return the envelope bytes."""
    out = io.BytesIO()
    seal(
        io.BytesIO(bytes(data)),
        out,
        tender_id=tender_id,
        bidder_id=bidder_id,
        recipients=recipients,
        chunk_size=chunk_size,
        rng=rng,
        threads=False,
        digest=False,
        custody=custody,
    )
    return out.getvalue()


# -- structure check (no key) -------------------------------------------------------


def check_structure(
    src: BinaryIO,
    *,
    tender_id: str | None = None,
    bidder_id: str | None = None,
    max_size: int | None = None,
    required_recipients: Mapping[str, str] | None = None,
    received: tuple[int, str] | None = None,
) -> EnvelopeInfo:
    """Check that ``src`` is a well-formed envelope, reading it once; no key.

    Checks magic, version, suite, header and stanza framing, and that the body
    length is whole chunks plus a valid final chunk. With ``tender_id`` or
    ``bidder_id``, the header must name exactly those. With ``max_size``, reading
    stops with an error as soon as the envelope exceeds it. With
    ``required_recipients`` (label -> hex fingerprint), a stanza with each label
    and fingerprint must be present. This is what a server runs on an upload:
    it cannot check the tags, which need the data key, so a body cut or altered
    *inside* its last chunk still frames correctly: the receipt's digest and,
    at the opening, the tags catch that.

    Raises ``MalformedData`` with a one-line reason; returns the SHA-256 of all
    bytes, the size, and the chunk count and plaintext size the framing implies.

    ``received`` is ``(size, hex SHA-256)`` of the whole envelope when the caller
    already has both (a server that hashed the bytes as they arrived): then only
    the header is read from ``src``, since the body's framing follows from its
    length alone, and the digest given is the one returned.
    """
    header = read_header(src)
    _check_ids(header, tender_id, bidder_id)
    for label, fingerprint in (required_recipients or {}).items():
        want = bytes.fromhex(fingerprint)
        if not any(
            s.label == label and hmac.compare_digest(s.fingerprint, want)
            for s in header.stanzas
        ):
            raise MalformedData(
                f"envelope is not sealed to the required {label!r} key "
                f"{fingerprint[:16]}"
            )
    if max_size is not None and header.size > max_size:
        raise MalformedData(f"envelope is larger than {max_size} bytes")
    if received is not None:
        size, sha256 = received
        if size < header.size:
            raise MalformedData("envelope is shorter than its header")
        if max_size is not None and size > max_size:
            raise MalformedData(f"envelope is larger than {max_size} bytes")
        chunks, plain = _body_chunks(size - header.size, header.chunk_size)
        return EnvelopeInfo(header=header, sha256=sha256, size=size, chunk_count=chunks,
                            plaintext_size=plain)
    digest = hashlib.sha256(header.raw)
    size = header.size
    buf = memoryview(bytearray(_IO_BLOCK))
    while True:
        n = _read_full(src, buf)
        if not n:
            break
        size += n
        if max_size is not None and size > max_size:
            raise MalformedData(f"envelope is larger than {max_size} bytes")
        digest.update(buf[:n])
    chunks, plain = _body_chunks(size - header.size, header.chunk_size)
    return EnvelopeInfo(
        header=header,
        sha256=digest.hexdigest(),
        size=size,
        chunk_count=chunks,
        plaintext_size=plain,
    )


# -- unwrapping and opening --------------------------------------------------------


def unwrap_data_key(
    header_or_src: EnvelopeHeader | BinaryIO | bytes,
    private_key: ec.EllipticCurvePrivateKey,
    *,
    label: str | None = None,
) -> bytes:
    """Recover the 32-byte data key with a recipient's P-256 private key.

    ``header_or_src`` is a parsed header, a stream positioned at the envelope's
    start, or the envelope (or header) bytes. Tries every stanza whose
    fingerprint is the key's (and whose label is ``label``, if given), then
    checks the header MAC with the result. Raises ``DecryptionFailed`` if the key
    is not a recipient or the header was altered.
    """
    header = _to_header(header_or_src)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise DecryptionFailed("a P-256 private key is needed to unwrap")
    mine = bytes.fromhex(key_fingerprint(private_key))
    candidates = [
        s
        for s in header.stanzas
        if hmac.compare_digest(s.fingerprint, mine)
        and (label is None or s.label == label)
    ]
    if not candidates:
        raise DecryptionFailed(
            "this key is not a recipient of the envelope"
            + (f" (label {label!r})" if label else "")
        )
    for stanza in candidates:
        try:
            data_key = unwrap(
                private_key,
                stanza.ephemeral_point,
                stanza.wrapped_key,
                info=LABEL_WRAP,
            )
        except (DecryptionFailed, MalformedData):
            continue
        check_header_mac(header, data_key)
        return data_key
    raise DecryptionFailed("the key does not unwrap the envelope's data key")


def _decrypt_stream(
    src: BinaryIO,
    data_key: bytes,
    sink: Callable[[memoryview], object] | None,
    *,
    header: EnvelopeHeader | None,
    tender_id: str | None,
    bidder_id: str | None,
    progress: Callable[[int], None] | None,
    threads: bool = True,
    digest: bool = True,
) -> EnvelopeInfo:
    if header is None:
        header = read_header(src)
    _check_ids(header, tender_id, bidder_id)
    payload_key = check_header_mac(header, data_key)
    aead = AESGCM(payload_key)
    aad = header.hash
    prefix = header.nonce_prefix
    cs = header.chunk_size
    full = cs + TAG_LEN
    hasher = hashlib.sha256(header.raw) if digest else None
    size = header.size
    plain = 0
    counter = 0
    # The caller's thread reads (one chunk ahead, to know which chunk is last)
    # and decrypts; a chunk's plaintext is written only once its tag has passed.
    # One helper thread hashes the ciphertext behind the reader (then the caller
    # writes) or, without a digest, writes the plaintext. The buffers the helper
    # reads form a ring (tickets say when one may be refilled); the others are
    # the caller's alone, so their tickets stay 0.
    side_work = sink if hasher is None else hasher.update
    cts = _ring(full) if hasher is not None else _buffers(2, full)
    pts = _ring(cs) if hasher is None and sink is not None else _buffers(1, cs)
    ct_tickets = [0] * len(cts)
    pt_tickets = [0] * len(pts)
    with Sidecar(
        side_work or _discard, threaded=threads and side_work is not None
    ) as side:
        got = _read_full(src, cts[0])
        if got == 0:
            raise MalformedData("envelope has no body (truncated)")
        if hasher is not None:
            ct_tickets[0] = side.submit(cts[0][:got])
        while True:
            size += got
            cur = cts[counter % len(cts)]
            if got == full:
                k = (counter + 1) % len(cts)
                side.wait(ct_tickets[k])
                next_got = _read_full(src, cts[k])
                if next_got and hasher is not None:
                    ct_tickets[k] = side.submit(cts[k][:next_got])
                last = next_got == 0
            else:
                next_got, last = 0, True
            if got < TAG_LEN:
                raise MalformedData("envelope body does not end on a chunk boundary")
            if last and got == TAG_LEN and counter:
                raise MalformedData("envelope body ends with an empty chunk after data")
            if counter > MAX_COUNTER:
                raise MalformedData("envelope has too many chunks")
            j = counter % len(pts)
            side.wait(pt_tickets[j])
            pt = pts[j][: got - TAG_LEN]
            try:
                aead.decrypt_into(_nonce(prefix, counter, last), cur[:got], aad, pt)
            except InvalidTag as exc:
                raise DecryptionFailed(
                    f"chunk {counter} failed authentication "
                    "(the envelope was altered, cut or extended)"
                ) from exc
            if sink is not None:
                if hasher is None:
                    pt_tickets[j] = side.submit(pt)
                else:
                    sink(pt)
            plain += len(pt)
            if progress is not None:
                progress(size)
            if last:
                break
            got = next_got
            counter += 1
    return EnvelopeInfo(
        header=header,
        sha256=None if hasher is None else hasher.hexdigest(),
        size=size,
        chunk_count=counter + 1,
        plaintext_size=plain,
    )


def open_envelope(
    src: BinaryIO,
    dst: BinaryIO,
    data_key: bytes,
    *,
    tender_id: str | None = None,
    bidder_id: str | None = None,
    progress: Callable[[int], None] | None = None,
    threads: bool = True,
    digest: bool = True,
) -> OpenResult:
    """Decrypt the envelope ``src`` into ``dst`` with its 32-byte data key.

    Streams in constant memory. Every chunk's tag is checked before its
    plaintext is written, but a failure in a later chunk leaves the earlier
    plaintext in ``dst``: callers write to a temporary file and keep it only if
    this returns. ``progress`` gets the number of envelope bytes read so far.

    The result carries the SHA-256 of the whole envelope; with ``digest=False``
    it is not computed (``OpenResult.sha256`` is ``None``), which saves the
    hashing when the caller already knows the digest (the server does, from the
    upload). Every tag is checked either way. With ``threads`` (the default) one
    helper thread hashes the envelope (or, with ``digest=False``, writes the
    plaintext); the output is the same either way.

    Raises ``DecryptionFailed`` for a wrong key or altered data and
    ``MalformedData`` for bad framing or a tender/bidder mismatch.
    """
    info = _decrypt_stream(
        src,
        data_key,
        _writer(dst),
        header=None,
        tender_id=tender_id,
        bidder_id=bidder_id,
        progress=progress,
        threads=threads,
        digest=digest,
    )
    return OpenResult(
        sha256=info.sha256,
        size=info.size,
        header=info.header,
        plaintext_size=info.plaintext_size,
    )


def verify_data_key(
    src: BinaryIO,
    data_key: bytes,
    *,
    tender_id: str | None = None,
    bidder_id: str | None = None,
    progress: Callable[[int], None] | None = None,
    threads: bool = True,
) -> EnvelopeInfo:
    """Check that ``data_key`` opens the envelope ``src``: every tag, no output.

    The server runs this at the opening when a bidder hands over its data key.
    Raises like :func:`open_envelope`; returns the envelope's digest and size.
    """
    return _decrypt_stream(
        src,
        data_key,
        None,
        header=None,
        tender_id=tender_id,
        bidder_id=bidder_id,
        progress=progress,
        threads=threads,
    )


def open_bytes(
    blob: bytes,
    data_key: bytes,
    *,
    tender_id: str | None = None,
    bidder_id: str | None = None,
) -> bytes:
    """Decrypt a small in-memory envelope with its data key; return the plaintext."""
    out = io.BytesIO()
    open_envelope(
        io.BytesIO(bytes(blob)),
        out,
        data_key,
        tender_id=tender_id,
        bidder_id=bidder_id,
        threads=False,
    )
    return out.getvalue()


def open_bytes_with_key(
    blob: bytes,
    private_key: ec.EllipticCurvePrivateKey,
    *,
    label: str | None = None,
) -> bytes:
    """Unwrap with a recipient's private key, then decrypt a small envelope."""
    return open_bytes(blob, unwrap_data_key(bytes(blob), private_key, label=label))
