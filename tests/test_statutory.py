"""Each statutory rule, at and around its boundary."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core import statutory

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_every_rule_names_its_source():
    for name, rule in statutory.RULES.items():
        assert rule.source, name


def test_deadline_exactly_20_days_after_issue_is_allowed():
    statutory.check_deadline_at_publication(
        now=NOW, docs_from=NOW, deadline=NOW + timedelta(days=20)
    )


def test_deadline_less_than_20_days_after_issue_is_refused():
    with pytest.raises(ValidationError) as exc:
        statutory.check_deadline_at_publication(
            now=NOW, docs_from=NOW, deadline=NOW + timedelta(days=20) - timedelta(minutes=1)
        )
    assert "20" in exc.value.message_dict["deadline"][0]
    assert "Law 24" in exc.value.message_dict["deadline"][0]


def test_deadline_in_the_past_is_refused():
    with pytest.raises(ValidationError) as exc:
        statutory.check_deadline_at_publication(
            now=NOW, docs_from=NOW - timedelta(days=30), deadline=NOW - timedelta(seconds=1)
        )
    assert exc.value.error_dict["deadline"][0].code == "deadline_past"


def test_20_days_count_from_later_document_issue():
    with pytest.raises(ValidationError):
        statutory.check_deadline_at_publication(
            now=NOW, docs_from=NOW + timedelta(days=3), deadline=NOW + timedelta(days=22)
        )


def test_documents_obtainable_for_5_days_is_allowed_and_less_is_refused():
    statutory.check_documents_period(
        docs_from=NOW, docs_until=NOW + timedelta(days=5), deadline=NOW + timedelta(days=20)
    )
    with pytest.raises(ValidationError) as exc:
        statutory.check_documents_period(
            docs_from=NOW, docs_until=NOW + timedelta(days=5) - timedelta(seconds=1),
            deadline=NOW + timedelta(days=20),
        )
    assert "Reg 16" in exc.value.message_dict["docs_until"][0]


def test_documents_obtainable_after_the_deadline_is_refused():
    with pytest.raises(ValidationError):
        statutory.check_documents_period(
            docs_from=NOW, docs_until=NOW + timedelta(days=21), deadline=NOW + timedelta(days=20)
        )


def test_bond_at_2_percent_is_allowed_and_above_is_refused():
    statutory.check_bond(estimate=Decimal("1000000"), bond=Decimal("20000"))
    with pytest.raises(ValidationError) as exc:
        statutory.check_bond(estimate=Decimal("1000000"), bond=Decimal("20000.01"))
    assert "20,000.00" in exc.value.message_dict["bond_amount"][0]


def test_bond_is_capped_at_the_absolute_local_limit():
    assert statutory.bond_cap(Decimal("100000000")) == Decimal("800000")
    with pytest.raises(ValidationError):
        statutory.check_bond(estimate=Decimal("100000000"), bond=Decimal("800000.01"))


def test_local_bond_cap_comes_from_settings(settings):
    settings.STATUTORY_OVERRIDES = {"BOND_MAX_ABSOLUTE": "500000"}
    assert statutory.bond_cap(Decimal("100000000")) == Decimal("500000")


def test_non_local_rules_cannot_be_overridden(settings):
    settings.STATUTORY_OVERRIDES = {"DOCS_TO_DEADLINE_MIN_DAYS": 1}
    assert statutory.value("DOCS_TO_DEADLINE_MIN_DAYS") == 20


def test_opening_time_must_equal_the_deadline():
    statutory.check_opening_time(deadline=NOW, opening_time=NOW)
    statutory.check_opening_time(deadline=NOW, opening_time=None)
    with pytest.raises(ValidationError) as exc:
        statutory.check_opening_time(deadline=NOW, opening_time=NOW + timedelta(hours=1))
    assert "Law 34" in exc.value.message_dict["opening_time"][0]


def test_amendment_16_days_before_the_deadline_keeps_it():
    result = statutory.amendment_deadline(now=NOW, deadline=NOW + timedelta(days=16))
    assert not result.moved and result.deadline == NOW + timedelta(days=16)


def test_amendment_exactly_15_days_before_the_deadline_keeps_it():
    result = statutory.amendment_deadline(now=NOW, deadline=NOW + timedelta(days=15))
    assert not result.moved


def test_amendment_less_than_15_days_before_moves_the_deadline_to_15_days_after_it():
    result = statutory.amendment_deadline(now=NOW, deadline=NOW + timedelta(days=10))
    assert result.moved and result.deadline == NOW + timedelta(days=15)


def test_amendment_may_ask_for_a_later_deadline_but_not_too_early_one():
    later = statutory.amendment_deadline(
        now=NOW, deadline=NOW + timedelta(days=10), requested=NOW + timedelta(days=30)
    )
    assert later.deadline == NOW + timedelta(days=30)
    too_early = statutory.amendment_deadline(
        now=NOW, deadline=NOW + timedelta(days=10), requested=NOW + timedelta(days=12)
    )
    assert too_early.deadline == NOW + timedelta(days=15)


def test_amendment_cannot_bring_the_deadline_forward():
    with pytest.raises(ValidationError):
        statutory.amendment_deadline(
            now=NOW, deadline=NOW + timedelta(days=20), requested=NOW + timedelta(days=18)
        )


def test_amendment_at_or_after_the_deadline_is_refused():
    with pytest.raises(ValidationError) as exc:
        statutory.amendment_deadline(now=NOW, deadline=NOW)
    assert exc.value.error_dict["__all__"][0].code == "amendment_after_deadline"


def test_prequalification_amendments_need_3_days():
    result = statutory.amendment_deadline(
        now=NOW, deadline=NOW + timedelta(days=2), prequalification=True
    )
    assert result.deadline == NOW + timedelta(days=3)
