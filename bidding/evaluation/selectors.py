"""Reads on the evaluation that later stages (the award) and supervision use."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bidding.bids.models import Bid
from bidding.tenders.models import Tender

from .models import EvaluationReport


@dataclass(frozen=True)
class Candidate:
    bid: Bid
    rank: int | None  # None when the tender declared unranked candidates
    score: Decimal | None  # None under the lowest evaluated price method
    price: Decimal


def recommended_candidates(tender: Tender) -> list[Candidate]:
    """The candidates of the tender's completed evaluation report, in the report's order;
    empty while no report stands."""
    report = EvaluationReport.objects.filter(tender=tender, completed_at__isnull=False).first()
    if report is None:
        return []
    bids = {str(b.public_id): b for b in Bid.objects.filter(
        tender=tender, public_id__in=[c["bid"] for c in report.candidates]
    ).select_related("bidder")}
    return [
        Candidate(
            bid=bids[row["bid"]],
            rank=row.get("rank"),
            score=Decimal(row["score"]) if row.get("score") is not None else None,
            price=Decimal(row["price"]),
        )
        for row in report.candidates
    ]
