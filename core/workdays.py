"""Working days (工作日): Monday to Friday, minus public holidays, plus adjusted working
weekends (调休), from a calendar operators maintain.

Where a day's status comes from, in order:

1. a ``core.models.CalendarDay`` row (an operator's edit, or the package's seed);
2. for a year that is defined (``CalendarYear``), Monday to Friday;
3. a year the ``chinesecalendar`` package knows is seeded into the database on first use
   (or by ``manage.py calendar_seed``) and then read as above;
4. any other year is refused with ``CalendarUndefined`` naming the year: a deadline is
   never guessed from weekends alone, since the State Council publishes each year's
   holidays and 调休 only late in the year before.

Counting follows the Chinese convention that a period starts the day after the event
(the day of the event is not counted): ``add_working_days(d, 3)`` is the third working
day after ``d``; ``working_days_between(a, b)`` counts the working days in ``(a, b]``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import CalendarDay, CalendarYear, Source  # noqa: F401  (CalendarYear re-exported)

# add_working_days never looks further than this many calendar days ahead.
_HORIZON_DAYS = 3660


class CalendarUndefined(ValidationError):
    """A computation reached a year that nobody has defined."""

    def __init__(self, year: int):
        self.year = year
        super().__init__({"__all__": ValidationError(
            _("The working-day calendar for %(year)s is not defined: the chinesecalendar "
              "package does not know that year and no operator has defined it. The trading "
              "centre must enter its public holidays and adjusted working days (调休) "
              "first.") % {"year": year},
            code="calendar_undefined")})


def package_years() -> set[int]:
    """The years the installed ``chinesecalendar`` package has data for."""
    try:
        import chinese_calendar
    except ImportError:  # pragma: no cover - pinned in requirements
        return set()
    return {d.year for d in chinese_calendar.holidays} | {
        d.year for d in chinese_calendar.workdays}


def package_days(year: int) -> list[tuple[date, bool, str]]:
    """The exceptions the package lists for ``year``: (date, working?, note)."""
    import chinese_calendar

    out = []
    for d, name in chinese_calendar.holidays.items():
        if d.year == year:
            out.append((d, False, str(name or "")))
    for d, name in chinese_calendar.workdays.items():
        if d.year == year and d.weekday() >= 5:
            out.append((d, True, f"调休 {name}" if name else "调休"))
    return sorted(out)


def seed_year(year: int) -> int:
    """Write the package's days for ``year`` (never over an operator's edit) and mark
    the year defined. Returns the number of days written; 0 if already seeded."""
    if year not in package_years():
        raise CalendarUndefined(year)
    with transaction.atomic():
        if CalendarYear.objects.filter(year=year).exists():
            return 0
        edited = set(CalendarDay.objects.filter(
            date__year=year, source=Source.OPERATOR).values_list("date", flat=True))
        rows = [CalendarDay(date=d, is_working_day=w, note=n[:200], source=Source.PACKAGE)
                for d, w, n in package_days(year) if d not in edited]
        CalendarDay.objects.bulk_create(rows, ignore_conflicts=True)
        try:
            with transaction.atomic():
                CalendarYear.objects.create(year=year, source=Source.PACKAGE,
                                            note="chinesecalendar")
        except IntegrityError:  # another process seeded it at the same time
            return 0
    return len(rows)


def seed_all() -> dict[int, int]:
    return {year: seed_year(year) for year in sorted(package_years())}


def _ensure_years(years) -> None:
    years = set(years)
    defined = set(CalendarYear.objects.filter(year__in=years).values_list("year", flat=True))
    for year in sorted(years - defined):
        seed_year(year)  # raises CalendarUndefined for a year the package does not know


class _Calendar:
    """The days of some years, loaded once, for counting over a range."""

    def __init__(self, first: date, last: date):
        _ensure_years(range(first.year, last.year + 1))
        self.first, self.last = first, last
        self.days = dict(CalendarDay.objects.filter(
            date__year__gte=first.year, date__year__lte=last.year,
        ).values_list("date", "is_working_day"))

    def working(self, d: date) -> bool:
        if not (self.first.year <= d.year <= self.last.year):
            raise CalendarUndefined(d.year)  # callers load the years they walk
        if d in self.days:
            return self.days[d]
        return d.weekday() < 5


def _as_date(d) -> date:
    if isinstance(d, datetime):
        return timezone.localdate(d) if timezone.is_aware(d) else d.date()
    return d


def is_working_day(d) -> bool:
    d = _as_date(d)
    return _Calendar(d, d).working(d)


def add_working_days(start, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself not counted); for
    ``n == 0``, ``start``. Refuses (``CalendarUndefined``) on reaching an undefined year."""
    start = _as_date(start)
    if n < 0:
        raise ValueError("n must not be negative")
    if n == 0:
        return start
    year_end = start.year
    cal = _Calendar(start, date(year_end, 12, 31))
    d, counted = start, 0
    for _i in range(_HORIZON_DAYS):
        d += timedelta(days=1)
        if d.year > cal.last.year:
            cal = _Calendar(start, date(d.year, 12, 31))
        if cal.working(d):
            counted += 1
            if counted == n:
                return d
    raise ValueError("working-day horizon exceeded")


def working_days_between(a, b) -> int:
    """The number of working days after ``a`` up to and including ``b`` (0 if b <= a)."""
    a, b = _as_date(a), _as_date(b)
    if b <= a:
        return 0
    cal = _Calendar(a + timedelta(days=1), b)
    count, d = 0, a
    while d < b:
        d += timedelta(days=1)
        count += cal.working(d)
    return count


def year_days(year: int) -> list[CalendarDay]:
    return list(CalendarDay.objects.filter(date__year=year).select_related("edited_by"))


def year_defined(year: int) -> CalendarYear | None:
    year_row = CalendarYear.objects.filter(year=year).first()
    if year_row is None and year in package_years():
        seed_year(year)
        year_row = CalendarYear.objects.filter(year=year).first()
    return year_row


def set_day(*, day: date, is_working_day: bool, note: str, user, now=None) -> CalendarDay:
    """An operator's entry for one day (replaces the package's for that day)."""
    now = now or timezone.now()
    row, _created = CalendarDay.objects.update_or_create(
        date=day, defaults={"is_working_day": is_working_day, "note": (note or "")[:200],
                            "source": Source.OPERATOR, "edited_by": user, "edited_at": now})
    return row


def clear_day(*, day: date) -> bool:
    """Remove an operator's entry; the day follows the package (re-seeded) or Mon-Fri."""
    deleted, _x = CalendarDay.objects.filter(date=day, source=Source.OPERATOR).delete()
    if deleted and day.year in package_years():
        for d, w, n in package_days(day.year):
            if d == day:
                CalendarDay.objects.create(date=d, is_working_day=w, note=n[:200],
                                           source=Source.PACKAGE)
    return bool(deleted)


def define_year(*, year: int, user, note: str = "", now=None) -> CalendarYear:
    """An operator declares ``year`` complete: its holidays and 调休 are entered, every
    other day follows Monday to Friday."""
    now = now or timezone.now()
    row, _created = CalendarYear.objects.get_or_create(
        year=year, defaults={"source": Source.OPERATOR, "defined_by": user,
                             "defined_at": now, "note": (note or "")[:200]})
    return row
