"""The tender form states the price formula's parameters (full marks, float, deduction
factors); the service decides what they must be (publication needs the full marks)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bidding.tenders import services
from bidding.tenders.models import Tender
from tests import factories

pytestmark = pytest.mark.django_db

CRITERIA = "资格 | 营业执照\n技术 | 施工方案 | 40 | Plan\n商务 | 业绩 | 30 | Record"


def _post(**extra) -> dict:
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "project_code": "FZ-FORM-1", "project_name": "表单项目", "title": "表单测试工程",
        "region": "350105", "category": "works_municipal", "estimate": "8000000",
        "max_price": "7900000", "bond_amount": "80000",
        "docs_from": now.strftime(fmt), "docs_until": (now + timedelta(days=7)).strftime(fmt),
        "deadline": (now + timedelta(days=25)).strftime(fmt),
        "evaluation_method": "comprehensive", "price_formula": "benchmark_deviation",
        "award_method": "first_ranked", "criteria_text": CRITERIA, "procedure_type": "open",
        **extra,
    }


def _code(exc) -> str:
    return next(e.code for errs in exc.value.error_dict.values() for e in errs)


def test_the_form_saves_the_price_parameters_and_the_draft_publishes(client):
    factories.ensure_custodians()
    user = factories.tenderer()
    client.force_login(user)
    page = client.get("/tenders/new/")
    html = page.content.decode()
    for name in ("price_full_score", "price_float", "price_k_above", "price_k_below"):
        assert f'id="id_{name}"' in html
    # The parameters come right after the formula they belong to.
    assert html.index('id="id_price_formula"') < html.index('id="id_price_full_score"') \
        < html.index('id="id_criteria_text"')
    r = client.post("/tenders/new/", _post(price_full_score="30", price_float="-0.02",
                                           price_k_above="1.2", price_k_below="0.80"))
    assert r.status_code == 302, r.content.decode()[-2000:]
    tender = Tender.objects.get(project_code="FZ-FORM-1")
    assert tender.price_formula_params == {"full_score": "30", "float": "-0.02",
                                           "k_above": "1.2", "k_below": "0.8"}
    services.document_add(user=user, tender=tender, upload=factories.pdf_upload())
    services.tender_publish(user=user, tender=tender)
    tender.refresh_from_db()
    assert tender.status == Tender.Status.PUBLISHED


def test_a_form_made_tender_without_the_full_marks_is_not_published(client):
    factories.ensure_custodians()
    user = factories.tenderer()
    client.force_login(user)
    assert client.post("/tenders/new/", _post(price_k_above="1.2")).status_code == 302
    tender = Tender.objects.get(project_code="FZ-FORM-1")
    services.document_add(user=user, tender=tender, upload=factories.pdf_upload())
    with pytest.raises(ValidationError) as exc:
        services.tender_publish(user=user, tender=tender)
    assert _code(exc) == "price_full_score_missing"


def test_editing_the_draft_shows_and_keeps_the_parameters(client):
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, price_formula_params={
        "full_score": "30", "k_above": "1.2", "k_below": "0.8", "trim": [[5, 1, 1]]})
    client.force_login(user)
    page = client.get(f"/tenders/{tender.pk}/edit/").content.decode()
    assert 'name="price_full_score" value="30"' in page
    assert 'name="price_k_below" value="0.8"' in page
    r = client.post(f"/tenders/{tender.pk}/edit/", _post(
        project_code=tender.project_code, price_full_score="40", price_k_above="1.2"))
    assert r.status_code == 302
    tender.refresh_from_db()
    # The emptied factor is dropped; the trim table, which has no field, is kept.
    assert tender.price_formula_params == {"full_score": "40", "k_above": "1.2",
                                           "trim": [[5, 1, 1]]}


def test_a_parameter_that_is_not_a_number_is_refused_beside_its_field(client):
    client.force_login(factories.tenderer())
    r = client.post("/tenders/new/", _post(price_full_score="thirty"))
    assert r.status_code == 200
    assert "has-error" in r.content.decode()
    assert not Tender.objects.filter(project_code="FZ-FORM-1").exists()


def test_a_service_refusal_of_the_parameters_shows_beside_the_full_marks():
    from bidding.tenders.forms import TenderForm

    form = TenderForm(data=_post(price_full_score="30"))
    assert form.is_valid(), form.errors
    form.add_service_errors(ValidationError({"price_formula_params": ["bad"]}))
    assert form.errors["price_full_score"] == ["bad"]
