"""Deadline reminders: 24 h and 1 h before the deadline, to registered bidders with no
bid in, each once."""

from datetime import timedelta

import pytest

from bidding.tenders import services as tenders
from core.notifications import services
from tests import factories

from .helpers import of_kind

pytestmark = pytest.mark.django_db


def test_reminders_fire_once_each_24_hours_and_1_hour_before_the_deadline():
    tender = factories.published_tender()
    bidder = factories.bidder(email="b@example.cn")
    tenders.document_obtain(user=bidder, tender=tender)
    services.run_schedules(now=tender.deadline - timedelta(hours=25))
    assert not of_kind("bid.deadline_reminder").exists()
    services.run_schedules(now=tender.deadline - timedelta(hours=23))
    services.run_schedules(now=tender.deadline - timedelta(hours=22))
    services.run_schedules(now=tender.deadline - timedelta(hours=2))
    assert of_kind("bid.deadline_reminder").count() == 1
    services.run_schedules(now=tender.deadline - timedelta(minutes=50))
    services.run_schedules(now=tender.deadline - timedelta(minutes=10))
    reminders = list(of_kind("bid.deadline_reminder").order_by("pk"))
    assert [r.params["reminder"] for r in reminders] == ["24h", "1h"]
    assert all(r.recipient_id == bidder.pk for r in reminders)
    assert "一小时" in reminders[1].title  # the recipient's language: the site default, Chinese
    services.run_schedules(now=tender.deadline + timedelta(minutes=1))
    assert of_kind("bid.deadline_reminder").count() == 2


def test_no_reminder_to_a_bidder_with_a_bid_in_or_without_the_documents():
    from bidding.bids.models import Bid

    tender = factories.published_tender()
    with_bid = factories.bidder_with_key()
    factories.submit_bid(tender, with_bid)
    assert Bid.objects.filter(tender=tender, bidder=with_bid.organisation).exists()
    factories.bidder()  # never obtained the documents
    services.run_schedules(now=tender.deadline - timedelta(hours=1))
    assert not of_kind("bid.deadline_reminder").exists()


def test_a_moved_deadline_reminds_again_before_the_new_one():
    from django.db.models import F

    from bidding.tenders.models import Tender

    tender = factories.published_tender()
    bidder = factories.bidder()
    tenders.document_obtain(user=bidder, tender=tender)
    services.run_schedules(now=tender.deadline - timedelta(minutes=30))
    Tender.objects.filter(pk=tender.pk).update(deadline=F("deadline") + timedelta(days=3))
    tender.refresh_from_db()
    services.run_schedules(now=tender.deadline - timedelta(minutes=30))
    assert of_kind("bid.deadline_reminder").count() == 2


def test_a_bid_receipt_and_a_withdrawal_go_to_the_bidders_own_staff_only():
    from bidding.bids import services as bids

    tender = factories.published_tender()
    bidder = factories.bidder_with_key(email="b@example.cn")
    colleague = factories.bidder(organisation=bidder.organisation)
    rival = factories.bidder()
    tenders.document_obtain(user=rival, tender=tender)
    bid = factories.submit_bid(tender, bidder)
    services.dispatch_events()
    received = of_kind("bid.received")
    assert set(received.values_list("recipient_id", flat=True)) == {bidder.pk, colleague.pk}
    assert bid.sha256 in received.get(recipient=bidder).body
    bids.bid_withdraw(user=bidder, tender=tender)
    services.dispatch_events()
    assert set(of_kind("bid.withdrawn").values_list("recipient_id", flat=True)) == {
        bidder.pk, colleague.pk}
