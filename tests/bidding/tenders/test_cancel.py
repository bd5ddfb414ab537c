"""Cancelling a tender (终止招标, Reg 31): who may, what it needs, what it does."""

import pytest
from django.test import Client

from accounts.models import Notification
from audit.models import AuditEvent
from bidding.bids import services as bids
from bidding.bids.models import BidBond
from bidding.tenders import lifecycle, services
from bidding.tenders.models import Tender
from tests import factories

pytestmark = pytest.mark.django_db

S = Tender.Status


def api_as(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def cancel(client, tender, **body):
    return client.post(f"/api/tenders/{tender.pk}/cancel/", body,
                       content_type="application/json")


def bidder_with_bond(tender):
    user = factories.bidder_with_key()
    services.document_obtain(user=user, tender=tender)
    factories.submit_bid(tender, user)
    bids.bond_record(user=user, tender=tender, amount=tender.bond_amount, kind="transfer",
                     payer_account="6222000011112222", payer_name=user.organisation.name,
                     reference="TRF-1")
    return user


def test_cancel_without_confirmation_is_refused_with_confirm_required():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    r = cancel(api_as(owner), tender, reason="项目取消")
    assert r.status_code == 400 and r.json()["error"]["code"] == "confirm_required"
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED


def test_cancel_without_a_reason_is_refused():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    r = cancel(api_as(owner), tender, reason="  ", confirm=True)
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED


def test_a_bidder_cannot_cancel():
    tender = factories.published_tender()
    r = cancel(api_as(factories.bidder()), tender, reason="x", confirm=True)
    assert r.status_code == 403
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED


def test_another_tenderer_cannot_cancel_a_published_tender():
    tender = factories.published_tender()
    r = cancel(api_as(factories.tenderer()), tender, reason="x", confirm=True)
    assert r.status_code == 403


def test_another_tenderers_draft_is_not_found():
    tender = factories.draft_tender()
    r = cancel(api_as(factories.tenderer()), tender, reason="x", confirm=True)
    assert r.status_code == 404


def test_cancel_after_bidding_closed_is_a_conflict():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    Tender.objects.filter(pk=tender.pk).update(status=S.BIDDING_CLOSED)
    r = cancel(api_as(owner), tender, reason="太迟", confirm=True)
    assert r.status_code == 409
    tender.refresh_from_db()
    assert tender.status == S.BIDDING_CLOSED


def test_a_cancelled_tender_cannot_be_cancelled_again():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    assert cancel(api_as(owner), tender, reason="一", confirm=True).status_code == 200
    assert cancel(api_as(owner), tender, reason="二", confirm=True).status_code == 409


def test_cancel_makes_bonds_due_tells_those_who_obtained_and_is_audited():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    bidder = bidder_with_bond(tender)
    looker = factories.bidder()
    services.document_obtain(user=looker, tender=tender)
    r = cancel(api_as(owner), tender, reason="资金未落实，终止招标", confirm=True)
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled"
    assert r.json()["cancel_reason"] == "资金未落实，终止招标"
    bond = BidBond.objects.get(tender=tender)
    assert bond.status == BidBond.Status.REFUND_DUE and bond.refund_due_by is not None
    told = set(Notification.objects.filter(subject__contains=tender.reference)
               .values_list("organisation_id", flat=True))
    assert {bidder.organisation_id, looker.organisation_id, owner.organisation_id} <= told
    event = AuditEvent.objects.get(action="tender.cancel")
    assert event.object_id == str(tender.pk) and "cancelled" in event.summary
    assert AuditEvent.objects.filter(action="tender.transition",
                                     summary__endswith="-> cancelled").exists()


def test_a_draft_is_cancelled_without_telling_anyone():
    owner = factories.tenderer()
    tender = factories.draft_tender(user=owner)
    services.tender_cancel(user=owner, tender=tender, reason="不再需要", confirmed=True)
    tender.refresh_from_db()
    assert tender.status == S.CANCELLED
    assert not Notification.objects.exists()


def test_the_service_refuses_without_confirmation():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    with pytest.raises(Exception) as exc:
        services.tender_cancel(user=owner, tender=tender, reason="x", confirmed=False)
    assert exc.value.error_dict["confirm"][0].code == "confirm_required"


def test_the_service_refuses_a_status_the_lifecycle_forbids():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    Tender.objects.filter(pk=tender.pk).update(status=S.OPENING)
    with pytest.raises(lifecycle.TransitionNotAllowed):
        services.tender_cancel(user=owner, tender=tender, reason="x", confirmed=True)


# --- the page -----------------------------------------------------------------


def page_as(user) -> Client:
    return api_as(user)


def test_the_owner_sees_the_cancel_button_and_others_do_not():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    url = f"/tenders/{tender.pk}/"
    cancel_url = f"/tenders/{tender.pk}/cancel/"
    assert cancel_url in page_as(owner).get(url).text
    for other in (factories.bidder(), factories.tenderer(), factories.supervisor(),
                  factories.operator()):
        assert cancel_url not in page_as(other).get(url).text
    assert cancel_url not in Client().get(url).text


def test_the_confirmation_page_says_who_is_told_and_which_bonds_are_refunded():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    services.document_obtain(user=factories.bidder(), tender=tender)
    r = page_as(owner).get(f"/tenders/{tender.pk}/cancel/")
    assert r.status_code == 200
    assert "2 organisations are told" in r.text
    assert "Reg 31" in r.text and "with interest" in r.text
    assert 'name="csrfmiddlewaretoken"' in r.text and 'name="confirm"' in r.text


def test_the_confirmation_page_is_refused_to_others():
    tender = factories.published_tender()
    assert page_as(factories.bidder()).get(f"/tenders/{tender.pk}/cancel/").status_code == 403


def test_posting_without_the_tick_does_not_cancel_and_says_why():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    r = page_as(owner).post(f"/tenders/{tender.pk}/cancel/", {"reason": "资金问题"})
    assert r.status_code == 200 and "cannot be undone" in r.text
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED


def test_posting_with_reason_and_tick_cancels_and_the_page_shows_the_reason():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    client = page_as(owner)
    r = client.post(f"/tenders/{tender.pk}/cancel/", {"reason": "资金问题", "confirm": "yes"})
    assert r.status_code == 302
    tender.refresh_from_db()
    assert tender.status == S.CANCELLED
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/tenders/{tender.pk}/").text
    assert "This tender is cancelled" in page and "资金问题" in page


def test_the_cancel_page_of_a_closed_tender_redirects_with_the_refusal():
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    Tender.objects.filter(pk=tender.pk).update(status=S.BIDDING_CLOSED)
    r = page_as(owner).get(f"/tenders/{tender.pk}/cancel/")
    assert r.status_code == 302
