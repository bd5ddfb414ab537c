"""expert_pool.services.expert_rate: a Rating row, the expert's average, refusals."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from expert_pool.models import Expert, Rating
from expert_pool.services import expert_rate

pytestmark = pytest.mark.django_db


def _expert():
    return Expert.objects.create(code="E900001", name="专家", title=Expert.Title.SENIOR,
                                 years_experience=10, region="350100",
                                 status=Expert.Status.ACTIVE)


def test_rating_is_recorded_and_the_average_updated():
    ex = _expert()
    expert_rate(expert=ex, score=4, comment="好")
    expert_rate(expert=ex, score=1, comment="差")
    ex.refresh_from_db()
    assert Rating.objects.filter(expert=ex).count() == 2
    assert ex.rating == Decimal("2.50")


@pytest.mark.parametrize("score", [0, 6, "3"])
def test_a_rating_outside_1_to_5_is_refused(score):
    with pytest.raises(ValidationError):
        expert_rate(expert=_expert(), score=score)
