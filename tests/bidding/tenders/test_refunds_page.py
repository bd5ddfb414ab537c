"""The refunds page: bonds due with their statutory deadline, and recording a refund.
Bonds become due on a cancellation (Reg 31) and after the contract (Reg 57)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bidding.bids import rules
from bidding.bids import services as bids
from bidding.bids.models import BidBond
from bidding.tenders import services
from bidding.tenders.models import Tender
from tests import factories

pytestmark = pytest.mark.django_db


def as_user(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def cancelled():
    """A tender cancelled after a bidder paid its bond."""
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    user = factories.bidder_with_key()
    services.document_obtain(user=user, tender=tender)
    factories.submit_bid(tender, user)
    bids.bond_record(user=user, tender=tender, amount=tender.bond_amount, kind="transfer",
                     payer_account="6222000011112222", payer_name="某公司",
                     reference="TRF-CANCEL-1")
    services.tender_cancel(user=owner, tender=tender, reason="资金未落实", confirmed=True)
    return tender, BidBond.objects.get(tender=tender)


def test_the_operator_sees_the_bond_due_why_and_by_when(cancelled):
    _tender, bond = cancelled
    text = as_user(factories.operator()).get("/refunds/").text
    assert str(bond.public_id) in text and "TRF-CANCEL-1" in text
    assert "Tender cancelled" in text and "Reg 31" in text
    assert timezone.localtime(bond.refund_due_by).strftime("%Y-%m-%d") in text
    assert f"/refunds/{bond.public_id}/refunded/" in text


def test_the_supervisor_sees_the_list_without_the_record_button(cancelled):
    _tender, bond = cancelled
    r = as_user(factories.supervisor()).get("/refunds/")
    assert r.status_code == 200 and str(bond.public_id) in r.text
    assert f"/refunds/{bond.public_id}/refunded/" not in r.text


@pytest.mark.parametrize("role", ["bidder", "tenderer"])
def test_others_may_not_see_the_refunds(role):
    assert as_user(getattr(factories, role)()).get("/refunds/").status_code == 403


def test_the_button_records_the_refund(cancelled):
    _tender, bond = cancelled
    client = as_user(factories.operator())
    r = client.post(f"/refunds/{bond.public_id}/refunded/")
    assert r.status_code == 302
    bond.refresh_from_db()
    assert bond.status == BidBond.Status.REFUNDED
    again = client.post(f"/refunds/{bond.public_id}/refunded/", follow=True)
    assert "This bond is not due for refund." in again.text


def test_a_supervisor_cannot_record_a_refund(cancelled):
    _tender, bond = cancelled
    r = as_user(factories.supervisor()).post(f"/refunds/{bond.public_id}/refunded/")
    assert r.status_code == 403
    bond.refresh_from_db()
    assert bond.status == BidBond.Status.REFUND_DUE


def test_an_overdue_refund_is_flagged(cancelled):
    _tender, bond = cancelled
    BidBond.objects.filter(pk=bond.pk).update(
        refund_due_by=timezone.now() - timedelta(days=1))
    assert "Overdue" in as_user(factories.operator()).get("/refunds/").text


def test_the_contract_makes_every_bond_still_held_due_within_reg_57s_days(cancelled):
    tender, bond = cancelled
    BidBond.objects.filter(pk=bond.pk).update(status=BidBond.Status.HELD, refund_due_by=None)
    now = timezone.now()
    rules.tender_contracted(tender=tender, previous=Tender.Status.AWARDED, reason="", now=now)
    bond.refresh_from_db()
    assert bond.status == BidBond.Status.REFUND_DUE
    assert bond.refund_due_by == now + timedelta(days=5)
    Tender.objects.filter(pk=tender.pk).update(status=Tender.Status.CONTRACTED)
    text = as_user(factories.operator()).get("/refunds/").text
    assert "Contract signed" in text and "Reg 57" in text


def test_the_dashboard_links_the_operator_to_the_refunds_page():
    text = as_user(factories.operator()).get("/my/").text
    assert 'href="/refunds/"' in text
