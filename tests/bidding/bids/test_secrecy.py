"""Bonds before the deadline: a refund due from a withdrawal is payable by the trading
centre without telling it who withdrew from which tender, and bonds are addressed by a
random public id, never by their sequential primary key."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from audit.models import AuditEvent
from bidding.bids import services as bids
from bidding.bids.models import BidBond
from bidding.bids.selectors import refunds_due
from bidding.tenders import services
from core import tasks
from tests import factories
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def tender():
    return factories.published_tender()


def _bidder(tender):
    user = factories.bidder_with_key()
    services.document_obtain(user=user, tender=tender)
    return user


def _withdrawn_with_bond(tender, user, reference="TRF-20261206-0042") -> BidBond:
    factories.submit_bid(tender, user)
    bond = bids.bond_record(user=user, tender=tender, amount=tender.bond_amount,
                            kind="transfer", payer_account="6222000011112222",
                            payer_name=user.organisation.name, reference=reference)
    bids.bid_withdraw(user=user, tender=tender)
    return bond


def _secrets(tender, user) -> list[str]:
    org = user.organisation
    return [tender.reference, tender.title, org.name, org.credit_code, "6222000011112222",
            f'"tender": "{tender.reference}"']


def test_before_the_deadline_a_refund_due_names_no_tender_and_no_bidder(tender):
    user = _bidder(tender)
    bond = _withdrawn_with_bond(tender, user)
    response = api_as(factories.operator()).get("/api/bonds/refunds-due/")
    text = response.content.decode()
    for secret in _secrets(tender, user):
        assert secret not in text, secret
    [row] = response.json()
    assert row["id"] == str(bond.public_id) and row["sealed"] is True
    assert row["amount"] == f"{bond.amount:.2f}" and row["transfer_reference"] == bond.reference
    assert row["refund_due_by"] is not None


def test_before_the_deadline_the_operators_workspace_names_no_tender_or_bidder(tender):
    user = _bidder(tender)
    bond = _withdrawn_with_bond(tender, user)
    client = Client()
    client.force_login(factories.operator())
    html = client.get("/my/").content.decode()
    assert str(bond.public_id) in html
    for secret in _secrets(tender, user)[1:-1]:  # the reference may be a public tender's
        assert secret not in html, secret
    assert f"<td>{tender.reference}</td>" not in html


def test_the_operator_pays_a_sealed_refund_by_its_public_id(tender):
    user = _bidder(tender)
    bond = _withdrawn_with_bond(tender, user)
    response = api_as(factories.operator()).post(f"/api/bonds/{bond.public_id}/refunded/")
    assert response.status_code == 200
    assert set(response.json()) == {"id", "status", "refunded_at"}
    bond.refresh_from_db()
    assert bond.status == BidBond.Status.REFUNDED
    # The refund is sealed in the audit chain like the withdrawal it follows.
    event = AuditEvent.objects.get(action="bond.refund")
    assert event.sealed_tender_id == tender.pk and event.object_id == str(bond.public_id)


def test_after_bidding_closes_the_refund_names_tender_and_bidder(tender):
    user = _bidder(tender)
    _withdrawn_with_bond(tender, user)
    for _ in range(3):
        factories.submit_bid(tender, _bidder(tender))
    with time_machine.travel(tender.deadline + timedelta(seconds=1), tick=False):
        tasks.clock_tick()
        [row] = refunds_due()
    assert not row.sealed
    assert (row.tender, row.bidder) == (tender.reference, user.organisation.name)


def test_bond_ids_in_the_api_are_random_uuids(tender):
    user = _bidder(tender)
    factories.submit_bid(tender, user)
    r = api_as(user).post(f"/api/tenders/{tender.pk}/bond/", {
        "amount": str(tender.bond_amount), "kind": "transfer",
        "payer_account": "6222000011112222", "payer_name": "x"}, format="json")
    bond = BidBond.objects.get()
    assert r.json()["id"] == str(bond.public_id) and uuid.UUID(r.json()["id"])
    assert str(bond.pk) != r.json()["id"]


def test_a_bond_cannot_be_addressed_by_its_integer_id(tender):
    user = _bidder(tender)
    bond = _withdrawn_with_bond(tender, user)
    operator = api_as(factories.operator())
    assert operator.post(f"/api/bonds/{bond.pk}/refunded/").status_code == 404
    assert operator.post(f"/api/bonds/{uuid.uuid4()}/refunded/").status_code == 403
    assert api_as(user).post(f"/api/bonds/{bond.public_id}/refunded/").status_code == 403
    bond.refresh_from_db()
    assert bond.status == BidBond.Status.REFUND_DUE

