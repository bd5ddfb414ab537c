"""The streaming loops of seal and open: chunk boundaries, the buffer ring, the helper thread.

Sizes are small (64-byte chunks) but run past the ring of reused buffers, so a
buffer refilled before the helper thread finished with it would show up as a
wrong digest or wrong bytes.
"""

from __future__ import annotations

import hashlib
import io
import struct
import threading
import time

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto import envelope
from crypto._stream import Sidecar
from crypto.errors import DecryptionFailed, MalformedData

from .helpers import OPENING, counter_rng, det_bytes, recipients

CS = 64
FULL = CS + envelope.TAG_LEN
RING = len(envelope._ring(FULL))
#: Around every boundary, and past the ring (more chunks than reused buffers).
SIZES = [0, 1, CS - 1, CS, CS + 1, 2 * CS, 3 * CS - 1, (RING + 3) * CS, (RING + 3) * CS + 5]


def _seal(data: bytes, *, threads: bool, digest: bool = True, tag: str = "s"):
    out = io.BytesIO()
    result = envelope.seal(
        io.BytesIO(data),
        out,
        tender_id="T-1",
        bidder_id="B-1",
        recipients=recipients(),
        chunk_size=CS,
        rng=counter_rng(tag),
        threads=threads,
        digest=digest,
    )
    return result, out.getvalue()


def _spec_open(blob: bytes, data_key: bytes) -> bytes:
    """Decrypt by the format's description, with nothing from the streaming code."""
    header = envelope.read_header(io.BytesIO(blob))
    payload_key, _ = envelope.derive_keys(data_key, header.salt)
    aead = AESGCM(payload_key)
    aad = hashlib.sha256(header.raw).digest()
    full = header.chunk_size + envelope.TAG_LEN
    body = blob[header.size :]
    chunks = [body[i : i + full] for i in range(0, len(body), full)] or [b""]
    out = []
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        nonce = header.nonce_prefix + struct.pack(">I", i) + (b"\x01" if last else b"\x00")
        out.append(aead.decrypt(nonce, chunk, aad))
    return b"".join(out)


@pytest.mark.parametrize("size", SIZES)
def test_threaded_and_inline_seal_write_the_same_bytes_the_format_describes(size):
    data = det_bytes(f"stream/{size}", size)
    threaded, blob = _seal(data, threads=True)
    inline, blob_inline = _seal(data, threads=False)
    _, blob_no_digest = _seal(data, threads=True, digest=False)
    assert blob == blob_inline == blob_no_digest
    assert threaded.sha256 == inline.sha256 == hashlib.sha256(blob).hexdigest()
    assert threaded.size == len(blob)
    assert threaded.plaintext_size == size
    body = len(blob) - threaded.header.size
    assert body == max(1, -(-size // CS)) * envelope.TAG_LEN + size
    data_key = envelope.unwrap_data_key(blob, OPENING)
    assert _spec_open(blob, data_key) == data


@pytest.mark.parametrize("digest", [True, False])
@pytest.mark.parametrize("threads", [True, False])
@pytest.mark.parametrize("size", SIZES)
def test_open_and_verify_round_trip_at_every_boundary(size, threads, digest):
    data = det_bytes(f"open/{size}", size)
    _, blob = _seal(data, threads=True)
    data_key = envelope.unwrap_data_key(blob, OPENING)
    out = io.BytesIO()
    seen = []
    result = envelope.open_envelope(
        io.BytesIO(blob),
        out,
        data_key,
        threads=threads,
        progress=seen.append,
        digest=digest,
    )
    assert out.getvalue() == data
    assert result.sha256 == (hashlib.sha256(blob).hexdigest() if digest else None)
    assert result.size == len(blob)
    assert result.plaintext_size == size
    assert seen[-1] == len(blob)
    assert seen == sorted(seen)
    info = envelope.verify_data_key(io.BytesIO(blob), data_key, threads=threads)
    assert info.sha256 == hashlib.sha256(blob).hexdigest()
    assert info.chunk_count == max(1, -(-size // CS))


class _Trickle(io.RawIOBase):
    """A reader that hands out at most ``step`` bytes per call, like a pipe."""

    def __init__(self, data: bytes, step: int):
        self._data, self._pos, self._step = data, 0, step

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self._step, len(self._data) - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def test_short_reads_make_the_same_envelope_and_open_it():
    data = det_bytes("trickle", 5 * CS + 3)
    _, blob = _seal(data, threads=False)
    out = io.BytesIO()
    envelope.seal(
        _Trickle(data, 7),
        out,
        tender_id="T-1",
        bidder_id="B-1",
        recipients=recipients(),
        chunk_size=CS,
        rng=counter_rng("s"),
    )
    assert out.getvalue() == blob
    data_key = envelope.unwrap_data_key(blob, OPENING)
    plain = io.BytesIO()
    envelope.open_envelope(_Trickle(blob, 5), plain, data_key)
    assert plain.getvalue() == data


class _SlowSha256:
    """hashlib.sha256 whose update is slow and copies what it saw when it ran."""

    digest_size = 32
    block_size = 64

    def __init__(self, data: bytes = b""):
        self._h = hashlib.sha256(data)

    def copy(self):
        twin = _SlowSha256()
        twin._h = self._h.copy()
        return twin

    def update(self, view):
        time.sleep(0.002)
        self._h.update(bytes(view))

    def digest(self):
        return self._h.digest()

    def hexdigest(self):
        return self._h.hexdigest()


class _SlowHashlib:
    sha256 = _SlowSha256


@pytest.mark.parametrize("smallest_ring", [False, True])
@pytest.mark.parametrize("digest", [True, False])
def test_a_slow_helper_thread_never_sees_a_refilled_buffer(
    monkeypatch, digest, smallest_ring
):
    data = det_bytes("slow", (RING * 2 + 1) * CS + 9)
    _, expected = _seal(data, threads=False)
    if smallest_ring:  # the two buffers a 16 MiB chunk size gets
        monkeypatch.setattr(envelope, "_RING_BUDGET", 0)
        assert len(envelope._ring(FULL)) == 2
    monkeypatch.setattr(envelope, "hashlib", _SlowHashlib)
    result, blob = _seal(data, threads=True, digest=digest)
    assert blob == expected
    if digest:
        assert result.sha256 == hashlib.sha256(expected).hexdigest()
    data_key = envelope.unwrap_data_key(blob, OPENING)
    out = io.BytesIO()
    opened = envelope.open_envelope(io.BytesIO(blob), out, data_key, threads=True)
    assert out.getvalue() == data
    assert opened.sha256 == hashlib.sha256(expected).hexdigest()


class _SlowSink(io.RawIOBase):
    def __init__(self):
        self.parts = []

    def writable(self):
        return True

    def write(self, b):
        time.sleep(0.001)
        self.parts.append(bytes(b))
        return len(b)


@pytest.mark.parametrize("smallest_ring", [False, True])
def test_a_slow_writer_thread_gets_every_chunk_intact_and_in_order(
    monkeypatch, smallest_ring
):
    data = det_bytes("slow-writer", (RING * 2 + 1) * CS + 9)
    _, expected = _seal(data, threads=False)
    if smallest_ring:
        monkeypatch.setattr(envelope, "_RING_BUDGET", 0)
    sink = _SlowSink()
    envelope.seal(
        io.BytesIO(data),
        sink,
        tender_id="T-1",
        bidder_id="B-1",
        recipients=recipients(),
        chunk_size=CS,
        rng=counter_rng("s"),
        digest=False,
    )
    assert b"".join(sink.parts) == expected
    plain = _SlowSink()
    data_key = envelope.unwrap_data_key(expected, OPENING)
    envelope.open_envelope(io.BytesIO(expected), plain, data_key, digest=False)
    assert b"".join(plain.parts) == data


# -- refusals through the threaded path, past the ring -------------------------------

DATA = det_bytes("tamper", (RING + 4) * CS + 10)
_, BLOB = _seal(DATA, threads=True, tag="t")
HEADER = envelope.read_header(io.BytesIO(BLOB))
KEY = envelope.unwrap_data_key(BLOB, OPENING)
H = HEADER.size
N = RING + 5  # chunks


def _chunks(blob: bytes) -> list[bytes]:
    body = blob[H:]
    return [body[i : i + FULL] for i in range(0, len(body), FULL)]


#: (threads, digest): the helper thread hashes, writes, or there is none.
MODES = pytest.mark.parametrize(
    "mode",
    [(True, True), (True, False), (False, True), (False, False)],
    ids=["threads-digest", "threads-nodigest", "inline-digest", "inline-nodigest"],
)


def _open(blob: bytes, mode: tuple[bool, bool], out: io.BytesIO | None = None) -> bytes:
    out = io.BytesIO() if out is None else out
    threads, digest = mode
    envelope.open_envelope(io.BytesIO(blob), out, KEY, threads=threads, digest=digest)
    return out.getvalue()


@MODES
def test_an_altered_chunk_past_the_ring_is_refused_and_nothing_of_it_is_written(mode):
    assert len(_chunks(BLOB)) == N
    assert _open(BLOB, mode) == DATA
    bad = N - 2
    blob = bytearray(BLOB)
    blob[H + bad * FULL + 3] ^= 0x40
    out = io.BytesIO()
    with pytest.raises(DecryptionFailed, match=f"chunk {bad} failed"):
        _open(bytes(blob), mode, out)
    assert out.getvalue() == DATA[: bad * CS]


@MODES
def test_swapped_chunks_are_refused(mode):
    chunks = _chunks(BLOB)
    chunks[RING], chunks[RING + 1] = chunks[RING + 1], chunks[RING]
    with pytest.raises(DecryptionFailed, match=f"chunk {RING} failed"):
        _open(BLOB[:H] + b"".join(chunks), mode)


@MODES
def test_a_dropped_chunk_is_refused(mode):
    chunks = _chunks(BLOB)
    del chunks[3]
    with pytest.raises(DecryptionFailed, match="chunk 3 failed"):
        _open(BLOB[:H] + b"".join(chunks), mode)


@MODES
def test_an_envelope_cut_at_a_chunk_boundary_is_refused(mode):
    cut = BLOB[: H + (N - 1) * FULL]
    with pytest.raises(DecryptionFailed, match=f"chunk {N - 2} failed"):
        _open(cut, mode)


@MODES
def test_an_envelope_cut_inside_the_last_chunk_is_refused(mode):
    with pytest.raises(DecryptionFailed, match=f"chunk {N - 1} failed"):
        _open(BLOB[:-1], mode)


@MODES
def test_appended_bytes_are_refused(mode):
    with pytest.raises((DecryptionFailed, MalformedData)):
        _open(BLOB + b"\x00" * 20, mode)
    with pytest.raises(DecryptionFailed):
        _open(BLOB + _chunks(BLOB)[-1], mode)


@MODES
def test_a_body_shorter_than_a_tag_is_refused_as_framing(mode):
    with pytest.raises(MalformedData, match="chunk boundary"):
        _open(BLOB[: H + 2 * FULL + 5], mode)
    with pytest.raises(MalformedData, match="no body"):
        _open(BLOB[:H], mode)


@pytest.mark.parametrize("digest", [True, False])
def test_a_write_error_surfaces_from_either_thread(digest):
    class Full(io.RawIOBase):
        def __init__(self):
            self.calls = 0

        def writable(self):
            return True

        def write(self, b):
            self.calls += 1
            if self.calls > 3:
                raise OSError(28, "No space left on device")
            return len(b)

    with pytest.raises(OSError, match="No space"):
        envelope.seal(
            io.BytesIO(bytes(40 * CS)),
            Full(),
            tender_id="T-1",
            bidder_id="B-1",
            recipients=recipients(),
            chunk_size=CS,
            digest=digest,
        )


# -- the helper thread itself ---------------------------------------------------------


@pytest.mark.parametrize("threaded", [True, False])
def test_sidecar_runs_work_in_order_and_wait_means_done(threaded):
    seen: list[bytes] = []
    buf = memoryview(bytearray(4))
    with Sidecar(lambda v: seen.append(bytes(v)), threaded=threaded) as side:
        for i in range(50):
            buf[:] = i.to_bytes(4, "big")
            ticket = side.submit(buf)
            assert ticket == i + 1
            side.wait(ticket)
            assert seen[-1] == i.to_bytes(4, "big")
    assert seen == [i.to_bytes(4, "big") for i in range(50)]


def test_sidecar_work_runs_in_another_thread():
    names = []
    with Sidecar(lambda v: names.append(threading.current_thread().name)) as side:
        side.wait(side.submit(memoryview(b"x")))
    assert names == ["envelope-sidecar"]


def test_sidecar_reraises_the_first_error_and_skips_the_rest():
    calls = []

    def work(view):
        calls.append(bytes(view))
        if len(calls) == 2:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        with Sidecar(work) as side:
            for i in range(10):
                side.wait(side.submit(memoryview(bytes([i]))))
    assert calls == [b"\x00", b"\x01"]


def test_sidecar_error_surfaces_on_leaving_even_without_a_wait():
    def work(view):
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        with Sidecar(work) as side:
            side.submit(memoryview(b"x"))


def test_sidecar_finishes_queued_work_and_stops_when_the_body_raises():
    gate = threading.Event()
    calls = []

    def work(view):
        gate.wait(5)
        calls.append(bytes(view))

    before = threading.active_count()
    with pytest.raises(RuntimeError, match="caller failed"):
        with Sidecar(work) as side:
            for i in range(5):
                side.submit(memoryview(bytes([i])))
            gate.set()
            raise RuntimeError("caller failed")
    assert threading.active_count() == before
    assert calls == [bytes([i]) for i in range(5)]
