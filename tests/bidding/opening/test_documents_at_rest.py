"""Decrypted bids at rest: no plaintext on disk or in the database after the opening; one
audited reader that refuses tampered files and wrapped keys, needs its KEK and survives a
KEK rotation."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from audit.models import AuditEvent
from bidding.opening import at_rest
from bidding.opening import services as opening
from bidding.opening.models import BidOpening
from bidding.opening.selectors import bid_document_meta, open_bid_document
from core import at_rest as core_at_rest
from core import platform_keys, tasks
from crypto import envelope
from crypto.errors import CryptoError
from tests import factories

pytestmark = pytest.mark.django_db

PDF_HEAD = b"%PDF-1.4\n"


@pytest.fixture(autouse=True)
def _own_kek_file(tmp_path, settings):
    """Each test has its own at-rest key file (created on first use, as in development)."""
    settings.PLATFORM_AT_REST_KEY_FILE = str(tmp_path / "at_rest_keys.json")
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "file"


def _marker(i: int, user) -> bytes:
    return f"PLAINTEXT-MARKER-{i}-机密标书-{user.pk}".encode()


def _keys(bid, user):
    private = factories.PRIVATE_KEYS[user.username]
    with bid.envelope.open("rb") as fh:
        bid_key = envelope.unwrap_data_key(fh, private, label="bidder")
    sheet_key = envelope.unwrap_data_key(bytes(bid.price_sheet), private, label="bidder")
    return bid_key.hex(), sheet_key.hex()


@pytest.fixture
def decrypted():
    """Three bids (one a PDF) decrypted by their bidders at the opening; yields the
    tender, users, BidOpening rows and the plaintexts."""
    tender = factories.published_tender(announce_mode="as_decrypted")
    users = [factories.bidder_with_key() for _ in range(3)]
    plains = []
    for i, user in enumerate(users):
        body = _marker(i, user) * 2000  # several 64 KiB chunks
        plains.append(PDF_HEAD + body if i == 0 else body)
    bids = [factories.submit_bid(tender, u, p) for u, p in zip(users, plains, strict=True)]
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
        tender.refresh_from_db()
        items = []
        for bid, user in zip(bids, users, strict=True):
            bid_key, sheet_key = _keys(bid, user)
            items.append(opening.opening_decrypt(user=user, tender=tender, bid_key=bid_key,
                                                 price_sheet_key=sheet_key))
        yield tender, users, items, plains


def _read(item, user="tester"):
    with open_bid_document(item, user=user, purpose="test") as fh:
        return fh.read()


def _haystack(settings) -> bytes:
    blobs = []
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    blobs.append(dump.getvalue().encode())
    for row in BidOpening.objects.values():
        blobs.append(repr(row).encode())
    if connection.vendor == "sqlite":
        blobs.append("\n".join(connection.connection.iterdump()).encode())
        name = connection.settings_dict["NAME"]
        if name and Path(str(name)).is_file():
            blobs.append(Path(str(name)).read_bytes())
    for path in Path(settings.MEDIA_ROOT).rglob("*"):
        if path.is_file():
            blobs.append(path.read_bytes())
    return b"\n".join(blobs)


def test_after_the_opening_no_file_and_no_table_holds_any_bid_in_plaintext(decrypted, settings):
    tender, users, items, plains = decrypted
    haystack = _haystack(settings)
    for i, user in enumerate(users):
        marker = _marker(i, user)
        assert marker not in haystack
        assert marker.decode().encode("utf-16-le") not in haystack
        assert base64.b64encode(marker * 3)[4:40] not in haystack
    # Nor any temporary file: the media store holds the sealed envelopes and one
    # at-rest file per decrypted bid.
    opened = sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*")
                    if p.is_file() and "opened" in p.parts)
    assert len(opened) == 3 and all(p.suffix == ".rest" for p in opened)
    assert all(p.read_bytes().startswith(b"GGZYREST") for p in opened)


def test_the_reader_returns_each_bid_and_its_recorded_facts(decrypted):
    import hashlib

    tender, users, items, plains = decrypted
    for item, plain in zip(items, plains, strict=True):
        item.refresh_from_db()
        assert _read(item) == plain
        meta = bid_document_meta(item)
        assert meta["size"] == len(plain)
        assert meta["sha256"] == hashlib.sha256(plain).hexdigest()
        assert meta["key_id"] == platform_keys.at_rest_keyring().current_key_id
    assert [bid_document_meta(i)["content_type"] for i in items] == ["pdf", "other", "other"]


def test_every_read_is_audited_with_who_and_why(decrypted):
    tender, users, items, plains = decrypted
    before = AuditEvent.objects.filter(action="opening.document_access").count()
    with open_bid_document(items[1], user=users[0], purpose="evaluation.download") as fh:
        fh.read(10)
    events = AuditEvent.objects.filter(action="opening.document_access").order_by("seq")
    assert events.count() == before + 1
    last = events.last()
    assert last.actor_id == users[0].pk and last.object_id == str(items[1].pk)
    assert "evaluation.download" in last.summary


def test_a_read_without_a_purpose_is_refused_and_reads_nothing(decrypted):
    tender, users, items, plains = decrypted
    with pytest.raises(ValueError, match="purpose"):
        with open_bid_document(items[0], user=users[0], purpose=" "):
            pass


def _file(item) -> Path:
    return Path(item.document.path)


@pytest.mark.parametrize("where", ["header", "first_chunk", "last_byte"])
def test_a_flipped_ciphertext_byte_makes_the_reader_refuse(decrypted, where):
    tender, users, items, plains = decrypted
    path = _file(items[1])
    data = bytearray(path.read_bytes())
    offset = {"header": 20, "first_chunk": 200, "last_byte": len(data) - 1}[where]
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CryptoError):
        _read(items[1])


def test_a_cut_or_extended_file_makes_the_reader_refuse(decrypted):
    tender, users, items, plains = decrypted
    path = _file(items[2])
    whole = path.read_bytes()
    full = 64 * 1024 + 16
    for altered in (whole[: len(whole) - full], whole[:-1], whole + b"\x00" * 17):
        path.write_bytes(altered)
        with pytest.raises(CryptoError):
            _read(items[2])


def test_an_altered_wrapped_key_makes_the_reader_refuse(decrypted):
    tender, users, items, plains = decrypted
    item = items[0]
    wrapped = bytearray(base64.b64decode(item.document_wrapped_key))
    wrapped[15] ^= 0x80
    item.document_wrapped_key = base64.b64encode(bytes(wrapped)).decode()
    with pytest.raises(CryptoError, match="wrapped key"):
        _read(item)


def test_another_bids_file_or_wrapped_key_does_not_open_here(decrypted):
    tender, users, items, plains = decrypted
    a, b = items[0], items[1]
    a.document_wrapped_key, a.document_key_id = b.document_wrapped_key, b.document_key_id
    with pytest.raises(CryptoError):
        _read(a)
    a.refresh_from_db()
    a.document.name = b.document.name
    with pytest.raises(CryptoError):
        _read(a)


def test_a_missing_kek_is_a_clear_error(decrypted, settings, tmp_path):
    tender, users, items, plains = decrypted
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "env"
    monkey = pytest.MonkeyPatch()
    monkey.setenv("PLATFORM_AT_REST_KEYS", "other:" + base64.b64encode(b"k" * 32).decode())
    try:
        with pytest.raises(platform_keys.PlatformKeyUnavailable, match="not available"):
            _read(items[0])
        monkey.delenv("PLATFORM_AT_REST_KEYS")
        with pytest.raises(platform_keys.PlatformKeyUnavailable,
                           match="PLATFORM_AT_REST_KEYS is unset"):
            _read(items[0])
    finally:
        monkey.undo()


def test_production_refuses_to_invent_a_missing_kek(settings, tmp_path):
    settings.GGZY_PRODUCTION = True
    settings.PLATFORM_AT_REST_KEY_FILE = str(tmp_path / "absent.json")
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="in production"):
        platform_keys.at_rest_keyring()
    assert not (tmp_path / "absent.json").exists()


def test_a_rotated_kek_still_reads_old_documents_and_new_ones_use_the_new_kek(
        decrypted, settings):
    tender, users, items, plains = decrypted
    old = platform_keys.at_rest_keyring().current_key_id
    new = platform_keys.at_rest_rotate()
    assert new != old
    assert platform_keys.at_rest_keyring().current_key_id == new
    assert _read(items[0]) == plains[0]
    ring = json.loads(Path(settings.PLATFORM_AT_REST_KEY_FILE).read_text())
    assert set(ring["keys"]) == {old, new}
    # A document written now is wrapped by the new KEK.
    out = io.BytesIO()
    writer, key = core_at_rest.document_writer(out, context="probe")
    writer.write(b"x")
    writer.close()
    assert key.key_id == new


def test_a_failed_hand_over_leaves_no_file(settings):
    tender = factories.published_tender(announce_mode="as_decrypted")
    users = [factories.bidder_with_key() for _ in range(3)]
    bids = [factories.submit_bid(tender, u, b"bid" * 100) for u in users]
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
        tender.refresh_from_db()
        _, sheet_key = _keys(bids[0], users[0])
        wrong_bid_key, _ = _keys(bids[1], users[1])
        with pytest.raises(Exception, match="do not open"):
            opening.opening_decrypt(user=users[0], tender=tender, bid_key=wrong_bid_key,
                                    price_sheet_key=sheet_key)
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*")
                if p.is_file() and "opened" in p.parts]
    assert not BidOpening.objects.get(bid=bids[0]).document


def test_a_legacy_plaintext_row_is_refused_by_the_reader_with_the_fix(decrypted):
    tender, users, items, plains = decrypted
    item = items[0]
    item.document_wrapped_key = ""
    with pytest.raises(at_rest.DocumentUnavailable, match="seal_opened_documents"):
        _read(item)


def test_the_command_encrypts_a_legacy_plaintext_file_and_removes_it(decrypted, settings):
    """Openings before encryption at rest left ``opened/<tender>/<bid>.bin`` in plaintext."""
    from django.core.files.storage import default_storage

    tender, users, items, plains = decrypted
    item = items[1]
    legacy = f"opened/{tender.public_id}/{item.bid.public_id}.bin"
    default_storage.save(legacy, io.BytesIO(plains[1]))
    BidOpening.objects.filter(pk=item.pk).update(
        document=legacy, document_wrapped_key="", document_key_id="",
        document_header_sha256="", document_sha256="", document_size=None)
    out = io.StringIO()
    call_command("seal_opened_documents", stdout=out)
    assert "encrypted at rest: 1" in out.getvalue()
    item.refresh_from_db()
    assert not default_storage.exists(legacy)
    assert _read(item) == plains[1]
    assert _marker(1, users[1]) not in _haystack(settings)
    call_command("seal_opened_documents", stdout=io.StringIO())  # idempotent
    assert _read(item) == plains[1]
