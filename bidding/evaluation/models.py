"""The evaluation (评标): the committee's work on one tender and its report.

The report's candidate list is what the award stage reads (``selectors.recommended_candidates``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from bidding.tenders.models import Tender


class EvaluationReport(models.Model):
    """The committee's report: scores, rejections, dissent and the candidates (Reg 53)."""

    tender = models.OneToOneField(Tender, on_delete=models.PROTECT,
                                  related_name="evaluation_report")
    # [{"bid": Bid.public_id, "rank": 1.. or null when unranked, "score": "87.50" or null,
    #   "price": "1234567.00"}] in the report's order; at most 3 (Reg 53).
    candidates = models.JSONField(default=list)
    # When the last member signed (or was deemed to agree, Reg 53): the report stands.
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        db_table = "evaluation_report"

    def __str__(self) -> str:
        return f"evaluation report of {self.tender.reference}"
