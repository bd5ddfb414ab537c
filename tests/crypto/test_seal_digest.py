"""``seal(digest=False)``: the same envelope, without the whole-file SHA-256."""

from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import envelope

from .helpers import counter_rng, det_bytes, open_with, recipients


def _seal(data: bytes, *, digest: bool, threads: bool, chunk_size: int = 64, tag="d"):
    out = io.BytesIO()
    result = envelope.seal(
        io.BytesIO(data),
        out,
        tender_id="T-1",
        bidder_id="B-1",
        recipients=recipients(),
        chunk_size=chunk_size,
        rng=counter_rng(tag),
        threads=threads,
        digest=digest,
    )
    return result, out.getvalue()


@pytest.mark.parametrize("threads", [True, False])
@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 640, 1000])
def test_without_digest_the_bytes_are_the_same(size, threads):
    data = det_bytes(f"plain/{size}", size)
    with_digest, blob_a = _seal(data, digest=True, threads=threads)
    without, blob_b = _seal(data, digest=False, threads=threads)
    assert blob_a == blob_b
    assert without.sha256 is None
    assert with_digest.sha256 == hashlib.sha256(blob_a).hexdigest()
    assert without.size == with_digest.size == len(blob_b)
    assert without.plaintext_size == size
    assert without.header == with_digest.header
    assert open_with(blob_b) == data


def test_digest_is_on_by_default():
    out = io.BytesIO()
    result = envelope.seal(
        io.BytesIO(b"bid"),
        out,
        tender_id="T-1",
        bidder_id="B-1",
        recipients=recipients(),
        chunk_size=64,
    )
    assert result.sha256 == hashlib.sha256(out.getvalue()).hexdigest()


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 5 * 64 + 3), threads=st.booleans())
def test_without_digest_opens_and_checks_at_every_size(size, threads):
    data = det_bytes(f"prop/{size}", size)
    result, blob = _seal(data, digest=False, threads=threads, tag=f"p{size}")
    info = envelope.check_structure(io.BytesIO(blob))
    assert info.size == result.size
    assert info.plaintext_size == size
    assert open_with(blob) == data


def test_a_write_error_still_surfaces_without_digest():
    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        envelope.seal(
            io.BytesIO(bytes(1000)),
            Full(),
            tender_id="T-1",
            bidder_id="B-1",
            recipients=recipients(),
            chunk_size=64,
            digest=False,
        )


def test_seal_bytes_needs_no_digest():
    blob = envelope.seal_bytes(
        b"price sheet", tender_id="T-1", bidder_id="B-1", recipients=recipients()
    )
    assert open_with(blob) == b"price sheet"


# --- check_structure(received=...): a server that hashed the bytes as they arrived ---


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 640, 1000])
def test_a_received_envelope_frames_as_a_full_read_does_reading_only_the_header(size):
    _result, blob = _seal(det_bytes(f"plain/{size}", size), digest=False, threads=False)
    full = envelope.check_structure(io.BytesIO(blob), tender_id="T-1", bidder_id="B-1")
    src = io.BytesIO(blob)
    quick = envelope.check_structure(src, tender_id="T-1", bidder_id="B-1",
                                     received=(len(blob), full.sha256))
    assert quick == full
    assert src.tell() == full.header.size  # the body was not read


@pytest.mark.parametrize("cut", [1, 2, 10, 16])
def test_a_received_length_that_does_not_frame_is_refused_as_a_full_read_refuses_it(cut):
    # 641 bytes in 64-byte chunks: ten whole chunks and a last one of 1 + 16 bytes.
    _result, blob = _seal(det_bytes("plain/cut", 641), digest=False, threads=False)
    short = blob[:-cut]
    with pytest.raises(envelope.MalformedData) as full:
        envelope.check_structure(io.BytesIO(short))
    with pytest.raises(envelope.MalformedData) as quick:
        envelope.check_structure(io.BytesIO(short), received=(len(short), "0" * 64))
    assert str(quick.value) == str(full.value)


def test_a_received_envelope_over_the_limit_is_refused():
    _result, blob = _seal(det_bytes("plain/big", 640), digest=False, threads=False)
    with pytest.raises(envelope.MalformedData, match="larger than"):
        envelope.check_structure(io.BytesIO(blob), max_size=len(blob) - 1,
                                 received=(len(blob), "0" * 64))


def test_a_received_size_shorter_than_the_header_is_refused():
    _result, blob = _seal(det_bytes("plain/short", 64), digest=False, threads=False)
    header = envelope.read_header(io.BytesIO(blob))
    with pytest.raises(envelope.MalformedData, match="shorter than its header"):
        envelope.check_structure(io.BytesIO(blob), received=(header.size - 1, "0" * 64))
