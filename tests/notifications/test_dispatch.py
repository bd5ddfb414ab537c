"""Notifications made from audit events: who gets them, once, in their language, as
they chose; a failing event is isolated and retried."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail

from audit.services import audit_record
from core.notifications import registry, services
from core.notifications.models import (
    FailedEvent,
    Notification,
    NotificationPreference,
    NotificationProfile,
)
from tests import factories

from .helpers import answered_tender, of_kind, tick

pytestmark = pytest.mark.django_db


def test_an_answer_notifies_every_bidder_that_obtained_the_documents_and_no_one_else():
    a1 = factories.bidder(email="a1@example.cn")
    a2 = factories.bidder(organisation=a1.organisation, email="a2@example.cn")
    b = factories.bidder()
    outsider = factories.bidder()
    tender, owner = answered_tender(registered=[a1, b])
    tick()
    told = set(of_kind("tender.answer").values_list("recipient_id", flat=True))
    assert told == {a1.pk, a2.pk, b.pk}
    assert outsider.pk not in told and owner.pk not in told
    n = of_kind("tender.answer").get(recipient=b)
    assert n.tender_reference == tender.reference
    assert n.url == f"/tenders/{tender.pk}/"
    assert "以图纸为准" in n.body
    assert n.params["reference"] == tender.reference


def test_an_amendment_notifies_the_registered_bidders():
    from bidding.tenders import services as tenders

    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    bidder = factories.bidder()
    other = factories.bidder()
    tenders.document_obtain(user=bidder, tender=tender)
    tenders.amendment_publish(user=owner, tender=tender, text="第3.2条改为…")
    tick()
    assert list(of_kind("tender.amendment").values_list("recipient_id", flat=True)) == [
        bidder.pk]
    assert not of_kind("tender.amendment").filter(recipient=other).exists()


def test_running_the_job_twice_creates_no_duplicates():
    bidder = factories.bidder(email="b@example.cn")
    answered_tender(registered=[bidder])
    tick()
    tick()
    services.dispatch_events()
    assert of_kind("tender.answer").count() == 1
    assert len(mail.outbox) == 1


def test_events_already_read_are_not_read_again_even_if_their_notifications_are_gone():
    bidder = factories.bidder()
    answered_tender(registered=[bidder])
    services.dispatch_events()
    Notification.objects.all().delete()
    services.dispatch_events()
    assert not Notification.objects.exists()


def test_a_kind_turned_off_in_both_channels_gives_no_notification_and_no_email():
    bidder = factories.bidder(email="b@example.cn")
    NotificationPreference.objects.create(user=bidder, kind="tender.answer", in_app=False,
                                          email=False)
    answered_tender(registered=[bidder])
    tick()
    assert not Notification.objects.filter(recipient=bidder).exists()
    assert mail.outbox == []


def test_email_only_is_emailed_but_not_shown_in_the_centre():
    from core.notifications import selectors

    bidder = factories.bidder(email="b@example.cn")
    NotificationPreference.objects.create(user=bidder, kind="tender.answer", in_app=False,
                                          email=True)
    answered_tender(registered=[bidder])
    tick()
    assert len(mail.outbox) == 1
    assert selectors.unread_count(bidder) == 0
    assert not selectors.inbox(bidder).exists()


def test_in_app_only_sends_no_email():
    bidder = factories.bidder(email="b@example.cn")
    NotificationPreference.objects.create(user=bidder, kind="tender.answer", in_app=True,
                                          email=False)
    answered_tender(registered=[bidder])
    tick()
    assert of_kind("tender.answer").filter(recipient=bidder, in_app=True).exists()
    assert mail.outbox == []


def test_the_email_is_written_in_the_recipients_language():
    zh = factories.bidder(email="zh@example.cn")
    en = factories.bidder(email="en@example.cn")
    NotificationProfile.objects.create(user=zh, language="zh-hans")
    NotificationProfile.objects.create(user=en, language="en")
    answered_tender(registered=[zh, en])
    tick()
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"zh@example.cn", "en@example.cn"}
    assert "北京时间" in by_address["zh@example.cn"].body
    assert "CST" in by_address["en@example.cn"].body
    assert "北京时间" not in by_address["en@example.cn"].body
    assert of_kind("tender.answer").get(recipient=zh).language == "zh-hans"
    assert of_kind("tender.answer").get(recipient=en).language == "en"
    assert by_address["en@example.cn"].subject == of_kind("tender.answer").get(
        recipient=en).title


def test_a_recipient_without_an_email_address_still_gets_the_notification():
    bidder = factories.bidder(email="")
    answered_tender(registered=[bidder])
    tick()
    n = of_kind("tender.answer").get(recipient=bidder)
    assert not n.email_wanted and mail.outbox == []


def test_a_failed_email_keeps_the_notification_and_is_retried_later():
    bidder = factories.bidder(email="b@example.cn")
    answered_tender(registered=[bidder])
    services.dispatch_events()
    with mock.patch("django.core.mail.send_mail", side_effect=OSError("smtp down")):
        assert services.email_pending() == 0
    n = of_kind("tender.answer").get(recipient=bidder)
    assert n.emailed_at is None and n.email_attempts == 1 and "smtp down" in n.email_error
    assert services.email_pending() == 0  # not before its pause
    assert services.email_pending(now=n.email_next_at + timedelta(seconds=1)) == 1
    n.refresh_from_db()
    assert n.emailed_at is not None and len(mail.outbox) == 1


@pytest.fixture
def test_kinds():
    """Two kinds of a test stage on actions of their own; the first fails while
    ``broken`` holds True."""
    broken = {"on": True}
    target = factories.bidder()

    def boom(event):
        if broken["on"]:
            raise RuntimeError("the stage's data is not readable")
        return registry.Message(recipients=[target.pk], params={"n": 1})

    def fine(event):
        return registry.Message(recipients=[target.pk], params={"n": 2})

    registry.register_kind("test.boom", label="boom", default_email=False,
                           actions=("test.boom",), recipients_for_event=boom,
                           render=lambda p: ("boom", ""))
    registry.register_kind("test.fine", label="fine", default_email=False,
                           actions=("test.fine",), recipients_for_event=fine,
                           render=lambda p: ("fine", ""))
    yield broken, target
    registry.unregister_kind("test.boom")
    registry.unregister_kind("test.fine")


def test_one_failing_event_does_not_stop_the_others_and_is_retried(test_kinds):
    broken, target = test_kinds
    bad = audit_record(actor="clock", action="test.boom", object_id=1)
    audit_record(actor="clock", action="test.fine", object_id=2)
    result = services.dispatch_events()
    assert result["failed"] == 1
    assert of_kind("test.fine").filter(recipient=target).exists()
    assert not of_kind("test.boom").exists()
    assert FailedEvent.objects.get().seq == bad.seq
    services.dispatch_events()  # still broken: tried again, counted
    assert FailedEvent.objects.get().attempts == 2
    broken["on"] = False
    services.dispatch_events()
    assert of_kind("test.boom").get().event_seq == bad.seq
    assert not FailedEvent.objects.exists()
    assert of_kind("test.fine").count() == 1


def test_the_dispatcher_is_a_clock_job_whose_failure_stops_no_other_job(test_kinds):
    from core import clock

    audit_record(actor="clock", action="test.fine", object_id=2)
    report = clock.tick()
    assert "notifications.dispatch" in report.ran
    assert "notifications.dispatch" not in report.failed
    assert of_kind("test.fine").exists()


def test_registering_a_kind_without_a_source_is_refused():
    with pytest.raises(ValueError):
        registry.register_kind("test.none", label="x", default_email=False,
                               render=lambda p: ("", ""))
    with pytest.raises(ValueError):
        registry.register_kind("test.half", label="x", default_email=False,
                               actions=("a.b",), render=lambda p: ("", ""))


def test_inactive_users_are_not_notified():
    bidder = factories.bidder()
    gone = factories.bidder(organisation=bidder.organisation, is_active=False)
    answered_tender(registered=[bidder])
    tick()
    assert not Notification.objects.filter(recipient=gone).exists()


def test_the_first_run_starts_at_recent_events_not_at_the_start_of_a_long_log():
    from bidding.tenders import services as tenders

    bidder = factories.bidder()
    tender, owner = answered_tender(registered=[bidder])
    # Every event so far counts as "history" for this first run.
    with mock.patch.object(services, "FIRST_RUN_LOOKBACK", timedelta(0)):
        services.dispatch_events()
    assert not Notification.objects.exists()
    tenders.amendment_publish(user=owner, tender=tender, text="新的修改")
    services.dispatch_events()
    assert of_kind("tender.amendment").filter(recipient=bidder).count() == 1
    assert not of_kind("tender.answer").exists()
