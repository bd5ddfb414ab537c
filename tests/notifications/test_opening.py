"""The opening's notifications, from its audit events (the opening's own tests cover how
the events come about; here the session is built directly)."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.services import audit_record
from bidding.bids.models import Bid
from bidding.opening.models import BidOpening, OpeningSession
from bidding.tenders import services as tenders
from core.notifications import services
from tests import factories

from .helpers import of_kind

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    now = timezone.now()
    session = OpeningSession.objects.create(
        tender=tender, started_at=now, window_ends_at=now + timedelta(minutes=30),
        merkle_root="0" * 64, merkle_size=2)
    users = []
    for i, status in enumerate([BidOpening.Status.PENDING, BidOpening.Status.DECRYPTED]):
        user = factories.bidder()
        digest = hashlib.sha256(f"{tender.pk}-{i}".encode()).hexdigest()
        bid = Bid.objects.create(
            tender=tender, bidder=user.organisation, submitted_by=user, version=1,
            envelope=f"bids/{digest}", sha256=digest, size=1, price_sheet=b"",
            price_sheet_sha256=digest, bidder_key_fingerprint="",
            status=Bid.Status.SUBMITTED, submitted_at=now, receipt={})
        BidOpening.objects.create(session=session, bid=bid, status=status)
        users.append(user)
    registered_only = factories.bidder()
    tenders.document_obtain(user=registered_only, tender=tender)
    return session, users, owner, registered_only


def test_the_opening_start_tells_the_bidders_with_a_bid_in(hall):
    session, (pending, decrypted), owner, registered_only = hall
    audit_record(actor="clock", action="opening.start", obj=session)
    services.dispatch_events()
    told = set(of_kind("opening.started").values_list("recipient_id", flat=True))
    assert told == {pending.pk, decrypted.pk}
    n = of_kind("opening.started").get(recipient=pending)
    assert n.url == f"/tenders/{session.tender_id}/opening/"


def test_the_window_warning_goes_once_to_bidders_who_have_not_decrypted(hall):
    session, (pending, decrypted), owner, registered_only = hall
    services.run_schedules(now=session.window_ends_at - timedelta(minutes=20))
    assert not of_kind("opening.window_closing").exists()
    services.run_schedules(now=session.window_ends_at - timedelta(minutes=5))
    services.run_schedules(now=session.window_ends_at - timedelta(minutes=1))
    assert list(of_kind("opening.window_closing").values_list("recipient_id", flat=True)) == [
        pending.pk]


def test_the_window_closing_and_the_record_are_told(hall):
    session, (pending, decrypted), owner, registered_only = hall
    audit_record(actor="clock", action="opening.window_closed", obj=session)
    audit_record(actor="platform", action="opening.record", obj=session)
    services.dispatch_events()
    assert set(of_kind("opening.window_closed").values_list("recipient_id", flat=True)) == {
        pending.pk, decrypted.pk}
    assert set(of_kind("opening.record_ready").values_list("recipient_id", flat=True)) == {
        pending.pk, decrypted.pk, owner.pk}
    assert not of_kind("opening.record_ready").filter(recipient=registered_only).exists()
