"""The operators' edits of the working-day calendar (core.workdays), audited."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from core import workdays
from core.refusals import refuse

from . import policies

YEAR_MIN, YEAR_MAX = 2000, 2100


def check_year(year) -> int:
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise refuse("year", _("Give a year."), "invalid_year") from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise refuse("year", _("The year must be between %(a)s and %(b)s.") % {
            "a": YEAR_MIN, "b": YEAR_MAX}, "invalid_year")
    return year


def parse_day(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        raise refuse("date", _("Give the date as YYYY-MM-DD."), "invalid_date") from None


@transaction.atomic
def set_day(*, user, day, is_working_day: bool, note: str = "", now=None):
    policies.require_operator(user)
    day = parse_day(day)
    check_year(day.year)
    note = str(note or "").strip()
    if "\x00" in note:
        raise refuse("note", _("The text contains a NUL character."), "nul_byte")
    row = workdays.set_day(day=day, is_working_day=bool(is_working_day), note=note, user=user,
                           now=now or timezone.now())
    audit_record(actor=user, action="calendar.day_set", obj=row, payload={
        "date": day.isoformat(), "working": row.is_working_day, "note": row.note},
        summary=f"calendar {day.isoformat()}: {'working' if row.is_working_day else 'off'}")
    return row


@transaction.atomic
def clear_day(*, user, day) -> bool:
    policies.require_operator(user)
    day = parse_day(day)
    cleared = workdays.clear_day(day=day)
    if not cleared:
        raise refuse("date", _("No operator entry for that day."), "not_found")
    audit_record(actor=user, action="calendar.day_cleared", object_type="core.calendarday",
                 object_id=day.isoformat(), payload={"date": day.isoformat()},
                 summary=f"calendar {day.isoformat()}: operator entry removed")
    return True


@transaction.atomic
def define_year(*, user, year, note: str = "", now=None):
    policies.require_operator(user)
    year = check_year(year)
    existing = workdays.year_defined(year) if year in workdays.package_years() else None
    if existing is not None or workdays.CalendarYear.objects.filter(year=year).exists():
        raise refuse("year", _("The calendar for %(year)s is already defined.") % {
            "year": year}, "already_defined")
    row = workdays.define_year(year=year, user=user, note=str(note or "")[:200],
                               now=now or timezone.now())
    audit_record(actor=user, action="calendar.year_defined", obj=row,
                 payload={"year": year, "days": [
                     (d.date.isoformat(), d.is_working_day) for d in workdays.year_days(year)]},
                 summary=f"calendar {year} defined")
    return row


def year_view(year: int) -> dict:
    """A year for the editor: whether it is defined and by whom, and its exceptions."""
    row = workdays.year_defined(year)
    return {
        "year": year,
        "defined": row is not None,
        "source": row.source if row else None,
        "known_to_package": year in workdays.package_years(),
        "days": [{"date": d.date.isoformat(), "is_working_day": d.is_working_day,
                  "weekday": d.date.isoweekday(), "note": d.note, "source": d.source,
                  "edited_by": str(d.edited_by) if d.edited_by else None}
                 for d in workdays.year_days(year)],
    }
