"""Sealed bids: upload, receipt, replace, withdraw, bonds, the deadline, too few bids."""

import hashlib
import io
import os
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Notification
from audit.services import audit_verify
from bidding.bids import selectors as bid_selectors
from bidding.bids import services as bids
from bidding.bids.models import Bid
from bidding.tenders import lifecycle
from bidding.tenders import services as lifecycle_services
from bidding.tenders.models import Tender
from core import platform_keys, tasks
from crypto import envelope, receipts
from tests import factories

pytestmark = pytest.mark.django_db
S = Tender.Status


def _start(tender, user, blob, **kw):
    return bids.bid_upload_start(
        user=user,
        tender=tender,
        size=len(blob),
        price_sheet=factories.price_sheet_for(tender, user),
        **kw,
    )


def _chunk(upload, user, index, data, digest=None):
    return bids.bid_upload_chunk(
        user=user,
        upload_id=upload.public_id,
        index=index,
        stream=io.BytesIO(data),
        length=len(data),
        sha256=digest or hashlib.sha256(data).hexdigest(),
    )


def _pieces(blob, size):
    return [blob[i : i + size] for i in range(0, len(blob), size)]


def test_a_sealed_bid_is_accepted_with_a_signed_receipt(tender, bidder):
    bid = factories.submit_bid(tender, bidder, b"my technical and commercial bid")
    fields = receipts.receipt_verify(bid.receipt, platform_keys.verify_key())
    with bid.envelope.open("rb") as fh:
        data = fh.read()
    assert fields["sha256"] == hashlib.sha256(data).hexdigest() == bid.sha256
    assert fields["tender_id"] == tender.reference
    assert fields["bidder_id"] == bidder.organisation.credit_code
    assert fields["size"] == len(data)
    assert b"my technical and commercial bid" not in data
    assert audit_verify().ok


def test_the_bidder_key_opens_the_stored_bid(tender, bidder):
    bid = factories.submit_bid(tender, bidder, b"PLAINTEXT-MARKER-42")
    with bid.envelope.open("rb") as fh:
        blob = fh.read()
    key = envelope.unwrap_data_key(blob, factories.PRIVATE_KEYS[bidder.username], label="bidder")
    out = io.BytesIO()
    envelope.open_envelope(io.BytesIO(blob), out, key)
    assert out.getvalue() == b"PLAINTEXT-MARKER-42"


def test_a_multi_chunk_upload_in_order(settings, tender, bidder):
    settings.BID_UPLOAD_CHUNK_BYTES = 4096
    blob = factories.seal_for(tender, bidder, b"x" * 20000, chunk_size=1024)
    upload = _start(tender, bidder, blob)
    assert upload.chunk_count == len(_pieces(blob, 4096))
    for i, piece in enumerate(_pieces(blob, 4096)):
        upload = _chunk(upload, bidder, i, piece)
    bid = bids.bid_upload_complete(user=bidder, upload_id=upload.public_id)
    assert bid.sha256 == hashlib.sha256(blob).hexdigest()


def test_each_written_block_has_its_writeback_started_and_a_refused_advice_costs_nothing(
        settings, tender, bidder, monkeypatch):
    """The chunk's blocks are handed to the disk as they are written (so its sync
    before the answer finds little left); the advice failing does not fail the chunk,
    whose bytes are still synced before they are counted."""
    settings.BID_UPLOAD_CHUNK_BYTES = 4096
    blob = factories.seal_for(tender, bidder, b"w" * 9000, chunk_size=1024)
    advised, synced = [], []
    real_sync = os.fdatasync

    def refuse_advice(fd, offset, length, advice):
        advised.append((offset, length, advice))
        raise OSError("advice not supported here")

    monkeypatch.setattr(bids.os, "posix_fadvise", refuse_advice, raising=False)
    monkeypatch.setattr(bids.os, "fdatasync", lambda fd: (synced.append(fd), real_sync(fd)))
    upload = _start(tender, bidder, blob)
    pieces = _pieces(blob, 4096)
    for i, piece in enumerate(pieces):
        upload = _chunk(upload, bidder, i, piece)
    assert [a for _, _, a in advised] == [os.POSIX_FADV_DONTNEED] * len(pieces)
    assert [offset for offset, _, _ in advised] == [i * 4096 for i in range(len(pieces))]
    assert len(synced) >= len(pieces)
    bid = bids.bid_upload_complete(user=bidder, upload_id=upload.public_id)
    with bid.envelope.open("rb") as fh:
        assert fh.read() == blob


def test_a_duplicate_or_out_of_order_chunk_is_refused_with_the_next_index(settings, tender, bidder):
    settings.BID_UPLOAD_CHUNK_BYTES = 4096
    blob = factories.seal_for(tender, bidder, b"y" * 10000, chunk_size=1024)
    pieces = _pieces(blob, 4096)
    upload = _start(tender, bidder, blob)
    _chunk(upload, bidder, 0, pieces[0])
    with pytest.raises(bids.UploadConflict) as dup:
        _chunk(upload, bidder, 0, pieces[0])
    assert dup.value.code == "chunk_duplicate" and dup.value.next_index == 1
    with pytest.raises(bids.UploadConflict) as skip:
        _chunk(upload, bidder, 2, pieces[2])
    assert skip.value.code == "chunk_out_of_order"
    for i in range(1, len(pieces)):
        _chunk(upload, bidder, i, pieces[i])
    assert bids.bid_upload_complete(user=bidder, upload_id=upload.public_id).size == len(blob)


def test_an_altered_or_short_chunk_leaves_nothing_and_can_be_resent(settings, tender, bidder):
    settings.BID_UPLOAD_CHUNK_BYTES = 4096
    blob = factories.seal_for(tender, bidder, b"z" * 6000, chunk_size=1024)
    pieces = _pieces(blob, 4096)
    upload = _start(tender, bidder, blob)
    with pytest.raises(ValidationError):
        _chunk(upload, bidder, 0, pieces[0], digest="0" * 64)
    with pytest.raises(ValidationError):
        bids.bid_upload_chunk(
            user=bidder,
            upload_id=upload.public_id,
            index=0,
            stream=io.BytesIO(pieces[0][:100]),
            length=None,
            sha256=None,
        )
    upload.refresh_from_db()
    assert upload.next_index == 0 and upload.received_bytes == 0
    import os

    from django.core.files.storage import default_storage

    assert os.path.getsize(default_storage.path(upload.storage_name)) == 0
    for i, piece in enumerate(pieces):
        _chunk(upload, bidder, i, piece)
    bids.bid_upload_complete(user=bidder, upload_id=upload.public_id)


def test_a_truncated_upload_cannot_be_completed(settings, tender, bidder):
    settings.BID_UPLOAD_CHUNK_BYTES = 4096
    blob = factories.seal_for(tender, bidder, b"t" * 9000, chunk_size=1024)
    upload = _start(tender, bidder, blob)
    _chunk(upload, bidder, 0, blob[:4096])
    with pytest.raises(ValidationError) as exc:
        bids.bid_upload_complete(user=bidder, upload_id=upload.public_id)
    assert exc.value.error_dict["__all__"][0].code == "upload_incomplete"
    assert not Bid.objects.exists()


def test_a_completed_upload_cannot_be_replayed(tender, bidder):
    blob = factories.seal_for(tender, bidder, b"once")
    upload = _start(tender, bidder, blob)
    _chunk(upload, bidder, 0, blob)
    bids.bid_upload_complete(user=bidder, upload_id=upload.public_id)
    with pytest.raises(bids.UploadConflict) as exc:
        bids.bid_upload_complete(user=bidder, upload_id=upload.public_id)
    assert exc.value.code == "upload_closed"
    with pytest.raises(bids.UploadConflict):
        _chunk(upload, bidder, 0, blob)
    assert Bid.objects.count() == 1


@pytest.mark.parametrize("case", ["plaintext", "wrong_tender", "other_bidder", "no_opening_key"])
def test_anything_but_a_sealed_envelope_for_this_tender_and_bidder_is_refused(tender, bidder, case):
    other = factories.bidder_with_key()
    if case == "plaintext":
        blob = b"%PDF-1.7 an unencrypted bid\n" * 10
    elif case == "wrong_tender":
        blob = factories.seal_for(tender, bidder, b"bid", tender_id="GGZY-2026-999999")
    elif case == "other_bidder":
        blob = factories.seal_for(tender, other, b"bid")
    else:
        from crypto import keys

        stray = keys.generate_private_key()
        out = io.BytesIO()
        envelope.seal(
            io.BytesIO(b"bid"),
            out,
            tender_id=tender.reference,
            bidder_id=bidder.organisation.credit_code,
            recipients=[
                envelope.Recipient("bidder", factories.PRIVATE_KEYS[bidder.username].public_key()),
                envelope.Recipient("opening", stray.public_key()),
            ],
        )
        blob = out.getvalue()
    upload = _start(tender, bidder, blob)
    _chunk(upload, bidder, 0, blob)
    with pytest.raises(ValidationError) as exc:
        bids.bid_upload_complete(user=bidder, upload_id=upload.public_id)
    assert exc.value.error_dict["__all__"][0].code == "not_sealed"
    if case == "plaintext":
        assert "E-Rules 26" in exc.value.messages[0]
    assert not Bid.objects.exists()


def test_an_unsealed_price_sheet_is_refused(tender, bidder):
    with pytest.raises(ValidationError) as exc:
        bids.bid_upload_start(
            user=bidder, tender=tender, size=100, price_sheet=b'{"total_price": "1"}'
        )
    assert exc.value.error_dict["price_sheet"][0].code == "not_sealed"


def test_a_bidder_who_did_not_obtain_documents_cannot_bid(tender):
    stranger = factories.bidder_with_key()
    with pytest.raises(PermissionDenied):
        _start(tender, stranger, factories.seal_for(tender, stranger, b"x"))


def test_only_bidders_bid(tender):
    for user in (factories.tenderer(), factories.supervisor(), factories.operator()):
        with pytest.raises(PermissionDenied):
            bids.bid_upload_start(user=user, tender=tender, size=10, price_sheet=b"x")


def test_another_bidder_cannot_touch_my_upload(tender, bidder):
    blob = factories.seal_for(tender, bidder, b"mine")
    upload = _start(tender, bidder, blob)
    other = factories.bidder_with_key()
    from django.http import Http404

    with pytest.raises(Http404):
        _chunk(upload, other, 0, blob)
    with pytest.raises(Http404):
        bids.bid_upload_complete(user=other, upload_id=upload.public_id)


def test_a_replacement_supersedes_and_only_the_latest_counts(tender, bidder):
    first = factories.submit_bid(tender, bidder, b"v1")
    second = factories.submit_bid(tender, bidder, b"v2")
    first.refresh_from_db()
    assert (first.status, second.status) == ("superseded", "submitted")
    assert second.version == 2
    assert list(bid_selectors.current_bids(tender)) == [second]


def test_withdrawal_before_the_deadline_makes_the_bond_refundable_in_5_days(tender, bidder):
    from decimal import Decimal

    bidder.organisation.basic_account = "6222 0000 1111"
    bidder.organisation.save()
    factories.submit_bid(tender, bidder)
    bond = bids.bond_record(
        user=bidder,
        tender=tender,
        amount=tender.bond_amount,
        kind="transfer",
        payer_account="622200001111",
        payer_name="x",
    )
    assert bond.from_basic_account
    bid = bids.bid_withdraw(user=bidder, tender=tender)
    bond.refresh_from_db()
    assert bid.status == "withdrawn" and bond.status == "refund_due"
    assert bond.refund_due_by - bid.withdrawn_at == timedelta(days=5)
    assert Decimal(bond.amount) == tender.bond_amount
    from bidding.bids.selectors import bonds_refund_due

    assert list(bonds_refund_due()) == [bond]


def test_a_bond_not_from_the_basic_account_is_flagged(tender, bidder):
    bidder.organisation.basic_account = "6222000011112222"
    bidder.organisation.save()
    bond = bids.bond_record(
        user=bidder,
        tender=tender,
        amount=tender.bond_amount,
        kind="transfer",
        payer_account="9999888877776666",
        payer_name="某关联公司",
    )
    assert bond.from_basic_account is False


def test_a_short_bond_is_refused(tender, bidder):
    with pytest.raises(ValidationError):
        bids.bond_record(
            user=bidder,
            tender=tender,
            amount=tender.bond_amount - 1,
            kind="transfer",
            payer_account="1",
            payer_name="x",
        )


def test_withdrawing_nothing_is_refused(tender, bidder):
    with pytest.raises(ValidationError):
        bids.bid_withdraw(user=bidder, tender=tender)


# --- the deadline -------------------------------------------------------------------------


def test_every_path_refuses_after_the_deadline(settings, tender, bidder):
    settings.BID_UPLOAD_CHUNK_BYTES = 4096
    blob = factories.seal_for(tender, bidder, b"late" * 3000, chunk_size=1024)
    pieces = _pieces(blob, 4096)
    upload = _start(tender, bidder, blob)
    _chunk(upload, bidder, 0, pieces[0])
    factories.submit_bid(tender, bidder, b"on time")
    after = tender.deadline + timedelta(microseconds=1)
    with time_machine.travel(after, tick=False):
        for attempt in (
            lambda: _start(tender, bidder, blob),
            lambda: _chunk(upload, bidder, 1, pieces[1]),
            lambda: bids.bid_upload_complete(user=bidder, upload_id=upload.public_id),
            lambda: bids.bid_withdraw(user=bidder, tender=tender),
            lambda: bids.bond_record(
                user=bidder,
                tender=tender,
                amount=tender.bond_amount,
                kind="transfer",
                payer_account="1",
                payer_name="x",
            ),
        ):
            with pytest.raises(ValidationError) as exc:
                attempt()
            assert exc.value.error_dict["__all__"][0].code == "deadline_passed"
    assert Bid.objects.filter(status="submitted").count() == 1


def test_a_bid_completed_exactly_at_the_deadline_is_late(tender, bidder):
    blob = factories.seal_for(tender, bidder, b"edge")
    upload = _start(tender, bidder, blob)
    _chunk(upload, bidder, 0, blob)
    with time_machine.travel(tender.deadline, tick=False):
        with pytest.raises(ValidationError):
            bids.bid_upload_complete(user=bidder, upload_id=upload.public_id)
    assert not Bid.objects.exists()


def _completions_racing_the_deadline(n: int, spacing_ms: int) -> None:
    """``n`` bidders complete their (fully sent) uploads at instants spread evenly
    around the deadline, ``spacing_ms`` apart, several at once near it.

    What each thread observes is independent of the service's own timestamps: the
    server clock when its final attempt began and ended. A completion that began at or
    after the deadline must be refused; one that ended before it must be in; every bid
    in has a signed receipt whose server time is before the deadline and within its
    call; nothing is lost, and only refusals for the deadline occur.
    """
    import os
    import threading
    import time

    from django.db import OperationalError, connection
    from django.utils import timezone

    tender = factories.published_tender()
    prepared = []
    for _ in range(n):
        user = factories.bidder_with_key()
        lifecycle_services.document_obtain(user=user, tender=tender)
        blob = factories.seal_for(tender, user, os.urandom(64))
        upload = _start(tender, user, blob)
        _chunk(upload, user, 0, blob)
        prepared.append((user, upload))
    # The deadline a moment ahead; the completions straddle it.
    deadline = timezone.now() + timedelta(milliseconds=400 + n * spacing_ms // 2)
    Tender.objects.filter(pk=tender.pk).update(deadline=deadline)
    offsets = [(i - n // 2) * spacing_ms for i in range(n)]
    results: dict[int, tuple] = {}
    ready = threading.Barrier(n)

    def complete(user, upload, offset_ms):
        ready.wait()
        target = deadline + timedelta(milliseconds=offset_ms)
        time.sleep(max(0.0, (target - timezone.now()).total_seconds()))
        try:
            while True:
                began = timezone.now()
                try:
                    bid = bids.bid_upload_complete(user=user, upload_id=upload.public_id)
                    results[user.pk] = ("in", began, timezone.now(), bid.pk, None)
                    return
                except OperationalError as exc:
                    # SQLite's shared in-memory test database answers "locked" instead
                    # of waiting; a real client retries, and so do we (the retry is a
                    # new attempt, judged by when it began).
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.002)
                except ValidationError as exc:
                    code = exc.error_dict["__all__"][0].code
                    results[user.pk] = ("refused", began, timezone.now(), None, code)
                    return
        finally:
            connection.close()

    threads = [threading.Thread(target=complete, args=(user, upload, offset))
               for (user, upload), offset in zip(prepared, offsets, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(results) == n
    accepted = [r for r in results.values() if r[0] == "in"]
    refused = [r for r in results.values() if r[0] == "refused"]
    assert accepted and refused, "the completions must straddle the deadline"
    assert {r[4] for r in refused} == {"deadline_passed"}
    for _, _began, ended, _, _ in refused:
        assert ended >= deadline, "a completion that ended before the deadline was refused"
    for _, began, ended, bid_pk, _ in accepted:
        assert began < deadline, "a completion that began after the deadline got in"
        bid = Bid.objects.get(pk=bid_pk)
        fields = receipts.receipt_verify(bid.receipt, platform_keys.verify_key())
        assert fields["server_time"] == bid.submitted_at.isoformat(timespec="microseconds")
        assert began <= bid.submitted_at <= ended
        assert bid.submitted_at < deadline
    assert Bid.objects.filter(tender=tender, status="submitted").count() == len(accepted)
    assert not Bid.objects.filter(tender=tender, submitted_at__gte=deadline).exists()


@pytest.mark.django_db(transaction=True)
def test_completions_racing_the_deadline_are_in_before_it_or_refused():
    _completions_racing_the_deadline(n=16, spacing_ms=30)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_completions_racing_the_deadline_on_postgresql():
    """The same race where the tender's row lock really makes completions queue."""
    import os

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    _completions_racing_the_deadline(n=40, spacing_ms=10)


def test_fewer_than_three_bids_fail_the_tender_and_notify_everyone(tender, bidder):
    factories.submit_bid(tender, bidder)
    second = factories.bidder_with_key()
    factories.submit_bid(tender, second)
    with time_machine.travel(tender.deadline + timedelta(seconds=1), tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    assert tender.status == S.FAILED
    notified = set(Notification.objects.values_list("organisation_id", flat=True))
    assert {tender.tenderer_id, bidder.organisation_id, second.organisation_id} <= notified
    with time_machine.travel(tender.deadline + timedelta(seconds=2), tick=False):
        tasks.clock_tick()
    assert Notification.objects.filter(organisation=bidder.organisation).count() == 1


def test_three_bids_go_on_to_the_opening(tender, bidder):
    factories.submit_bid(tender, bidder)
    for _ in range(2):
        factories.submit_bid(tender, factories.bidder_with_key())
    with time_machine.travel(tender.deadline + timedelta(seconds=1), tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    assert tender.status == S.OPENING


def test_a_withdrawn_bid_does_not_count_towards_three(tender, bidder):
    factories.submit_bid(tender, bidder)
    for _ in range(2):
        factories.submit_bid(tender, factories.bidder_with_key())
    bids.bid_withdraw(user=bidder, tender=tender)
    with time_machine.travel(tender.deadline + timedelta(seconds=1), tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    assert tender.status == S.FAILED


def test_publishing_without_enough_custodians_is_refused():
    from accounts.models import PublicKey
    from bidding.tenders import services

    user = factories.tenderer()
    draft = factories.draft_tender(user=user)
    PublicKey.objects.filter(purpose="custodian").update(active=False)
    with pytest.raises(ValidationError) as exc:
        services.tender_publish(user=user, tender=draft)
    assert exc.value.error_dict["__all__"][0].code == "no_custodians"


def test_no_opening_key_exists_and_each_bid_key_is_split_among_the_custodians(tender, bidder):
    """Custody without a trusted dealer (crypto.custody): nobody, the platform included,
    holds a tender opening key; any 2 of the 3 custodians rebuild a bid's data key."""
    from crypto import custody
    from crypto.errors import NotEnoughShares

    seats = list(tender.key_shares.select_related("custodian").order_by("x"))
    assert len(seats) == 3 and tender.opening_threshold == 2
    assert tender.opening_public_key is None
    bid = factories.submit_bid(tender, bidder)
    with bid.envelope.open("rb") as fh:
        header = envelope.read_header(fh)
    shares = dict(custody.unwrap_share(header, factories.PRIVATE_KEYS[s.custodian.username])
                  for s in seats)
    own = envelope.unwrap_data_key(header, factories.PRIVATE_KEYS[bidder.username])
    assert custody.combine(header, {1: shares[1], 3: shares[3]}) == own
    with pytest.raises(NotEnoughShares):
        custody.combine(header, {2: shares[2]})


def test_bid_audit_events_are_sealed_until_bidding_closes(tender, bidder):
    from supervision.selectors import audit_events_visible

    factories.submit_bid(tender, bidder)
    assert not audit_events_visible().filter(action__startswith="bid.").exists()
    # A suspension before the deadline does not close bidding: still sealed
    # (tests/supervision/test_secrecy.py has the rest).
    lifecycle.tender_transition(tender=tender, to=S.SUSPENDED, by=lifecycle.SUPERVISOR)
    assert not audit_events_visible().filter(action__startswith="bid.").exists()
    lifecycle.tender_transition(tender=tender, to=S.PUBLISHED, by=lifecycle.SUPERVISOR)
    with time_machine.travel(tender.deadline + timedelta(seconds=1), tick=False):
        tasks.clock_tick()
        assert audit_events_visible().filter(action="bid.submit").exists()
