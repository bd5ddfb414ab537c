"""The core's only tables: the working-day calendar (core/workdays.py).

A year is usable once it is *defined*: seeded from the ``chinesecalendar`` package for
the years that package knows, or declared complete by an operator for a year it does
not. ``CalendarDay`` rows are the exceptions to Monday-to-Friday: public holidays
(including the weekend days inside a holiday run) and adjusted working weekends (调休).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    PACKAGE = "package", _("chinesecalendar package")
    OPERATOR = "operator", _("Operator")


class CalendarDay(models.Model):
    """One day that is not what Monday-to-Friday says, or that an operator set."""

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+", null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "core_calendar_day"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'work' if self.is_working_day else 'off'}"


class CalendarYear(models.Model):
    """A year whose calendar is complete: days without a row follow Monday-to-Friday."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    defined_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)
    defined_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        db_table = "core_calendar_year"
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)
