"""Publication refuses price formula parameters the evaluation could not use, instead of
letting the committee find out after the opening."""

from decimal import Decimal

import pytest

from bidding.evaluation import formulas
from bidding.tenders import services
from bidding.tenders.lifecycle import TransitionNotAllowed
from bidding.tenders.models import Tender
from tests import factories

pytestmark = pytest.mark.django_db


def _publish(**overrides):
    tender = factories.draft_tender(**overrides)
    return services.tender_publish(user=tender.created_by, tender=tender)


@pytest.mark.parametrize("params, words", [
    ({"full_score": "30", "k_above": "-1", "k_below": "0.8"}, "k_above"),
    ({"full_score": "30", "k_above": "abc", "k_below": "0.8"}, "k_above"),
    ({"full_score": "30", "k_above": "1.2", "k_below": "0.8", "kabove": "1"}, "kabove"),
])
def test_publication_refuses_parameters_the_price_formula_cannot_read(params, words):
    with pytest.raises(TransitionNotAllowed) as exc:
        _publish(price_formula_params=params)
    assert exc.value.guarded and words in str(exc.value)
    assert Tender.objects.get().status == Tender.Status.DRAFT


def test_a_tender_with_usable_parameters_publishes():
    assert _publish().status == Tender.Status.PUBLISHED


def test_the_lowest_price_method_is_checked_with_its_own_formula():
    assert formulas.formula_for("lowest_price", "lowest_full_marks") == formulas.LOWEST_EVALUATED
    formulas.check_declared(evaluation_method="lowest_price", price_formula="lowest_full_marks",
                            params={}, max_price=Decimal("100"))
    with pytest.raises(Exception, match="adjustments"):
        formulas.check_declared(evaluation_method="lowest_price",
                                price_formula="lowest_full_marks",
                                params={"adjustments": "nonsense"}, max_price=Decimal("100"))
