"""Objections (异议) and complaints (投诉), Reg 22, 44, 54, 60-62.

Objections to the opening (Reg 44) are recorded in the hall (``bidding.opening``) and
objections to the candidates (Reg 54) during publicity (``bidding.award``); a complaint
about those matters points at those records. Objections to the tender documents
(Reg 22) are kept here. Deadlines are dates counted in working days (core.workdays).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from core.models import AnsweredText


class Matter(models.TextChoices):
    # Reg 22: the tender (or prequalification) documents.
    DOCUMENTS = "documents", _("Tender documents (Reg 22)")
    # Reg 44: the opening.
    OPENING = "opening", _("Bid opening (Reg 44)")
    # Reg 54: the evaluation result (the candidates in publicity).
    EVALUATION = "evaluation", _("Evaluation result (Reg 54)")
    # Anything else that breaks the law: no objection needed first (Reg 60).
    OTHER = "other", _("Other breach of the law or regulations")


class Objection(AnsweredText):
    """An objection to the tender documents (Reg 22), raised with the tenderer."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tender = models.ForeignKey("tenders.Tender", on_delete=models.PROTECT,
                               related_name="document_objections")
    party = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "complaints_objection"
        ordering = ["-raised_at", "-pk"]


class Complaint(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("Received, acceptance pending")
        ACCEPTED = "accepted", _("Accepted, under review")
        REJECTED = "rejected", _("Not accepted")
        DECIDED = "decided", _("Decided")

    class Outcome(models.TextChoices):
        UPHELD = "upheld", _("Upheld")
        PARTLY_UPHELD = "partly_upheld", _("Partly upheld")
        DISMISSED = "dismissed", _("Dismissed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tender = models.ForeignKey("tenders.Tender", on_delete=models.PROTECT,
                               related_name="complaints")
    complainant = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    matter = models.CharField(_("matter"), max_length=20, choices=Matter.choices)
    text = models.TextField(_("facts and grounds"))
    requests = models.TextField(_("what you ask for"), blank=True)
    knew_on = models.DateField(_("day you knew or should have known"))
    filed_at = models.DateTimeField()
    # The objection that came first (one of the three, by matter).
    document_objection = models.ForeignKey(Objection, on_delete=models.PROTECT,
                                           related_name="complaints", null=True, blank=True)
    opening_objection = models.ForeignKey("opening.Objection", on_delete=models.PROTECT,
                                          related_name="+", null=True, blank=True)
    award_objection = models.ForeignKey("award.Objection", on_delete=models.PROTECT,
                                        related_name="+", null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    # Deadlines (dates, end of day, Asia/Shanghai) in working days; None while the
    # calendar for a year they reach is not defined (calendar_gap names it).
    accept_due = models.DateField(null=True, blank=True)
    decide_due = models.DateField(null=True, blank=True)
    calendar_gap = models.PositiveSmallIntegerField(null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    decision = models.TextField(_("decision"), blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    letter = models.FileField(upload_to="complaints/letters/", blank=True)
    letter_sha256 = models.CharField(max_length=64, blank=True)
    # Reminders and overdue marks set by the clock (once each).
    accept_reminded_at = models.DateTimeField(null=True, blank=True)
    accept_overdue_since = models.DateTimeField(null=True, blank=True)
    decide_reminded_at = models.DateTimeField(null=True, blank=True)
    decide_overdue_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "complaints_complaint"
        ordering = ["-filed_at", "-pk"]

    def __str__(self) -> str:
        return f"complaint {self.pk} on {self.tender.reference}"

    @property
    def open_pause(self):
        return self.pauses.filter(ended_at__isnull=True).first()

    @property
    def objection(self):
        return self.document_objection or self.opening_objection or self.award_objection


class Evidence(models.Model):
    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="evidence")
    file = models.FileField(upload_to="complaints/evidence/")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        db_table = "complaints_evidence"
        ordering = ["uploaded_at", "pk"]


class Pause(models.Model):
    """The decision clock stopped for expert review or testing (Reg 61)."""

    class Reason(models.TextChoices):
        EXPERT_REVIEW = "expert_review", _("Expert review")
        TESTING = "testing", _("Testing or inspection")

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="pauses")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(blank=True)
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+", null=True, blank=True)
    # Working days the decision deadline moved by (set when the pause ends).
    working_days = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "complaints_pause"
        ordering = ["started_at", "pk"]
        constraints = [models.UniqueConstraint(
            fields=["complaint"], condition=models.Q(ended_at__isnull=True),
            name="one_open_pause_per_complaint")]


class Suspension(models.Model):
    """The tender suspended while the complaint is handled (Reg 62), and resumed."""

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT,
                                  related_name="suspensions")
    suspended_at = models.DateTimeField()
    suspended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    reason = models.TextField()
    from_status = models.CharField(max_length=20)
    resumed_at = models.DateTimeField(null=True, blank=True)
    resumed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)

    class Meta:
        db_table = "complaints_suspension"
        ordering = ["suspended_at", "pk"]
