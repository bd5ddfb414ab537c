"""A tender with several statutory problems is refused with all of them at once, each
under its field, in the reader's language with the rule cited in that language."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from bidding.tenders.models import Tender
from tests import factories

pytestmark = pytest.mark.django_db


def _draft_with_three_problems():
    """A draft whose deadline is too soon (Law 24), whose documents are obtainable for too
    short a time (Reg 16) and which has no documents attached."""
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, with_document=False)
    now = timezone.now()
    Tender.objects.filter(pk=tender.pk).update(
        docs_from=now, docs_until=now + timedelta(days=2), deadline=now + timedelta(days=10))
    return user, tender


def test_the_api_refuses_publication_with_every_problem_under_its_field():
    user, tender = _draft_with_three_problems()
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    r = client.post(f"/api/tenders/{tender.pk}/publish/", {}, format="json")
    assert r.status_code == 400
    fields = r.json()["error"]["fields"]
    assert set(fields) >= {"deadline", "docs_until", "documents"}
    assert "Law 24" in fields["deadline"][0]
    assert "Reg 16" in fields["docs_until"][0]
    tender.refresh_from_db()
    assert tender.status == Tender.Status.DRAFT


def test_in_chinese_each_problem_cites_the_law_in_chinese():
    user, tender = _draft_with_three_problems()
    client = APIClient(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_authenticate(user)
    fields = client.post(f"/api/tenders/{tender.pk}/publish/", {}, format="json").json()[
        "error"]["fields"]
    assert "《招标投标法》第二十四条" in fields["deadline"][0]
    assert "《招标投标法实施条例》第十六条" in fields["docs_until"][0]
    assert "Law 24" not in fields["deadline"][0]


def test_the_page_sends_a_refused_publication_to_the_form_with_each_problem_beside_its_field():
    user, tender = _draft_with_three_problems()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    r = client.post(f"/tenders/{tender.pk}/publish/", {"confirm": "yes"}, follow=True)
    assert r.redirect_chain[-1][0] == f"/tenders/{tender.pk}/edit/?check=publish"
    page = r.content.decode()
    assert "Not published: 3 problems to correct" in page
    form = r.context["form"]
    assert "Law 24" in form.errors["deadline"][0]
    assert "Reg 16" in form.errors["docs_until"][0]
    assert any("Attach the tender documents" in e for e in form.non_field_errors())
    # The summary links to each field.
    assert 'href="#id_deadline"' in page and 'href="#id_docs_until"' in page


def test_a_draft_with_two_bad_fields_hears_of_both_when_saved():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    r = client.get(f"/tenders/{tender.pk}/edit/")
    form = r.context["form"]
    post = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        if hasattr(value, "strftime"):
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            value = value.strftime("%Y-%m-%dT%H:%M")
        post[name] = value
    post.update(bond_amount="5000000", estimate="1000000", max_price="900000",
                decryption_window_minutes="1")
    r = client.post(f"/tenders/{tender.pk}/edit/", post)
    assert r.status_code == 200
    errors = r.context["form"].errors
    assert "bond_amount" in errors and "decryption_window_minutes" in errors
    tender.refresh_from_db()
    assert tender.bond_amount == Decimal("100000.00")  # nothing half-saved


def test_a_publishable_draft_shows_no_problems_in_check_mode():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    r = client.get(f"/tenders/{tender.pk}/edit/?check=publish")
    assert r.status_code == 200
    assert not r.context["form"].errors
