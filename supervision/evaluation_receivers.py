"""Supervision listens to the evaluation: an outlying score becomes a flag (no stage
imports supervision; bidding.evaluation.signals.score_outlier_recorded is sent inside the
locking transaction)."""

from __future__ import annotations

from django.utils import timezone

from .models import Flag

SCREEN = "evaluation_outlier"


def flag_score_outlier(sender, *, outlier, **kwargs) -> None:
    """Record a member's outlying score for the supervisor: which member (by committee
    label and expert number), which bid (credit code) and criterion, how far off."""
    committee = outlier.committee
    tender = committee.tender
    member = outlier.member
    bidder = outlier.evaluated_bid.bid.bidder
    who = member.expert.code if member.expert_id else f"rep:{member.user_id}"
    criterion = outlier.criterion
    Flag.objects.get_or_create(
        kind=Flag.Kind.SCREEN, screen=SCREEN, tender_id=tender.pk,
        subjects=[bidder.credit_code, f"expert:{who}", f"criterion:{criterion.number}"],
        defaults={
            "severity": Flag.Severity.LOW,
            "tender_reference": tender.reference,
            "evidence": {"member": member.label, "expert": who, "criterion": criterion.number,
                         "criterion_name": criterion.name, "bid_code": outlier.evaluated_bid.code,
                         "value": str(outlier.value), "others_mean": str(outlier.others_mean),
                         "deviation": str(outlier.deviation),
                         "threshold": str(outlier.threshold)},
            "explanation_zh": (
                f"评标委员 {member.label} 对 {bidder.name}（编号 {outlier.evaluated_bid.code}）"
                f"第 {criterion.number} 项“{criterion.name}”打分 {outlier.value}，其他委员平均 "
                f"{outlier.others_mean}，偏离 {outlier.deviation} 分，超过该项满分的阈值 "
                f"{outlier.threshold} 分。"),
            "explanation_en": (
                f"Member {member.label} scored {outlier.value} for {bidder.name} (code "
                f"{outlier.evaluated_bid.code}) on criterion {criterion.number}; the other "
                f"members averaged {outlier.others_mean}, a deviation of {outlier.deviation} "
                f"points, above the threshold of {outlier.threshold}."),
            "raised_at": timezone.now(),
        },
    )
