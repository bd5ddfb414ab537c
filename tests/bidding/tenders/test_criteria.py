"""A tender declares its evaluation criteria and how evaluation and award run (Reg 49,
Reg 53, 评定分离): checked on drafts, complete at publication, fixed afterwards."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from bidding.tenders import services
from bidding.tenders.services import CriterionInput
from tests import factories

pytestmark = pytest.mark.django_db


def _code(exc) -> str:
    return next(e.code for errs in exc.value.error_dict.values() for e in errs)


def test_the_factory_tender_declares_its_criteria_in_order():
    tender = factories.published_tender()
    rows = list(tender.criteria.values_list("number", "stage", "max_score"))
    assert rows == [(1, "qualification", None), (2, "qualification", None),
                    (3, "technical", Decimal("30.00")), (4, "technical", Decimal("20.00")),
                    (5, "commercial", Decimal("20.00"))]


def test_a_scored_criterion_needs_a_maximum_score():
    with pytest.raises(ValidationError) as exc:
        factories.draft_tender(criteria=[CriterionInput(stage="technical", name="方案")])
    assert _code(exc) == "criterion_max_score"


def test_a_pass_fail_criterion_has_no_maximum_score():
    with pytest.raises(ValidationError) as exc:
        factories.draft_tender(criteria=[CriterionInput(stage="qualification", name="资质",
                                                        max_score=Decimal("5"))])
    assert _code(exc) == "criterion_pass_fail_scored"


def test_an_unknown_stage_or_empty_name_is_refused():
    with pytest.raises(ValidationError) as exc:
        factories.draft_tender(criteria=[CriterionInput(stage="beauty", name="x")])
    assert _code(exc) == "criterion_stage"
    with pytest.raises(ValidationError) as exc:
        factories.draft_tender(criteria=[CriterionInput(stage="qualification", name=" ")])
    assert _code(exc) == "criterion_name"


@pytest.mark.parametrize("count", [0, 4])
def test_candidate_count_is_one_to_three(count):
    with pytest.raises(ValidationError) as exc:
        factories.draft_tender(candidate_count=count)
    assert "candidate_count" in exc.value.message_dict


def test_comprehensive_scoring_without_technical_criteria_is_not_published():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, criteria=[
        CriterionInput(stage="qualification", name="资质")])
    with pytest.raises(ValidationError) as exc:
        services.tender_publish(user=user, tender=tender)
    assert _code(exc) == "criteria_missing_technical"


def test_comprehensive_scoring_without_the_price_full_score_is_not_published():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, price_formula_params={"k_above": "1"})
    with pytest.raises(ValidationError) as exc:
        services.tender_publish(user=user, tender=tender)
    assert _code(exc) == "price_full_score_missing"


def test_lowest_price_needs_no_technical_criteria():
    tender = factories.published_tender(evaluation_method="lowest_price", criteria=[
        CriterionInput(stage="qualification", name="资质")])
    assert tender.status == "published"


def test_separate_award_needs_its_committee_and_vote_mode_at_publication():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user, award_method="separate", decision_method="vote")
    with pytest.raises(ValidationError) as exc:
        services.tender_publish(user=user, tender=tender)
    assert _code(exc) == "award_committee_mode_missing"
    tender = factories.draft_tender(user=user, award_method="separate", decision_method="vote",
                                    award_committee_mode="drawn", award_committee_size=5)
    with pytest.raises(ValidationError) as exc:
        services.tender_publish(user=user, tender=tender)
    assert _code(exc) == "vote_mode_missing"
    tender = factories.draft_tender(user=user, award_method="separate", decision_method="vote",
                                    award_committee_mode="drawn", award_committee_size=5,
                                    vote_mode="direct")
    assert services.tender_publish(user=user, tender=tender).status == "published"


def test_criteria_are_fixed_after_publication():
    user = factories.tenderer()
    tender = factories.published_tender(user=user)
    with pytest.raises(ValidationError):
        services.tender_update(user=user, tender=tender, data=factories.tender_input(
            criteria=[CriterionInput(stage="technical", name="新", max_score=Decimal("9"))]))
    assert tender.criteria.count() == 5


def test_a_draft_edit_without_criteria_keeps_them_and_with_criteria_replaces_them():
    user = factories.tenderer()
    tender = factories.draft_tender(user=user)
    data = factories.tender_input()
    data.criteria = None
    services.tender_update(user=user, tender=tender, data=data)
    assert tender.criteria.count() == 5
    data.criteria = [CriterionInput(stage="technical", name="唯一", max_score=Decimal("50"))]
    services.tender_update(user=user, tender=tender, data=data)
    assert list(tender.criteria.values_list("name", flat=True)) == ["唯一"]


def test_the_api_takes_and_shows_the_criteria():
    user = factories.tenderer()
    client = APIClient()
    client.force_authenticate(user)
    tender = factories.published_tender(user=user, anonymous_technical=True)
    body = APIClient().get(f"/api/tenders/{tender.pk}/").json()
    assert [c["stage"] for c in body["criteria"]][:3] == ["qualification", "qualification",
                                                          "technical"]
    assert body["anonymous_technical"] is True and body["candidate_count"] == 3
    draft = factories.draft_tender(user=user)
    r = client.put(f"/api/tenders/{draft.pk}/", {
        **{k: str(v) if not isinstance(v, (list, dict, bool, int)) else v
           for k, v in _api_body().items()},
        "criteria": [{"stage": "qualification", "name": "资质", "max_score": "3"}],
    }, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "criterion_pass_fail_scored"


def test_the_form_reads_one_criterion_per_line():
    from bidding.tenders.forms import TenderForm

    form = TenderForm()
    form.cleaned_data = {"criteria_text": "资格 | 营业执照\ntechnical | 方案 | 40 | Plan\n"}
    criteria = form.clean_criteria_text()
    assert [(c.stage, c.name, c.max_score, c.name_en) for c in criteria] == [
        ("qualification", "营业执照", None, ""), ("technical", "方案", Decimal("40"), "Plan")]


def _api_body():
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    return {
        "project_code": "FZ-API-2", "project_name": "接口", "title": "接口测试",
        "region": "350100", "category": "works_municipal", "estimate": "5000000.00",
        "max_price": "4900000.00", "bond_amount": "50000.00",
        "docs_from": now.isoformat(), "docs_until": (now + timedelta(days=7)).isoformat(),
        "deadline": (now + timedelta(days=25)).isoformat(),
        "evaluation_method": "comprehensive", "price_formula": "benchmark_deviation",
        "award_method": "first_ranked",
    }
