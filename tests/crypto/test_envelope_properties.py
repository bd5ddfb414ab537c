"""Property tests: round trips over sizes, chunk boundaries and awkward streams."""

from __future__ import annotations

import io
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import envelope

from .helpers import BIDDER, OPENING, counter_rng, recipients

CHUNK_SIZES = st.sampled_from([64, 100, 256, 1000])


def _sizes_around_boundaries():
    return st.builds(
        lambda cs, k, d: (cs, max(0, k * cs + d)),
        CHUNK_SIZES,
        st.integers(0, 5),
        st.integers(-1, 1),
    )


class ShortReads(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read, like a pipe."""

    def __init__(self, data: bytes, step: int):
        self._src = io.BytesIO(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        view = memoryview(b)[: self._step]
        return self._src.readinto(view)


class ShortWrites(io.RawIOBase):
    """A raw output that accepts at most ``step`` bytes per write."""

    def __init__(self, step: int):
        self.data = bytearray()
        self._step = step

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        view = memoryview(b)[: self._step]
        self.data += view
        return len(view)


def _seal(data: bytes, cs: int, *, threads: bool = True, rng=None, src=None):
    out = io.BytesIO()
    result = envelope.seal(
        src if src is not None else io.BytesIO(data),
        out,
        tender_id="T-1",
        bidder_id="B-1",
        recipients=recipients(),
        chunk_size=cs,
        threads=threads,
        rng=rng,
    )
    return out.getvalue(), result


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=1200), cs=CHUNK_SIZES, threads=st.booleans())
def test_seal_then_open_round_trips(data, cs, threads):
    blob, result = _seal(data, cs, threads=threads)
    assert result.size == len(blob)
    assert result.plaintext_size == len(data)
    info = envelope.check_structure(io.BytesIO(blob), tender_id="T-1", bidder_id="B-1")
    assert info.sha256 == result.sha256
    assert info.plaintext_size == len(data)
    assert info.chunk_count == max(1, -(-len(data) // cs))
    key = envelope.unwrap_data_key(blob, OPENING)
    out = io.BytesIO()
    opened = envelope.open_envelope(io.BytesIO(blob), out, key, threads=threads)
    assert out.getvalue() == data
    assert opened.sha256 == result.sha256
    assert envelope.open_bytes_with_key(blob, BIDDER, label="bidder") == data


@settings(max_examples=60, deadline=None)
@given(case=_sizes_around_boundaries())
def test_sizes_at_chunk_boundaries_round_trip(case):
    cs, n = case
    data = bytes(i % 251 for i in range(n))
    blob, result = _seal(data, cs)
    header = envelope.read_header(io.BytesIO(blob))
    chunks = max(1, -(-n // cs))
    assert len(blob) == header.size + n + chunks * envelope.TAG_LEN
    key = envelope.unwrap_data_key(blob, OPENING)
    info = envelope.verify_data_key(io.BytesIO(blob), key)
    assert (info.chunk_count, info.plaintext_size) == (chunks, n)
    assert envelope.open_bytes(blob, key) == data


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=700), step=st.integers(1, 70), cs=CHUNK_SIZES)
def test_short_reads_and_writes_give_the_same_envelope(data, step, cs):
    expected, _ = _seal(data, cs, rng=counter_rng("short"))
    got, _ = _seal(data, cs, rng=counter_rng("short"), src=ShortReads(data, step))
    assert got == expected
    key = envelope.unwrap_data_key(got, OPENING)
    out = ShortWrites(step)
    envelope.open_envelope(ShortReads(got, step), out, key)
    assert bytes(out.data) == data
    info = envelope.check_structure(ShortReads(got, step))
    assert info.plaintext_size == len(data)


@settings(max_examples=30, deadline=None)
@given(data=st.binary(min_size=1, max_size=500), cut=st.integers(1, 600))
def test_any_truncation_is_refused(data, cut):
    blob, _ = _seal(data, 64)
    cut = min(cut, len(blob))
    key = envelope.unwrap_data_key(blob, OPENING)
    try:
        envelope.open_bytes(blob[:-cut], key)
    except (envelope.DecryptionFailed, envelope.MalformedData):
        pass
    else:  # pragma: no cover - a failure of the property
        raise AssertionError(f"truncating {cut} bytes was not noticed")


class ZeroSource(io.RawIOBase):
    """``size`` zero bytes, produced without holding them in memory."""

    def __init__(self, size: int):
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), self._left)
        memoryview(b)[:n] = bytes(n)  # small: at most one chunk
        self._left -= n
        return n


class NullSink(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        return len(b)


def test_sealing_runs_in_constant_memory():
    """Python-level allocations stay near a few chunks, whatever the input size."""
    cs = 64 * 1024
    tracemalloc.start()
    try:
        result = envelope.seal(
            ZeroSource(64 * 1024 * 1024),
            NullSink(),
            tender_id="T",
            bidder_id="B",
            recipients=recipients(),
            chunk_size=cs,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.plaintext_size == 64 * 1024 * 1024
    assert peak < 16 * cs  # the pipeline's slots plus a little, never the input
