"""Secrecy before the deadline in the audit viewer: nothing it or the API returns lets a
supervisor or operator count the bidders' events still hidden (no sequence numbers, no
hash links with gaps), and a suspension does not lift the secrecy."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_object_type
from bidding.bids.selectors import bidding_has_closed
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from core import tasks
from supervision.selectors import audit_events_visible
from tests import factories
from tests.conftest import api_as

pytestmark = pytest.mark.django_db
S = Tender.Status


def _tender_with_bids(n: int) -> Tender:
    tender = factories.published_tender()
    for _ in range(n):
        user = factories.bidder_with_key()
        factories.submit_bid(tender, user)
    return tender


def _api_events(user) -> list[dict]:
    return api_as(user).get("/api/audit/events/?page_size=1000").json()["results"]


def _assert_no_gaps_can_be_seen(events: list[dict]) -> None:
    """The sequence numbers shown run 1, 2, 3 ... without a gap, each shown previous
    hash is the hash of the row before, and no row after a withheld one shows any."""
    shown = [e for e in events if e["seq"] is not None]
    assert [e["seq"] for e in shown] == list(range(1, len(shown) + 1))
    for before, after in zip(shown, shown[1:], strict=False):
        assert after["prev_hash"] == before["hash"]
    first_withheld = next((i for i, e in enumerate(events) if e["seq"] is None), len(events))
    assert all(e["seq"] is None and e["prev_hash"] is None and e["hash"] is None
               for e in events[first_withheld:])


def test_the_api_shows_no_sequence_or_hash_that_would_count_hidden_bids():
    tender = _tender_with_bids(3)
    hidden = AuditEvent.objects.filter(sealed_tender_id=tender.pk)
    assert hidden.count() >= 3
    for user in (factories.supervisor(), factories.operator()):
        events = _api_events(user)
        assert not any(e["action"].startswith("bid.") for e in events)
        _assert_no_gaps_can_be_seen(events)
        # Events after the tender's creation come without chain fields at all.
        after = [e for e in events if e["object_type"] == audit_object_type(Tender)
                 and e["object_id"] == str(tender.pk) and e["action"] == "tender.transition"]
        assert after and all(e["seq"] is None and e["hash"] is None for e in after)
        text = str(events)
        for event in hidden:
            assert event.hash not in text and event.prev_hash not in text


def test_the_api_answers_the_same_shape_with_and_without_bids():
    """What the viewer gets is the same whether 0 or 3 bidders acted: counting is
    impossible from it."""
    supervisor = factories.supervisor()
    _tender_with_bids(0)
    without = [(e["action"], e["seq"], e["prev_hash"], e["hash"])
               for e in _api_events(supervisor)][-3:]
    _tender_with_bids(3)
    with_bids = [(e["action"], e["seq"], e["prev_hash"], e["hash"])
                 for e in _api_events(supervisor)][-3:]
    assert [row[1:] for row in without] == [row[1:] for row in with_bids]
    assert all(row[1] is None for row in with_bids)


def test_the_page_shows_row_numbers_and_no_hidden_sequence_or_hash():
    tender = _tender_with_bids(3)
    client = Client()
    client.force_login(factories.supervisor())
    html = client.get("/supervision/audit/").content.decode()
    for event in AuditEvent.objects.filter(seq__gte=AuditEvent.objects.get(
            action="tender.create", object_id=str(tender.pk)).seq):
        assert event.hash[:17] not in html
    visible = audit_events_visible().count()
    numbers = [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", html)]
    assert sorted(numbers) == list(range(1, visible + 1))


def test_chain_fields_return_once_bidding_has_closed():
    tender = _tender_with_bids(3)
    with time_machine.travel(tender.deadline + timedelta(seconds=1), tick=False):
        tasks.clock_tick()
        events = _api_events(factories.supervisor())
    assert all(e["seq"] is not None for e in events)
    assert any(e["action"].startswith("bid.") for e in events)
    _assert_no_gaps_can_be_seen(events)


def test_a_tender_suspended_before_its_deadline_keeps_its_bidders_events_hidden():
    tender = _tender_with_bids(3)
    lifecycle.tender_transition(tender=tender, to=S.SUSPENDED, by=lifecycle.SUPERVISOR,
                                actor=factories.supervisor(), reason="complaint")
    tender.refresh_from_db()
    assert tender.status == S.SUSPENDED and not bidding_has_closed(tender)
    assert not audit_events_visible().filter(sealed_tender_id=tender.pk).exists()
    # Still hidden once the deadline passes during the suspension: bidding never closed.
    with time_machine.travel(tender.deadline + timedelta(hours=1), tick=False):
        assert not bidding_has_closed(tender)
        assert not audit_events_visible().filter(sealed_tender_id=tender.pk).exists()
        events = _api_events(factories.supervisor())
        assert not any(e["action"].startswith("bid.") for e in events)


def test_a_tender_suspended_after_bidding_closed_shows_its_events():
    tender = _tender_with_bids(3)
    with time_machine.travel(tender.deadline + timedelta(seconds=1), tick=False):
        tasks.clock_tick()
        tender.refresh_from_db()
        assert tender.status == S.OPENING
        lifecycle.tender_transition(tender=tender, to=S.SUSPENDED, by=lifecycle.SUPERVISOR,
                                    actor=factories.supervisor(), reason="complaint")
        tender.refresh_from_db()
        assert bidding_has_closed(tender)
        assert audit_events_visible().filter(sealed_tender_id=tender.pk).exists()


def test_bidding_has_closed_only_after_the_deadline_and_past_bidding():
    now = timezone.now()
    tender = Tender(status=S.PUBLISHED, deadline=now - timedelta(seconds=1))
    assert not bidding_has_closed(tender, now)  # the clock has not closed it yet
    tender.status = S.BIDDING_CLOSED
    assert bidding_has_closed(tender, now)
    tender.deadline = now + timedelta(days=1)  # cancelled early: not until the deadline
    tender.status = S.CANCELLED
    assert not bidding_has_closed(tender, now)
