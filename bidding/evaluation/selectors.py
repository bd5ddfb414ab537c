"""Reads on the evaluation: for the room (members), the chair, later stages (the award)
and supervision.

Two secrets are kept here, not in views:

* no member sees another member's scores for a stage before submitting their own
  (``stage_scores``, ``aggregation``);
* under 暗标 (``tender.anonymous_technical``) the technical stage shows code numbers only,
  nothing that names a bidder, until the technical scores are locked (``bids_view``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from bidding.bids.models import Bid
from bidding.tenders.models import Tender

from . import rules
from .models import (
    SHEET_STAGES,
    Committee,
    EvaluatedBid,
    EvaluationClarification,
    EvaluationReport,
    Member,
    Score,
    ScoreOutlier,
    Sheet,
    Stage,
    StageLock,
)
from .services import bid_key, stage_bids, stage_criteria


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


def committee_of(tender: Tender) -> Committee | None:
    return Committee.objects.filter(tender=tender).select_related("tender", "chair").first()


def locked_stages(committee: Committee) -> list[str]:
    return list(StageLock.objects.filter(committee=committee).values_list("stage", flat=True))


def identities_hidden(committee: Committee, stage: str) -> bool:
    """暗标: in the technical stage, until its scores are locked, bids are code numbers."""
    return (committee.tender.anonymous_technical and stage == Stage.TECHNICAL
            and committee.codes_revealed_at is None)


def progress(committee: Committee) -> dict:
    """Who has finished which stage: counts and member labels, never scores or names.
    What the room's websocket broadcasts (``signals.evaluation_progress``)."""
    members = list(committee.members.order_by("pk"))
    sheets = {(s.member_id, s.stage): s for s in Sheet.objects.filter(member__in=members)}
    stages = [st for st in SHEET_STAGES
              if st == Stage.QUALIFICATION or stage_criteria(committee.tender, st)]
    rows, counts = [], {st: {"submitted": 0, "drafts": 0,
                             "active": sum(1 for m in members if m.active)} for st in stages}
    for m in members:
        state = {}
        for st in stages:
            sheet = sheets.get((m.pk, st))
            value = None if sheet is None else (
                "submitted" if sheet.submitted_at else ("draft" if sheet.saved_at else None))
            state[st] = value
            if m.active and value == "submitted":
                counts[st]["submitted"] += 1
            elif m.active and value == "draft":
                counts[st]["drafts"] += 1
        rows.append({"label": m.label, "kind": m.kind, "active": m.active,
                     "is_chair": committee.chair_id == m.pk, "stages": state})
    report = EvaluationReport.objects.filter(tender=committee.tender).first()
    signed = report.signatures.count() if report else 0
    return {"stage": committee.stage, "chair": committee.chair.label if committee.chair else None,
            "stages": stages, "locked": locked_stages(committee), "members": rows,
            "counts": counts,
            "report": None if report is None or not report.sha256 else {
                "signed": signed, "sha256": report.sha256,
                "completed": report.completed_at is not None}}


def bids_view(committee: Committee, stage: str) -> list[dict]:
    """The bids of a stage as members see them, with the key their sheet uses. While
    identities are hidden (暗标), only the key and the code: no bidder, credit code, price,
    bid id or digest."""
    hidden = identities_hidden(committee, stage)
    out = []
    for eb in stage_bids(committee, stage):
        row = {"key": bid_key(eb, stage), "code": eb.code}
        if not hidden:
            row.update({
                "bid": str(eb.bid.public_id), "bidder": eb.bid.bidder.name,
                "credit_code": eb.bid.bidder.credit_code, "price": str(eb.price),
                "qualified": eb.qualified,
            })
            if stage == Stage.QUALIFICATION and committee.tender.anonymous_technical \
                    and committee.codes_revealed_at is None:
                # The code would link the named bid to the anonymous technical one.
                row.pop("code")
        out.append(row)
    return out


def criteria_view(tender: Tender, stage: str) -> list[dict]:
    return [{"number": c.number, "name": c.name, "name_en": c.name_en,
             "description": c.description,
             "max_score": None if c.max_score is None else str(c.max_score)}
            for c in stage_criteria(tender, stage)]


def sheet_view(member: Member, stage: str) -> dict:
    """A member's own sheet: the saved draft (to resume after a lost connection) and
    whether it has been submitted."""
    sheet = Sheet.objects.filter(member=member, stage=stage).first()
    fixed = []
    if sheet is not None and sheet.reopened_at is not None and sheet.submitted_at is None:
        # Reopened for newly qualified bids (rules.REQUALIFICATION): the bids scored
        # before stand; the others are the ones to score.
        scored = set(sheet.scores.values_list("evaluated_bid_id", flat=True))
        fixed = [bid_key(b, stage) for b in stage_bids(member.committee, stage)
                 if b.pk in scored]
    return {"stage": stage, "entries": sheet.draft if sheet else {},
            "saved_at": sheet.saved_at if sheet else None,
            "submitted_at": sheet.submitted_at if sheet else None,
            "reopened_at": sheet.reopened_at if sheet else None, "fixed": fixed}


def _has_submitted(member: Member, stage: str) -> bool:
    return Sheet.objects.filter(member=member, stage=stage,
                                submitted_at__isnull=False).exists()


def may_see_scores(committee: Committee, member: Member | None, stage: str) -> bool:
    """A member sees the others' scores for a stage once they have submitted their own
    (or the stage is locked and they are not still due to score it); the tenderer and
    oversight only once the stage is locked."""
    locked = StageLock.objects.filter(committee=committee, stage=stage).exists()
    if member is None:
        return locked
    if _has_submitted(member, stage):
        return True
    return locked and not member.active


def stage_scores(committee: Committee, member: Member | None, stage: str) -> list[dict]:
    """Every member's submitted scores for a stage, if the viewer may see them, else
    PermissionDenied."""
    if not may_see_scores(committee, member, stage):
        raise PermissionDenied(_("Submit your own sheet for this stage first."))
    hidden = identities_hidden(committee, stage)
    rows = []
    for s in (Score.objects.filter(evaluated_bid__committee=committee, stage=stage)
              .select_related("member", "criterion", "evaluated_bid__bid__bidder")
              .order_by("evaluated_bid__code", "criterion__number", "member_id")):
        rows.append({
            "member": s.member.label, "key": bid_key(s.evaluated_bid, stage),
            "bidder": None if hidden else s.evaluated_bid.bid.bidder.name,
            "criterion": s.criterion.number if s.criterion else None,
            "value": None if s.value is None else str(s.value), "passed": s.passed,
            "rejection": s.rejection, "reason": s.reason, "void": s.void,
        })
    return rows


def aggregation(committee: Committee, member: Member | None, stage: str) -> dict:
    """For the chair (once their own sheet is in): each bid's committee score per
    criterion from the submitted, non-void scores, and the outliers among them (live;
    they are recorded when the stage is locked)."""
    if stage == Stage.QUALIFICATION or stage not in SHEET_STAGES:
        raise PermissionDenied(_("Aggregation applies to the scoring stages."))
    if member is not None and committee.chair_id != member.pk:
        raise PermissionDenied(_("Only the chair sees the aggregation."))
    if not may_see_scores(committee, member, stage):
        raise PermissionDenied(_("Submit your own sheet for this stage first."))
    method = committee.tender.score_aggregation
    cells: dict[tuple, list[Score]] = {}
    for s in (Score.objects.filter(evaluated_bid__committee=committee, stage=stage,
                                   void=False, member__active=True)
              .select_related("member", "criterion", "evaluated_bid")):
        cells.setdefault((s.evaluated_bid, s.criterion), []).append(s)
    rows, outliers = [], []
    for (eb, c), cell in sorted(cells.items(), key=lambda kv: (kv[0][0].code,
                                                               kv[0][1].number)):
        values = [s.value for s in cell]
        rows.append({"key": bid_key(eb, stage), "criterion": c.number,
                     "scores": len(values), "aggregate": str(rules.aggregate(values, method))})
        for s in cell:
            others = [o.value for o in cell if o.pk != s.pk]
            if rules.is_outlier(s.value, others, c.max_score):
                mean, dev = rules.outlier_deviation(s.value, others)
                outliers.append({"member": s.member.label, "key": bid_key(eb, stage),
                                 "criterion": c.number, "value": str(s.value),
                                 "others_mean": str(mean), "deviation": str(dev),
                                 "threshold": str(rules.outlier_threshold(c.max_score))})
    return {"stage": stage, "method": method, "rows": rows, "outliers": outliers}


def recorded_outliers(committee: Committee) -> list[ScoreOutlier]:
    return list(ScoreOutlier.objects.filter(committee=committee)
                .select_related("member", "criterion", "evaluated_bid")
                .order_by("recorded_at", "pk"))


def clarifications_for(committee: Committee, user) -> list[EvaluationClarification]:
    """Members, the tenderer and oversight see every request; a bidder only its own."""
    qs = committee.clarifications.select_related("evaluated_bid__bid")
    from .policies import can_manage, can_oversee, member_of

    if member_of(committee, user, active_only=False) or can_manage(user, committee.tender) \
            or can_oversee(user):
        return list(qs)
    return [c for c in qs if c.evaluated_bid.bid.bidder_id == getattr(user, "organisation_id",
                                                                      None)]


def my_clarifications(user, tender: Tender) -> list[EvaluationClarification]:
    """A bidder's clarification requests on a tender (the ones it must answer)."""
    return list(EvaluationClarification.objects.filter(
        committee__tender=tender,
        evaluated_bid__bid__bidder_id=getattr(user, "organisation_id", -1)))


def room_state(committee: Committee, member: Member | None) -> dict:
    """What the room shows a member: the stage, the criteria and bids of the stage the
    committee is at, the member's own sheet, and progress."""
    stage = committee.stage
    state = {"tender": committee.tender.reference, "stage": stage,
             "me": None if member is None else {"label": member.label,
                                                "active": member.active,
                                                "is_chair": committee.chair_id == member.pk},
             "progress": progress(committee)}
    if stage in SHEET_STAGES:
        state["criteria"] = criteria_view(committee.tender, stage)
        state["bids"] = bids_view(committee, stage)
        state["rejections"] = [{"code": c, "label": str(label)}
                               for c, label in rules.Rejection.choices]
        if member is not None:
            state["sheet"] = sheet_view(member, stage)
    return state


# ------------------------------------------------------------ reads for supervision
# supervision reads the evaluation only through these (import contract in pyproject.toml).


def qualification_outcomes(tender_id: int) -> list[tuple[str, bool, str]]:
    """Per judged bid of the tender: (bid public id, qualified, rejection reason); bids
    not yet judged are absent. Used by supervision's market screens."""
    return [(str(pid), ok, reason) for pid, ok, reason in EvaluatedBid.objects
            .filter(committee__tender_id=tender_id, qualified__isnull=False)
            .values_list("bid__public_id", "qualified", "rejection_reason")]


def committees_with_locked_scores() -> list[int]:
    """The committees that locked a scored stage (technical or commercial), ascending.
    Used by supervision's expert screens."""
    return sorted(set(StageLock.objects.filter(stage__in=("technical", "commercial"))
                      .values_list("committee_id", flat=True)))


def locked_score_rows(committee_ids=None) -> list[tuple]:
    """The valid scores of locked stages (void scores of replaced members left out, Reg
    48), as tuples (member id, expert code, tender id, tender reference, bid code, bidder
    credit code, bidder name, criterion number, criterion name, criterion max score,
    value); ``committee_ids`` narrows them. Used by supervision's expert screens."""
    from django.db.models import Exists, OuterRef

    locked = StageLock.objects.filter(committee_id=OuterRef("member__committee_id"),
                                      stage=OuterRef("stage"))
    qs = (Score.objects.filter(void=False, value__isnull=False, criterion__isnull=False)
          .filter(Exists(locked)))
    if committee_ids is not None:
        qs = qs.filter(member__committee_id__in=list(committee_ids))
    return list(qs.values_list(
        "member_id", "member__expert__code", "member__committee__tender_id",
        "member__committee__tender__reference", "evaluated_bid__code",
        "evaluated_bid__bid__bidder__credit_code", "evaluated_bid__bid__bidder__name",
        "criterion__number", "criterion__name", "criterion__max_score", "value"))


def sat_on_committee(tender, user) -> bool:
    """Whether the user is a member of the tender's committee. Used by supervision's
    inspections (an inspector who evaluated the tender may not inspect it)."""
    return Member.objects.filter(committee__tender=tender, user=user).exists()


def committee_expert_ids(tender) -> list[int]:
    """The pool experts on the tender's committee. Used by supervision's spot checks."""
    return list(Member.objects.filter(committee__tender=tender, expert__isnull=False)
                .values_list("expert_id", flat=True))


def reports_completed_between(start, end) -> list[str]:
    """References of the tenders whose evaluation report was completed between two dates
    (inclusive), sorted. Used by supervision's spot checks."""
    return sorted(EvaluationReport.objects.filter(
        completed_at__date__gte=start, completed_at__date__lte=end,
        tender__committee__isnull=False).values_list("tender__reference", flat=True))


def report_of(tender, *, completed: bool = False) -> EvaluationReport | None:
    """The tender's evaluation report (``completed``: only once completed), or None. Used
    by supervision (spot checks, results filings)."""
    qs = EvaluationReport.objects.filter(tender=tender)
    if completed:
        qs = qs.filter(completed_at__isnull=False)
    return qs.first()


def members_with_scores(tender) -> list[dict]:
    """Each member of the tender's committee with their expert and scores (``member``,
    ``expert``, ``scores``). Used by supervision's spot-check review."""
    out = []
    for m in Member.objects.filter(committee__tender=tender).select_related("expert"):
        scores = Score.objects.filter(member=m).select_related("criterion").order_by(
            "evaluated_bid_id", "criterion_id")
        out.append({"member": m, "expert": m.expert, "scores": list(scores)})
    return out
