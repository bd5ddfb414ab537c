"""Bidders submit side by side at the deadline (the tender row is locked FOR SHARE on
PostgreSQL), and that costs nothing in safety: one bidder's two submissions at once
still leave exactly one current bid, and closing bidding waits for a submission in
progress. Real row locks: PostgreSQL only (SQLite serialises every writer anyway)."""

import hashlib
import io
import os
import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection

from bidding.bids import services as bids
from bidding.bids.models import Bid
from bidding.tenders import lifecycle
from bidding.tenders import services as lifecycle_services
from bidding.tenders.models import Tender
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")


def _uploaded(tender, user):
    blob = factories.seal_for(tender, user, os.urandom(64))
    upload = bids.bid_upload_start(user=user, tender=tender, size=len(blob),
                                   price_sheet=factories.price_sheet_for(tender, user))
    bids.bid_upload_chunk(user=user, upload_id=upload.public_id, index=0,
                          stream=io.BytesIO(blob), length=len(blob),
                          sha256=hashlib.sha256(blob).hexdigest())
    return upload


def _in_thread(fn, errors, results=None):
    def run():
        try:
            out = fn()
            if results is not None:
                results.append(out)
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()
    t = threading.Thread(target=run)
    t.start()
    return t


def _hold_first_submission(monkeypatch):
    """The first completion to reach its audit event (its locks taken) waits there
    until released; returns (reached, release)."""
    reached, release = threading.Event(), threading.Event()
    real = bids.audit_record

    def held(**kw):
        if kw.get("action") == "bid.submit" and not reached.is_set():
            reached.set()
            release.wait(timeout=20)
        return real(**kw)

    monkeypatch.setattr(bids, "audit_record", held)
    return reached, release


def test_one_bidders_two_completions_at_once_leave_one_current_bid(monkeypatch):
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    lifecycle_services.document_obtain(user=user, tender=tender)
    first, second = _uploaded(tender, user), _uploaded(tender, user)
    reached, release = _hold_first_submission(monkeypatch)
    errors, done = [], []
    a = _in_thread(lambda: bids.bid_upload_complete(user=user, upload_id=first.public_id),
                   errors, done)
    assert reached.wait(timeout=20)
    b = _in_thread(lambda: bids.bid_upload_complete(user=user, upload_id=second.public_id),
                   errors, done)
    b.join(timeout=0.5)  # the second waits for the bidder's lock, not for the tender
    release.set()
    a.join(timeout=30)
    b.join(timeout=30)
    assert not a.is_alive() and not b.is_alive() and not errors, errors
    assert len(done) == 2
    rows = list(Bid.objects.filter(tender=tender, bidder=user.organisation).order_by("version"))
    assert [(r.version, r.status) for r in rows] == [
        (1, Bid.Status.SUPERSEDED), (2, Bid.Status.SUBMITTED)]


def test_other_bidders_submit_while_one_submission_is_in_progress(monkeypatch):
    tender = factories.published_tender()
    users = [factories.bidder_with_key() for _ in range(2)]
    for user in users:
        lifecycle_services.document_obtain(user=user, tender=tender)
    uploads = [_uploaded(tender, user) for user in users]
    reached, release = _hold_first_submission(monkeypatch)
    errors, done = [], []
    a = _in_thread(lambda: bids.bid_upload_complete(user=users[0],
                                                    upload_id=uploads[0].public_id),
                   errors, done)
    assert reached.wait(timeout=20)
    try:
        # With the first one still holding its locks, the second gets in.
        second = bids.bid_upload_complete(user=users[1], upload_id=uploads[1].public_id)
    finally:
        release.set()
        a.join(timeout=30)
    assert not errors, errors
    assert second.status == Bid.Status.SUBMITTED
    assert Bid.objects.filter(tender=tender, status=Bid.Status.SUBMITTED).count() == 2


def test_closing_bidding_waits_for_a_submission_in_progress(monkeypatch):
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    lifecycle_services.document_obtain(user=user, tender=tender)
    upload = _uploaded(tender, user)
    reached, release = _hold_first_submission(monkeypatch)
    errors, done = [], []
    before = tender.deadline - timedelta(seconds=1)
    a = _in_thread(lambda: bids.bid_upload_complete(user=user, upload_id=upload.public_id,
                                                    now=before), errors, done)
    assert reached.wait(timeout=20)
    closer = _in_thread(lambda: lifecycle.tender_transition(
        tender=Tender.objects.get(pk=tender.pk), to=Tender.Status.BIDDING_CLOSED,
        by=lifecycle.CLOCK, now=tender.deadline + timedelta(seconds=1)), errors)
    closer.join(timeout=0.5)
    assert closer.is_alive(), "closing did not wait for the submission in progress"
    release.set()
    a.join(timeout=30)
    closer.join(timeout=30)
    assert not errors, errors
    tender.refresh_from_db()
    assert tender.status == Tender.Status.BIDDING_CLOSED
    bid = Bid.objects.get(tender=tender, bidder=user.organisation)
    assert bid.status == Bid.Status.SUBMITTED and bid.submitted_at < tender.deadline


def test_a_registration_gone_before_the_lock_is_refused_and_the_upload_stays_open():
    """The lock statement joins the bidder's document registration; without one (gone
    since the upload started) the submission is refused and nothing is saved."""
    from django.core.exceptions import PermissionDenied

    from bidding.bids.models import BidUpload
    from bidding.tenders.models import DocumentRegistration

    tender = factories.published_tender()
    user = factories.bidder_with_key()
    lifecycle_services.document_obtain(user=user, tender=tender)
    upload = _uploaded(tender, user)
    DocumentRegistration.objects.filter(tender=tender, organisation=user.organisation).delete()
    with pytest.raises(PermissionDenied):
        bids.bid_upload_complete(user=user, upload_id=upload.public_id)
    upload.refresh_from_db()
    assert upload.status == BidUpload.Status.OPEN
    assert not Bid.objects.filter(tender=tender).exists()
    assert os.path.exists(bids._path(upload.storage_name))


def test_the_submission_locks_read_only_what_the_bid_needs_of_the_tender(
        django_assert_num_queries):
    """Both locks in one statement; the tender it returns carries its state and names
    and nothing more (any other field would cost a query of its own, counted here)."""
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    lifecycle_services.document_obtain(user=user, tender=tender)
    from django.db import transaction

    with django_assert_num_queries(3), transaction.atomic():  # BEGIN, the lock, COMMIT
        locked = bids._lock_tender_for_submission(tender.pk, user.organisation_id)
        assert (locked.pk, locked.status, locked.deadline, locked.reference,
                locked.public_id) == (tender.pk, tender.status, tender.deadline,
                                      tender.reference, tender.public_id)
    assert locked.get_deferred_fields() >= {"project_name", "opening_threshold"}
