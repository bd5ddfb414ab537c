"""The expert screens on the platform (supervision/screens/experts.py): experts drawn
again and again for the same tenderer (over the draws) and one expert systematically
favouring one bidder (over the evaluations' scores).

Both look at the whole platform, so each run replaces every flag of these two screens
(idempotent) and rescores the queue. A finding about a pair (expert and tenderer, or
expert and bidder) is one flag on each tender concerned: the pair is the flag's
subjects (the organisation's credit code and ``expert:<code>``).

When it runs: when a tender reaches ``candidates`` (its evaluation completed), from a
lifecycle hook registered in ``supervision/apps.py``, queued as the Celery task
``supervision.tasks.screen_experts`` once the move commits. One committee whose scores
cannot be read is logged and left out; the others are screened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .models import Flag

log = logging.getLogger(__name__)

REPEAT = "expert_repeat_tenderer"
FAVOUR = "expert_favouritism"
CODES = (REPEAT, FAVOUR)


@dataclass
class ExpertReport:
    """What a run did: scores and seats read, flags written, committees that failed."""

    scores: int = 0
    seats: int = 0
    flags: int = 0
    failed: list = field(default_factory=list)


def _evaluated_committees() -> list[int]:
    from bidding.evaluation.selectors import committees_with_locked_scores

    return committees_with_locked_scores()


def platform_score_rows(report: ExpertReport | None = None) -> list[dict]:
    """Every evaluated committee's scores (screens.experts.score_rows), read committee by
    committee: one that cannot be read is logged and skipped."""
    from .screens.experts import score_rows

    rows: list[dict] = []
    for committee_id in _evaluated_committees():
        try:
            rows += score_rows([committee_id])
        except Exception:  # noqa: BLE001 - one unreadable committee must not stop the rest
            log.exception("reading committee %s for the expert screens failed", committee_id)
            if report is not None:
                report.failed.append(committee_id)
    return rows


def _flags_for_repeat(result, seat_rows: list[dict]) -> list[dict]:
    ids = {r["tender"]: r.get("tender_id") for r in seat_rows}
    out = []
    for pair in result.evidence.get("pairs", []):
        others = {k: v for k, v in result.evidence.items() if k != "pairs"}
        for ref in pair["tenders"]:
            if ids.get(ref) is None:
                continue
            out.append({"tender": ids[ref], "reference": ref,
                        "subjects": [str(pair["tenderer"]), f"expert:{pair['expert']}"],
                        "evidence": {**others, **pair},
                        "zh": (f"专家 {pair['expert']} 在 {result.evidence['window_days']} 天内"
                               f"被抽中为招标人 {pair['tenderer']} 的 {pair['count']} 个项目评标"
                               f"（阈值 {result.evidence['threshold']:.1f} 次），本项目是其中之一："
                               f"{', '.join(pair['tenders'])}。"),
                        "en": (f"Expert {pair['expert']} was drawn for {pair['count']} tenders "
                               f"of tenderer {pair['tenderer']} within "
                               f"{result.evidence['window_days']} days (threshold "
                               f"{result.evidence['threshold']:.1f}), this one among them: "
                               f"{', '.join(pair['tenders'])}.")})
    return out


def _flags_for_favour(result) -> list[dict]:
    out = []
    rule = {k: v for k, v in result.evidence.items() if k != "pairs"}
    for pair in result.evidence.get("pairs", []):
        refs = ", ".join(t["tender_reference"] for t in pair["tenders"])
        for t in pair["tenders"]:
            out.append({
                "tender": t["tender"], "reference": t["tender_reference"],
                "subjects": [str(pair["bidder"]), f"expert:{pair['expert']}"],
                "evidence": {**rule, **pair, "this_tender": t},
                "zh": (f"专家 {pair['expert']} 在 {pair['support']} 个项目（{refs}）中给 "
                       f"{pair['bidder_name']} 打分系统性偏高：比同一委员会其他委员对同一投标、"
                       f"同一评审因素的平均分，扣除其对其他投标人的一贯宽严后，平均高出满分的 "
                       f"{pair['effect']:.0%}（置换检验 p={pair['p_value']:.4f}）。本项目中偏高 "
                       f"{t['favour']:.0%}，各评审因素的分数见证据。"),
                "en": (f"Expert {pair['expert']} scored {pair['bidder_name']} systematically "
                       f"higher in {pair['support']} tenders ({refs}): above the other "
                       f"members' mean on the same bid and criterion, net of the expert's "
                       f"usual leniency towards the other bidders, by {pair['effect']:.0%} of "
                       f"the criterion's maximum on average (permutation test p="
                       f"{pair['p_value']:.4f}). In this tender: {t['favour']:+.0%}; the "
                       f"scores per criterion are in the evidence.")})
    return out


def persist(results: list[tuple], *, now=None) -> int:
    """Replace every expert flag with ``results`` ([(code, severity, flag dicts)])."""
    from .screening import _json

    now = now or timezone.now()
    made = 0
    with transaction.atomic():
        Flag.objects.filter(kind=Flag.Kind.SCREEN, screen__in=CODES).delete()
        seen = set()
        for code, severity, flags in results:
            for f in flags:
                key = (code, f["tender"], tuple(f["subjects"]))
                if key in seen:
                    continue
                seen.add(key)
                Flag.objects.create(
                    kind=Flag.Kind.SCREEN, screen=code, severity=severity,
                    tender_id=f["tender"], tender_reference=f["reference"],
                    subjects=f["subjects"], evidence=_json(f["evidence"]),
                    explanation_zh=f["zh"], explanation_en=f["en"], raised_at=now)
                made += 1
    return made


def screen_experts(*, score_rows: list[dict] | None = None,
                   seat_rows: list[dict] | None = None, now=None) -> ExpertReport:
    """Run both expert screens on the platform (or on the rows given), replace their
    flags and rescore the queue. Idempotent."""
    from django.conf import settings

    from .screening import rescore
    from .screens.experts import (
        expert_seat_rows,
        screen_expert_favouritism,
        screen_expert_repeat_tenderer,
    )

    now = now or timezone.now()
    report = ExpertReport()
    results = []
    window = int(getattr(settings, "SUPERVISION_EXPERT_WINDOW_DAYS", 365))
    limit = getattr(settings, "SUPERVISION_EXPERT_REPEAT_LIMIT", None)
    if seat_rows is None:
        from datetime import timedelta

        seat_rows = expert_seat_rows(since=now - timedelta(days=window))
    report.seats = len(seat_rows)
    repeat = screen_expert_repeat_tenderer(
        seat_rows, now=now, window_days=window,
        limit=int(limit) if limit is not None else None)
    if repeat.fired:
        results.append((REPEAT, repeat.severity, _flags_for_repeat(repeat, seat_rows)))
    score_rows = platform_score_rows(report) if score_rows is None else score_rows
    report.scores = len(score_rows)
    favour = screen_expert_favouritism(score_rows)
    if favour.fired:
        results.append((FAVOUR, favour.severity, _flags_for_favour(favour)))
    with transaction.atomic():
        report.flags = persist(results, now=now)
        rescore()
    log.info("expert screens: %s seats, %s scores, %s flags", report.seats, report.scores,
             report.flags)
    return report
