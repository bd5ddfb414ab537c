"""What supervision keeps: red flags (more flag kinds, cases and complaints arrive with
their issues). The audit viewer and verifier (views.py, api.py) read the audit chain."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Flag(models.Model):
    """A red flag on a tender: what was seen, the evidence, and a plain explanation."""

    class Kind(models.TextChoices):
        # A bid nobody could open although the custodians' key was rebuilt and checked:
        # its bidder sealed it so (selective opening attempt).
        UNOPENABLE_BID = "unopenable_bid", _("Bid sealed so that it cannot be opened")
        # A collusion screen fired on the tender's opened bids; ``screen`` holds its code
        # (supervision/screens, README "Supervision: collusion screens").
        SCREEN = "screen", _("Collusion screen")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    kind = models.CharField(max_length=40, choices=Kind.choices)
    screen = models.CharField(max_length=60, blank=True, default="")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    tender_id = models.BigIntegerField(db_index=True)
    tender_reference = models.CharField(max_length=40)
    # The organisations concerned, by credit code (supervision keeps no foreign keys into
    # the stages: it only reads them).
    subjects = models.JSONField(default=list)
    evidence = models.JSONField(default=dict)
    explanation_zh = models.TextField()
    explanation_en = models.TextField()
    raised_at = models.DateTimeField()

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # The same finding on the same tender is one flag, however often it is sent.
            models.UniqueConstraint(fields=["kind", "screen", "tender_id", "subjects"],
                                    name="one_flag_per_finding"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.tender_reference}"


class RiskScore(models.Model):
    """A tender's risk score for the supervisor's queue, recomputed after each opening.

    ``score`` is the unsupervised score (percentile ranks of the screen values over every
    screened tender, plus the flags' weight); ``learned_score`` is the learned model's
    probability once a model has been trained on supervisors' cases."""

    tender_id = models.BigIntegerField(unique=True)
    tender_reference = models.CharField(max_length=40)
    tender_title = models.CharField(max_length=300, blank=True)
    score = models.FloatField(default=0.5)
    learned_score = models.FloatField(null=True, blank=True)
    # The screens' values (price statistics, shares) the score ranks on, and the
    # announced prices the drill-down charts.
    features = models.JSONField(default=dict)
    prices = models.JSONField(default=list)
    max_price = models.FloatField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-score"]

    def __str__(self) -> str:
        return f"{self.tender_reference} · {self.score:.2f}"


class Case(models.Model):
    """A supervisor's case on a tender. Its outcome (confirmed or dismissed, with the
    reasons) is the label the learned risk score trains on."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", _("Collusion confirmed")
        DISMISSED = "dismissed", _("Dismissed")

    tender_id = models.BigIntegerField()
    tender_reference = models.CharField(max_length=40)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    opened_at = models.DateTimeField()
    note = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    reasons = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # One case per tender: its outcome is the tender's one label.
            models.UniqueConstraint(fields=["tender_id"], name="one_case_per_tender"),
        ]

    def __str__(self) -> str:
        return f"{self.tender_reference} · {self.outcome or 'open'}"


class RiskModel(models.Model):
    """One training run of the learned risk score (supervision.tasks.retrain_risk_model).
    ``path`` is the stored model (joblib); a run with too few labelled tenders records
    that, stores no model, and the queue keeps the unsupervised score."""

    class Status(models.TextChoices):
        TRAINED = "trained", _("Trained")
        TOO_FEW_LABELS = "too_few_labels", _("Too few labelled tenders")

    status = models.CharField(max_length=20, choices=Status.choices)
    trained_at = models.DateTimeField()
    labelled = models.PositiveIntegerField()
    confirmed = models.PositiveIntegerField()
    # Digest of the training input (labels and screen values): the same input is not
    # trained twice.
    digest = models.CharField(max_length=64)
    path = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.status} · {self.trained_at:%Y-%m-%d %H:%M}"
