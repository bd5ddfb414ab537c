"""The core's tables: the working-day calendar (core/workdays.py), and the shape every
objection (异议) shares, whichever stage it is raised in.

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


class AnsweredText(models.Model):
    """An objection (异议) raised in writing and answered in writing by a deadline: the
    fields and the rule every stage's objections share (the documents, Reg 22; the
    candidates, Reg 54). Each stage adds who may raise it and on what."""

    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    text = models.TextField(_("objection"))
    raised_at = models.DateTimeField()
    answer_due = models.DateTimeField()
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # Set by the clock once the answer is overdue (the answerer is reminded once).
    overdue_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_open(self) -> bool:
        return self.answered_at is None
