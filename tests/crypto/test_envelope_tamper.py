"""Tamper tests: every alteration of an envelope is refused with the right error."""

from __future__ import annotations

import io

import pytest

from crypto import envelope
from crypto.errors import CryptoError, DecryptionFailed, MalformedData

from .helpers import (
    BIDDER,
    OPENING,
    OTHER,
    counter_rng,
    fingerprint,
    open_with,
    recipients,
    small_envelope,
    structure,
)

PLAINTEXT = bytes(range(150))  # 64 + 64 + 22 bytes: two full chunks and a short one
BLOB = small_envelope(PLAINTEXT)
HEADER = envelope.read_header(io.BytesIO(BLOB))
H = HEADER.size
FULL = 64 + envelope.TAG_LEN
CHUNKS = [BLOB[H : H + FULL], BLOB[H + FULL : H + 2 * FULL], BLOB[H + 2 * FULL :]]


def _flip(blob: bytes, pos: int, mask: int = 0x01) -> bytes:
    out = bytearray(blob)
    out[pos] ^= mask
    return bytes(out)


def test_the_untouched_envelope_opens():
    assert open_with(BLOB) == PLAINTEXT
    assert open_with(BLOB, BIDDER) == PLAINTEXT
    assert b"".join(CHUNKS) == BLOB[H:]
    assert len(CHUNKS[2]) == 22 + envelope.TAG_LEN


@pytest.mark.parametrize("key", [OPENING, BIDDER], ids=["opening", "bidder"])
@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_flipping_any_byte_is_refused(key, mask):
    for pos in range(len(BLOB)):
        with pytest.raises((DecryptionFailed, MalformedData)):
            open_with(_flip(BLOB, pos, mask), key)


def test_flipping_any_body_byte_fails_authentication_not_framing():
    data_key = envelope.unwrap_data_key(BLOB, OPENING)
    for pos in range(H, len(BLOB)):
        with pytest.raises(DecryptionFailed, match="failed authentication"):
            envelope.open_bytes(_flip(BLOB, pos), data_key)


def test_flipping_a_tag_byte_fails():
    data_key = envelope.unwrap_data_key(BLOB, OPENING)
    for chunk_end in (H + FULL, H + 2 * FULL, len(BLOB)):
        for pos in range(chunk_end - envelope.TAG_LEN, chunk_end):
            with pytest.raises(DecryptionFailed):
                envelope.open_bytes(_flip(BLOB, pos), data_key)


def test_flipping_any_header_byte_fails_the_header_mac_or_framing():
    """With the correct data key in hand, any header change is still caught."""
    data_key = envelope.unwrap_data_key(BLOB, OPENING)
    for pos in range(H):
        with pytest.raises((DecryptionFailed, MalformedData)):
            envelope.open_bytes(_flip(BLOB, pos), data_key)


def test_flipping_a_stanza_byte_fails_for_its_recipient():
    start = HEADER.raw.index(b"\x07opening")
    stanza_len = 1 + 7 + 32 + 65 + 48
    refusals = set()
    for pos in range(start, start + stanza_len):
        with pytest.raises((DecryptionFailed, MalformedData)) as caught:
            envelope.unwrap_data_key(_flip(BLOB, pos), OPENING)
        refusals.add(caught.type)
    assert DecryptionFailed in refusals


def test_cutting_the_last_chunk_fails():
    with pytest.raises(DecryptionFailed):
        open_with(BLOB[: H + 2 * FULL])


def test_cutting_inside_the_last_chunk_fails():
    for cut in range(1, len(CHUNKS[2])):
        with pytest.raises((DecryptionFailed, MalformedData)):
            open_with(BLOB[:-cut])


def test_cutting_to_the_header_alone_is_malformed():
    with pytest.raises(MalformedData, match="no body"):
        open_with(BLOB[:H])
    with pytest.raises(MalformedData, match="no body"):
        structure(BLOB[:H])


def test_cutting_inside_the_header_is_malformed():
    for cut in range(H):
        with pytest.raises(MalformedData):
            structure(BLOB[:cut])


def test_swapping_chunks_fails():
    swapped = BLOB[:H] + CHUNKS[1] + CHUNKS[0] + CHUNKS[2]
    with pytest.raises(DecryptionFailed, match="chunk 0"):
        open_with(swapped)


def test_dropping_a_middle_chunk_fails():
    with pytest.raises(DecryptionFailed):
        open_with(BLOB[:H] + CHUNKS[0] + CHUNKS[2])


def test_duplicating_a_chunk_fails():
    with pytest.raises(DecryptionFailed):
        open_with(BLOB[:H] + CHUNKS[0] + CHUNKS[0] + CHUNKS[1] + CHUNKS[2])


@pytest.mark.parametrize("extra", [b"\x00", b"x" * 15, b"\x00" * 16, b"y" * 80])
def test_appended_bytes_fail(extra):
    with pytest.raises((DecryptionFailed, MalformedData)):
        open_with(BLOB + extra)


def test_appended_chunk_after_a_full_last_chunk_fails():
    blob = small_envelope(bytes(128))  # exactly two full chunks, the second is last
    header_size = envelope.read_header(io.BytesIO(blob)).size
    first_chunk = blob[header_size : header_size + FULL]
    with pytest.raises(DecryptionFailed):
        open_with(blob + first_chunk)
    with pytest.raises(MalformedData, match="empty chunk"):
        structure(blob + bytes(16))


def test_chunks_from_another_envelope_fail():
    other = small_envelope(PLAINTEXT)
    oh = envelope.read_header(io.BytesIO(other)).size
    with pytest.raises(DecryptionFailed):
        open_with(BLOB[:H] + other[oh : oh + FULL] + BLOB[H + FULL :])


def test_chunks_fail_across_envelopes_even_with_the_same_data_key():
    """Same data key, salt and nonce prefix, different tender: the AAD differs."""
    a = small_envelope(PLAINTEXT, tender_id="T-1", rng=counter_rng("same"))
    b = small_envelope(PLAINTEXT, tender_id="T-2", rng=counter_rng("same"))
    assert envelope.unwrap_data_key(a, OPENING) == envelope.unwrap_data_key(b, OPENING)
    ha = envelope.read_header(io.BytesIO(a)).size
    hb = envelope.read_header(io.BytesIO(b)).size
    with pytest.raises(DecryptionFailed):
        open_with(a[:ha] + b[hb:])


def test_header_of_one_envelope_on_the_body_of_another_fails():
    other = small_envelope(PLAINTEXT, bidder_id="B-2")
    oh = envelope.read_header(io.BytesIO(other)).size
    with pytest.raises(DecryptionFailed):
        open_with(other[:oh] + BLOB[H:])


def test_rewriting_the_tender_id_in_place_fails_the_header_mac():
    forged = BLOB.replace(b"T-1", b"T-2", 1)
    assert forged != BLOB
    structure(forged)  # still well-formed: only the key can tell
    with pytest.raises(DecryptionFailed, match="header was altered"):
        open_with(forged)


def test_envelope_for_another_tender_is_refused_at_upload():
    with pytest.raises(MalformedData, match="envelope is for tender 'T-1', not 'T-9'"):
        structure(BLOB, tender_id="T-9", bidder_id="B-1")


def test_envelope_from_another_bidder_is_refused_at_upload():
    with pytest.raises(MalformedData, match="from bidder 'B-1', not 'B-2'"):
        structure(BLOB, tender_id="T-1", bidder_id="B-2")


def test_envelope_for_another_tender_is_refused_at_opening():
    data_key = envelope.unwrap_data_key(BLOB, OPENING)
    with pytest.raises(MalformedData, match="tender"):
        envelope.open_bytes(BLOB, data_key, tender_id="T-9")
    with pytest.raises(MalformedData, match="bidder"):
        envelope.verify_data_key(io.BytesIO(BLOB), data_key, bidder_id="B-2")


def test_envelope_not_sealed_to_the_opening_key_is_refused_at_upload():
    with pytest.raises(MalformedData, match="required 'opening' key"):
        structure(BLOB, required_recipients={"opening": fingerprint(OTHER)})
    structure(BLOB, required_recipients={"opening": fingerprint(OPENING)})


def test_wrong_private_key_is_refused():
    with pytest.raises(DecryptionFailed, match="not a recipient"):
        envelope.unwrap_data_key(BLOB, OTHER)


def test_right_key_under_the_wrong_label_is_refused():
    with pytest.raises(DecryptionFailed, match="not a recipient"):
        envelope.unwrap_data_key(BLOB, BIDDER, label="opening")


def test_wrong_data_key_is_refused():
    with pytest.raises(DecryptionFailed, match="does not open"):
        envelope.open_bytes(BLOB, bytes(32))
    with pytest.raises(DecryptionFailed):
        envelope.verify_data_key(io.BytesIO(BLOB), bytes(31) + b"\x01")


def test_a_stanza_copied_under_another_fingerprint_does_not_unwrap():
    """Give OTHER's fingerprint to the opening stanza: the wrap is bound to R."""
    raw = bytearray(BLOB)
    start = HEADER.raw.index(b"\x07opening") + 8
    raw[start : start + 32] = bytes.fromhex(fingerprint(OTHER))
    with pytest.raises(DecryptionFailed):
        envelope.unwrap_data_key(bytes(raw), OTHER)


def test_not_an_envelope_is_refused_by_magic():
    for blob in (b"", b"%PDF-1.7 hello", b"GGZYSEA", b"\x00" * 100):
        with pytest.raises(MalformedData, match="bad magic"):
            structure(blob)


def test_unknown_version_and_suite_and_flags_are_refused():
    for pos, value, message in (
        (8, 3, "unsupported envelope version 3"),
        (9, 7, "unsupported envelope suite 7"),
        (11, 1, "reserved header flags"),
    ):
        raw = bytearray(BLOB)
        raw[pos] = value
        with pytest.raises(MalformedData, match=message):
            structure(bytes(raw))


def test_oversized_upload_stops_early():
    with pytest.raises(MalformedData, match="larger than 100 bytes"):
        structure(BLOB, max_size=100)
    assert structure(BLOB, max_size=len(BLOB)).size == len(BLOB)


def test_every_refusal_is_a_crypto_error():
    with pytest.raises(CryptoError):
        open_with(BLOB[:-1])


def test_a_failure_in_a_later_chunk_writes_no_unverified_plaintext():
    bad = _flip(BLOB, len(BLOB) - 1)
    out = io.BytesIO()
    data_key = envelope.unwrap_data_key(BLOB, OPENING)
    with pytest.raises(DecryptionFailed, match="chunk 2"):
        envelope.open_envelope(io.BytesIO(bad), out, data_key)
    assert out.getvalue() == PLAINTEXT[:128]  # only the chunks that verified


def test_recipients_are_required_and_labels_checked():
    with pytest.raises(ValueError, match="recipients"):
        envelope.seal_bytes(b"x", tender_id="T", bidder_id="B", recipients=[])
    with pytest.raises(ValueError, match="label"):
        envelope.seal_bytes(
            b"x",
            tender_id="T",
            bidder_id="B",
            recipients=[envelope.Recipient("Bad Label", OPENING.public_key())],
        )


@pytest.mark.parametrize("tender_id", ["", "a\nb", "x" * 257, "\x00"])
def test_bad_identifiers_are_refused_when_sealing(tender_id):
    with pytest.raises(ValueError, match="tender id"):
        envelope.seal_bytes(
            b"x", tender_id=tender_id, bidder_id="B", recipients=recipients()
        )


@pytest.mark.parametrize("chunk_size", [0, 63, 16 * 1024 * 1024 + 1])
def test_chunk_size_out_of_range_is_refused(chunk_size):
    with pytest.raises(ValueError, match="chunk size"):
        envelope.seal_bytes(
            b"x",
            tender_id="T",
            bidder_id="B",
            recipients=recipients(),
            chunk_size=chunk_size,
        )
