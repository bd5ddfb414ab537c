"""What supervision keeps: red flags (more flag kinds, cases and complaints arrive with
their issues). The audit viewer and verifier (views.py, api.py) read the audit chain."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Flag(models.Model):
    """A red flag on a tender: what was seen, the evidence, and a plain explanation."""

    class Kind(models.TextChoices):
        # A bid nobody could open although the custodians' key was rebuilt and checked:
        # its bidder sealed it so (selective opening attempt).
        UNOPENABLE_BID = "unopenable_bid", _("Bid sealed so that it cannot be opened")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    kind = models.CharField(max_length=40, choices=Kind.choices)
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
            models.UniqueConstraint(fields=["kind", "tender_id", "subjects"],
                                    name="one_flag_per_finding"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.tender_reference}"
