"""Working-day arithmetic over the holiday calendar with adjusted weekends (调休)."""

from datetime import date

import chinese_calendar
import pytest
from django.core.management import call_command

from core import workdays
from core.models import CalendarDay, CalendarYear, Source
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_calendar_agrees_with_chinese_calendar_around_national_day_2025_and_2026():
    for d in (date(2025, 9, 27), date(2025, 9, 28), date(2025, 10, 1), date(2025, 10, 6),
              date(2025, 10, 8), date(2025, 10, 9), date(2025, 10, 11), date(2026, 9, 20),
              date(2026, 9, 25), date(2026, 10, 1), date(2026, 10, 7), date(2026, 10, 8),
              date(2026, 10, 10)):
        assert workdays.is_working_day(d) == chinese_calendar.is_workday(d), d


def test_the_sunday_before_national_day_2025_is_a_working_day():
    assert date(2025, 9, 28).weekday() == 6
    assert workdays.is_working_day(date(2025, 9, 28))
    assert workdays.add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)


def test_counting_jumps_the_2025_national_day_and_mid_autumn_holiday():
    # 30 September: the next working day is 9 October; the third is Saturday 11 October (调休).
    assert workdays.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert workdays.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)
    assert date(2025, 10, 11).weekday() == 5
    assert workdays.working_days_between(date(2025, 9, 30), date(2025, 10, 12)) == 3


def test_counting_jumps_mid_autumn_and_national_day_2026_with_their_adjusted_weekends():
    # Mid-Autumn Friday 25 September 2026 is off; Sunday 20 September is worked.
    assert not workdays.is_working_day(date(2026, 9, 25))
    assert workdays.is_working_day(date(2026, 9, 20))
    assert workdays.add_working_days(date(2026, 9, 24), 1) == date(2026, 9, 28)
    # 30 September: 1-7 October off, Thursday 8, Friday 9, Saturday 10 (调休) worked.
    assert workdays.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    # After Friday 18 September: Sun 20, 21-24, 28-30, 8-10 October, Monday 12 October.
    assert workdays.working_days_between(date(2026, 9, 18), date(2026, 10, 12)) == 12


def test_add_and_between_are_inverse():
    start = date(2025, 9, 15)
    for n in (1, 3, 10, 30):
        end = workdays.add_working_days(start, n)
        assert workdays.working_days_between(start, end) == n
        assert workdays.is_working_day(end)


def test_a_year_the_package_does_not_know_is_refused_naming_the_year():
    assert 2031 not in workdays.package_years()
    with pytest.raises(workdays.CalendarUndefined) as exc:
        workdays.is_working_day(date(2031, 3, 3))
    assert exc.value.year == 2031
    assert "2031" in exc.value.messages[0]
    assert exc.value.error_dict["__all__"][0].code == "calendar_undefined"


def test_counting_into_an_undefined_year_is_refused_not_guessed_from_weekends():
    last = max(workdays.package_years())
    with pytest.raises(workdays.CalendarUndefined) as exc:
        workdays.add_working_days(date(last, 12, 28), 10)
    assert exc.value.year == last + 1
    with pytest.raises(workdays.CalendarUndefined):
        workdays.working_days_between(date(last, 12, 28), date(last + 1, 1, 20))


def test_an_operator_defines_an_unknown_year_and_then_it_counts():
    operator = factories.operator()
    year = max(workdays.package_years()) + 1
    workdays.set_day(day=date(year, 1, 1), is_working_day=False, note="元旦", user=operator)
    with pytest.raises(workdays.CalendarUndefined):
        workdays.is_working_day(date(year, 1, 4))
    workdays.define_year(year=year, user=operator)
    assert not workdays.is_working_day(date(year, 1, 1))
    assert workdays.is_working_day(date(year, 1, 4)) == (date(year, 1, 4).weekday() < 5)
    assert workdays.add_working_days(date(year, 1, 1), 1) == min(
        d for d in (date(year, 1, k) for k in range(2, 9)) if d.weekday() < 5)


def test_an_operator_edit_overrides_the_package_and_survives_reseeding():
    operator = factories.operator()
    # Make a normal Monday a holiday and a normal Saturday a working day.
    workdays.set_day(day=date(2025, 11, 17), is_working_day=False, note="local holiday",
                     user=operator)
    workdays.set_day(day=date(2025, 11, 22), is_working_day=True, note="调休", user=operator)
    call_command("calendar_seed", "--year", "2025")
    assert not workdays.is_working_day(date(2025, 11, 17))
    assert workdays.is_working_day(date(2025, 11, 22))
    assert CalendarDay.objects.get(date=date(2025, 11, 17)).source == Source.OPERATOR
    # Clearing the edit restores the package's (here: plain Monday) status.
    assert workdays.clear_day(day=date(2025, 11, 17))
    assert workdays.is_working_day(date(2025, 11, 17))


def test_calendar_seed_writes_the_package_years_once(capsys):
    call_command("calendar_seed", "--year", "2026")
    n = CalendarDay.objects.filter(date__year=2026, source=Source.PACKAGE).count()
    assert n == len(workdays.package_days(2026)) and n > 20
    assert CalendarYear.objects.get(year=2026).source == Source.PACKAGE
    call_command("calendar_seed", "--year", "2026")
    assert "already seeded" in capsys.readouterr().out
    assert CalendarDay.objects.filter(date__year=2026).count() == n


def test_calendar_seed_refuses_a_year_the_package_does_not_know():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="2031"):
        call_command("calendar_seed", "--year", "2031")


def test_first_use_seeds_the_year_lazily():
    assert not CalendarYear.objects.filter(year=2024).exists()
    workdays.is_working_day(date(2024, 10, 1))
    assert CalendarYear.objects.filter(year=2024).exists()
    assert not workdays.is_working_day(date(2024, 10, 1))
