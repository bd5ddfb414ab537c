"""Writes of the evaluation (评标): forming the committee, electing the chair, the members'
sheets, the chair's locks, clarifications, replacements, the report and its signatures.

Views, the API, the room's websocket and the clock call these; nothing else writes.
Every function locks the committee row first (one order: committee, then member rows),
checks, writes, appends the audit event, and announces progress after the commit
(``signals.evaluation_progress``).

Sheets are keyed by the bid keys ``selectors.bid_key`` gives: the code number (暗标编号)
in the technical stage, ``b<id>`` elsewhere, so a member scoring anonymous technical bids
never holds anything that names a bidder.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from audit.services import audit_record
from bidding.opening.models import BidOpening
from bidding.tenders import lifecycle
from bidding.tenders.models import Criterion, Tender
from bidding.tenders.reference import EvaluationMethod
from core import statutory
from core.refusals import refuse
from crypto import keys as crypto_keys
from crypto import signing
from crypto.chain import canonical_json
from crypto.errors import CryptoError
from expert_pool import draw as expert_draw
from expert_pool.models import Draw, DrawMember

from . import formulas, policies, rules
from .models import (
    SHEET_STAGES,
    ChairVote,
    Committee,
    EvaluatedBid,
    EvaluationClarification,
    EvaluationReport,
    Member,
    Reopening,
    ReportSignature,
    Score,
    ScoreOutlier,
    Sheet,
    Stage,
    StageLock,
)
from .signals import evaluation_progress, score_outlier_recorded

S = Tender.Status
POINTS = Decimal("0.01")
REASON_MAX = 2000


def _progress_on_commit(committee: Committee, stage: str, kind: str) -> None:
    pk = committee.pk
    transaction.on_commit(lambda: evaluation_progress.send(
        sender=Committee, committee=Committee.objects.get(pk=pk), stage=stage, kind=kind))


def _lock(committee: Committee) -> Committee:
    return Committee.objects.select_for_update(no_key=True).select_related("tender").get(
        pk=committee.pk)


def _lock_own_seat(committee: Committee, user, stage: str) -> tuple[Committee, Member]:
    """A member's own work (a draft, a submission) locks the member's row, not the
    committee's: nine members scoring at once do not queue behind each other. What the
    committee lock guards does not need it here: the chair locks a stage only when every
    active member's sheet is committed as submitted, and a replacement (which takes the
    committee and then this member's row, the same order) waits for the submission and
    then voids it too. A qualification sheet handed in after the review was locked (a
    replacement's, Reg 48) may settle the review again: that one takes the committee lock
    first. Lock order everywhere: committee, member, sheet."""
    fresh = Committee.objects.select_related("tender").get(pk=committee.pk)
    if stage == Stage.QUALIFICATION and StageLock.objects.filter(
            committee=fresh, stage=Stage.QUALIFICATION).exists():
        fresh = _lock(committee)
    member = policies.require_member(fresh, user)
    member = Member.objects.select_for_update(no_key=True).get(pk=member.pk)
    if not member.active:  # replaced while this request waited for the row
        member = policies.require_member(fresh, user)
    return fresh, member


# --- forming the committee --------------------------------------------------------------


def _seated(draw: Draw) -> list[DrawMember]:
    """Each group's first ``count`` confirmed and pledged members, in draw order."""
    seated = []
    for i, group in enumerate(draw.groups):
        members = (DrawMember.objects.select_related("expert__user")
                   .filter(draw=draw, group=i, status=DrawMember.Status.CONFIRMED,
                           pledged_at__isnull=False).order_by("position"))
        seated += list(members[: group["count"]])
    return seated


def committee_form(*, tender: Tender, user, tenderer_reps: list | tuple = (),
                   now: datetime | None = None) -> Committee:
    """Form the committee from the tender's completed expert draw and the tenderer's
    representatives (users of the tenderer organisation), re-check Law 37's composition,
    number the bids, and start the evaluation (the tender moves from opened to
    evaluation). The tenderer (or its agency) or the trading centre does this."""
    now = now or timezone.now()
    if not policies.can_manage(user, tender):
        raise PermissionDenied(_("Only the tenderer, its agency or the trading centre forms "
                                 "the evaluation committee."))
    with transaction.atomic():
        locked = Tender.objects.select_for_update(no_key=True).get(pk=tender.pk)
        if Committee.objects.filter(tender=locked).exists():
            raise refuse("__all__", _("This tender's committee has been formed already."),
                         "committee_exists")
        if locked.status != S.OPENED:
            raise refuse("__all__", _("The evaluation starts once the opening is closed; "
                                      "this tender is “%(s)s”.")
                         % {"s": locked.get_status_display()}, "not_opened")
        draw = Draw.objects.filter(tender=locked).order_by("-attempt").first()
        if draw is None or draw.status != Draw.Status.COMPLETE:
            raise refuse("__all__", _("The committee is formed from a completed expert draw "
                                      "(every seat confirmed and pledged)."),
                         "draw_not_complete")
        seated = _seated(draw)
        reps = list(tenderer_reps)
        wanted = int(draw.params.get("tenderer_reps", 0))
        if len(reps) != wanted:
            raise refuse("tenderer_reps", _(
                "The draw left %(n)s seats for the tenderer's representatives; name exactly "
                "that many.") % {"n": wanted}, "tenderer_reps_count")
        expert_users = {m.expert.user_id for m in seated}
        for rep in reps:
            if getattr(rep, "organisation_id", None) != locked.tenderer_id \
                    or not rep.is_active:
                raise refuse("tenderer_reps", _("A representative must be a user of the "
                                                "tenderer."), "tenderer_rep_invalid")
            if rep.pk in expert_users:
                raise refuse("tenderer_reps", _("A drawn expert cannot also sit as a "
                                                "representative."), "tenderer_rep_invalid")
        if len({r.pk for r in reps}) != len(reps):
            raise refuse("tenderer_reps", _("Name each representative once."),
                         "tenderer_rep_invalid")
        if any(m.expert.user_id is None for m in seated):
            raise refuse("__all__", _("Every seated expert needs a platform account to "
                                      "evaluate remotely."), "expert_without_account")
        counts: dict[int, int] = {}
        for m in seated:
            counts[m.group] = counts.get(m.group, 0) + 1
        # Law 37, the same rule the draw applied (expert_pool.draw.check_committee).
        expert_draw.check_committee(
            committee_size=len(seated) + len(reps), tenderer_reps=len(reps),
            quotas=[expert_draw.Quota(g["specialty"], counts.get(i, 0))
                    for i, g in enumerate(draw.groups) if counts.get(i, 0)],
        )
        seed = secrets.token_bytes(32)
        committee = Committee.objects.create(tender=locked, draw=draw, formed_at=now,
                                             formed_by=user, code_seed=seed.hex())
        n = 0
        for m in seated:
            n += 1
            Member.objects.create(committee=committee, user=m.expert.user, expert=m.expert,
                                  draw_member=m, kind=Member.Kind.EXPERT, label=f"M{n}",
                                  joined_at=now)
        for rep in reps:
            n += 1
            Member.objects.create(committee=committee, user=rep, kind=Member.Kind.TENDERER_REP,
                                  label=f"M{n}", joined_at=now)
        openings = (BidOpening.objects.select_related("bid")
                    .filter(bid__tender=locked, status=BidOpening.Status.DECRYPTED)
                    .order_by("bid__submitted_at", "pk"))
        codes = rules.bid_codes(seed, [str(o.bid.public_id) for o in openings])
        for o in openings:
            EvaluatedBid.objects.create(committee=committee, bid=o.bid,
                                        code=codes[str(o.bid.public_id)],
                                        price=_opened_price(o))
        audit_record(
            actor=user, action="evaluation.committee_formed", obj=committee,
            payload={"tender": locked.reference, "draw": draw.pk,
                     "members": [[m.label, m.kind] for m in committee.members.all()],
                     "bids": len(codes), "code_seed_sha256": rules.seed_commitment(seed)},
            summary=f"{locked.reference}: committee of {n} formed",
        )
        lifecycle.tender_transition(
            tender=locked, to=S.EVALUATION,
            by=lifecycle.TENDERER if policies.is_owner(user, locked) else lifecycle.SYSTEM,
            actor=user, now=now)
    _progress_on_commit(committee, Stage.CHAIR, "formed")
    tender.refresh_from_db()
    return committee


def _opened_price(opening: BidOpening) -> Decimal:
    raw = (opening.price_sheet or {}).get("total_price")
    try:
        price = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        price = None
    if price is None or not price.is_finite() or price <= 0:
        raise refuse("__all__", _("An opened bid has no valid total price: %(bid)s.")
                     % {"bid": opening.bid.public_id}, "opened_price_invalid")
    return price.quantize(POINTS)


# --- the chair -------------------------------------------------------------------------


def chair_vote(*, committee: Committee, user, candidate: Member,
               now: datetime | None = None) -> ChairVote:
    """A member votes for the chair, once per round; a majority of the active members
    elects (``rules.elected``). Every vote is kept."""
    now = now or timezone.now()
    with transaction.atomic():
        committee = _lock(committee)
        voter = policies.require_member(committee, user)
        if committee.chair_id is not None:
            raise refuse("__all__", _("The chair has been elected already."), "chair_elected")
        if committee.stage in (Stage.DONE, Stage.FAILED):
            raise refuse("__all__", _("The evaluation is over."), "evaluation_over")
        if candidate.committee_id != committee.pk or not candidate.active:
            raise refuse("candidate", _("Vote for an active member of this committee."),
                         "candidate_invalid")
        if ChairVote.objects.filter(committee=committee, voter=voter,
                                    round=committee.chair_round).exists():
            raise refuse("__all__", _("You have voted already."), "already_voted")
        vote = ChairVote.objects.create(committee=committee, voter=voter, candidate=candidate,
                                        round=committee.chair_round, cast_at=now)
        audit_record(actor=user, action="evaluation.chair_vote", obj=committee,
                     payload={"voter": voter.label, "candidate": candidate.label,
                              "round": committee.chair_round},
                     summary=f"{committee.tender.reference}: {voter.label} votes for "
                             f"{candidate.label}")
        active = committee.members.filter(active=True).count()
        votes = ChairVote.objects.filter(committee=committee, round=committee.chair_round,
                                         voter__active=True, candidate=candidate).count()
        if rules.elected(votes_for=votes, active_members=active):
            committee.chair = candidate
            fields = ["chair"]
            if committee.stage == Stage.CHAIR:
                committee.stage = Stage.QUALIFICATION
                fields.append("stage")
            committee.save(update_fields=fields)
            audit_record(actor="system", action="evaluation.chair_elected", obj=committee,
                         payload={"chair": candidate.label, "votes": votes, "of": active},
                         summary=f"{committee.tender.reference}: chair {candidate.label}")
            _progress_on_commit(committee, Stage.CHAIR, "chair")
    return vote


# --- sheets ------------------------------------------------------------------------------


def stage_criteria(tender: Tender, stage: str) -> list[Criterion]:
    return list(tender.criteria.filter(stage=stage).order_by("number"))


def stage_bids(committee: Committee, stage: str) -> list[EvaluatedBid]:
    """The bids a stage covers: every opened bid in the qualification review, the bids
    that passed it in the scoring stages."""
    qs = committee.bids.select_related("bid__bidder").order_by("code")
    if stage != Stage.QUALIFICATION:
        qs = qs.filter(qualified=True)
    return list(qs)


def bid_key(evaluated: EvaluatedBid, stage: str) -> str:
    """The key a sheet uses for a bid: its code number in the technical stage (暗标),
    ``b<id>`` elsewhere (ids are not in code order, so they give nothing away)."""
    return evaluated.code if stage == Stage.TECHNICAL else f"b{evaluated.pk}"


def _check_stage_open(committee: Committee, member: Member, stage: str) -> Sheet:
    if stage not in SHEET_STAGES:
        raise refuse("stage", _("Unknown stage."), "stage_unknown")
    order = [Stage.CHAIR, *SHEET_STAGES, Stage.REPORT, Stage.DONE]
    if committee.stage == Stage.FAILED or committee.stage not in order \
            or order.index(stage) > order.index(committee.stage):
        raise refuse("stage", _("This stage has not started: the committee is at “%(s)s”; "
                                "stages run in order.")
                     % {"s": Stage(committee.stage).label}, "stage_not_open")
    sheet, _created = Sheet.objects.select_for_update().get_or_create(member=member,
                                                                      stage=stage)
    if sheet.submitted_at is not None:
        raise refuse("stage", _("You have submitted this stage; it is locked for you."),
                     "stage_locked")
    # A locked stage takes sheets only from members who joined after it was locked
    # (replacements, who score every stage again, Reg 48).
    # Sheets opened again for newly qualified bids (``Reopening``) take those bids.
    lock = StageLock.objects.filter(committee=committee, stage=stage).first()
    if lock is not None and member.joined_at <= lock.locked_at \
            and not (sheet.reopened_at is not None and sheet.reopened_at >= lock.locked_at):
        raise refuse("stage", _("The committee has locked this stage."), "stage_locked")
    if committee.stage in (Stage.REPORT, Stage.DONE):
        raise refuse("stage", _("Scoring is over: the report has been drawn up."),
                     "stage_locked")
    return sheet


def _decimal(raw) -> Decimal | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, float):
        raw = repr(raw)
    try:
        value = Decimal(str(raw).strip()) if isinstance(raw, int | str | Decimal) else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() else None


def _clean_entries(committee: Committee, stage: str, entries, *, complete: bool) -> dict:
    """Check a sheet's entries against the stage's bids and criteria; return them in
    a normal form. ``complete``: every bid and criterion must be there (submission)."""
    if not isinstance(entries, dict):
        raise refuse("entries", _("The sheet is an object from bid to its entries."),
                     "sheet_invalid")
    bids = {bid_key(b, stage): b for b in stage_bids(committee, stage)}
    criteria = {str(c.number): c for c in stage_criteria(committee.tender, stage)}
    clean: dict = {}
    for key, entry in entries.items():
        if key not in bids:
            raise refuse("entries", _("Unknown bid %(key)s for this stage.") % {"key": key},
                         "unknown_bid")
        if not isinstance(entry, dict):
            raise refuse("entries", _("Bid %(key)s: entries must be an object.")
                         % {"key": key}, "sheet_invalid")
        if stage == Stage.QUALIFICATION:
            clean[key] = _clean_verdicts(key, entry, criteria)
        else:
            clean[key] = _clean_scores(key, entry, criteria)
    if complete:
        for key in bids:
            row = clean.get(key, {})
            have = row.get("criteria", {}) if stage == Stage.QUALIFICATION else row
            missing = [n for n in criteria if n not in have]
            if missing:
                raise refuse("entries", _(
                    "The sheet is incomplete: bid %(key)s has no entry for criterion "
                    "%(n)s. Submit a stage as a whole.") % {"key": key, "n": missing[0]},
                    "sheet_incomplete")
    return clean


def _clean_scores(key: str, entry: dict, criteria: dict) -> dict:
    out = {}
    for number, raw in entry.items():
        c = criteria.get(str(number))
        if c is None:
            raise refuse("entries", _("Criterion %(n)s is not a criterion of this stage "
                                      "(Reg 49: only the declared criteria are used).")
                         % {"n": number}, "unknown_criterion")
        if raw is None or raw == "":
            continue  # a draft may leave a cell empty
        value = _decimal(raw)
        if value is None:
            raise refuse("entries", _("Bid %(key)s, criterion %(n)s: the score must be a "
                                      "number.") % {"key": key, "n": number},
                         "score_not_a_number")
        if value < 0 or value > c.max_score:
            raise refuse("entries", _(
                "Bid %(key)s, criterion %(n)s: %(v)s is out of range; scores go from 0 to "
                "%(max)s.") % {"key": key, "n": number, "v": value, "max": c.max_score},
                "score_out_of_range")
        if value != value.quantize(POINTS):
            raise refuse("entries", _("Bid %(key)s, criterion %(n)s: at most two decimals.")
                         % {"key": key, "n": number}, "score_precision")
        out[str(number)] = str(value.quantize(POINTS))
    return out


def _clean_verdicts(key: str, entry: dict, criteria: dict) -> dict:
    verdicts = entry.get("criteria", {}) or {}
    rejections = entry.get("rejections", []) or []
    unknown = set(entry) - {"criteria", "rejections"}
    if unknown or not isinstance(verdicts, dict) or not isinstance(rejections, list):
        raise refuse("entries", _("Bid %(key)s: a verdict has “criteria” and "
                                  "“rejections”.") % {"key": key}, "sheet_invalid")
    out_v = {}
    for number, v in verdicts.items():
        if str(number) not in criteria:
            raise refuse("entries", _("Criterion %(n)s is not a qualification criterion of "
                                      "this tender (Reg 49).") % {"n": number},
                         "unknown_criterion")
        if not isinstance(v, dict):
            raise refuse("entries", _("Bid %(key)s: a verdict is an object.") % {"key": key},
                         "sheet_invalid")
        passed = v.get("passed")
        if passed is None:
            continue  # not decided yet (draft)
        if not isinstance(passed, bool):
            raise refuse("entries", _("Bid %(key)s, criterion %(n)s: pass is true or false.")
                         % {"key": key, "n": number}, "sheet_invalid")
        reason = str(v.get("reason") or "").strip()[:REASON_MAX]
        out_v[str(number)] = {"passed": passed, "reason": reason}
    out_r = []
    for r in rejections:
        code = r.get("code") if isinstance(r, dict) else None
        if code not in rules.Rejection.values:
            raise refuse("entries", _("Bid %(key)s: “%(code)s” is not a ground of mandatory "
                                      "rejection (Reg 51).") % {"key": key, "code": code},
                         "unknown_rejection")
        out_r.append({"code": code, "reason": str(r.get("reason") or "").strip()[:REASON_MAX]})
    return {"criteria": out_v, "rejections": out_r}


def _require_fail_reasons(clean: dict) -> None:
    for key, row in clean.items():
        for number, v in row["criteria"].items():
            if not v["passed"] and not v["reason"]:
                raise refuse("entries", _("Bid %(key)s, criterion %(n)s: give the reason for "
                                          "failing it.") % {"key": key, "n": number},
                             "reason_required")


def _fixed_entries(committee: Committee, sheet: Sheet, stage: str) -> dict:
    """A reopened sheet's scores already submitted, as entries keyed like the sheet:
    they stand (``rules.REQUALIFICATION``). Empty for a sheet never submitted."""
    if sheet.pk is None:
        return {}
    keys = {b.pk: bid_key(b, stage) for b in stage_bids(committee, stage)}
    fixed: dict = {}
    for s in sheet.scores.filter(void=False).select_related("criterion"):
        key = keys.get(s.evaluated_bid_id)
        if key is None or s.criterion is None:
            continue
        if stage == Stage.QUALIFICATION:
            fixed.setdefault(key, {"criteria": {}, "rejections": []})["criteria"][
                str(s.criterion.number)] = {"passed": s.passed, "reason": s.reason}
        else:
            fixed.setdefault(key, {})[str(s.criterion.number)] = str(s.value)
    return fixed


def _merge_fixed(clean: dict, fixed: dict) -> dict:
    """``clean`` with the fixed entries put back; changing one is refused."""
    for key, row in clean.items():
        if key in fixed and row and row != fixed[key]:
            raise refuse("entries", _(
                "Bid %(key)s: your submitted scores stand; only the bids the committee "
                "opened again for you can be scored.") % {"key": key}, "score_fixed")
    return {**clean, **fixed}


def sheet_save_draft(*, committee: Committee, user, stage: str, entries,
                     now: datetime | None = None) -> Sheet:
    """Save a member's draft for a stage (any part of it), checked cell by cell; the
    room resumes from it after a lost connection. Nobody else sees it."""
    now = now or timezone.now()
    with transaction.atomic():
        committee, member = _lock_own_seat(committee, user, stage)
        sheet = _check_stage_open(committee, member, stage)
        clean = _merge_fixed(_clean_entries(committee, stage, entries, complete=False),
                             _fixed_entries(committee, sheet, stage))
        sheet.draft = clean
        sheet.saved_at = now
        sheet.save(update_fields=["draft", "saved_at"])
        audit_record(actor=user, action="evaluation.draft_saved", obj=sheet,
                     payload={"stage": stage, "member": member.label, "entries": clean},
                     summary=f"{committee.tender.reference}: {member.label} saved a "
                             f"{stage} draft")
    _progress_on_commit(committee, stage, "draft_saved")
    return sheet


def sheet_submit(*, committee: Committee, user, stage: str, entries=None,
                 now: datetime | None = None) -> Sheet:
    """Submit a member's whole sheet for a stage (the saved draft, or ``entries``): every
    bid and criterion, in range, reasons for every fail. It is locked for the member."""
    now = now or timezone.now()
    with transaction.atomic():
        committee, member = _lock_own_seat(committee, user, stage)
        sheet = _check_stage_open(committee, member, stage)
        fixed = _fixed_entries(committee, sheet, stage)
        given = sheet.draft if entries is None else entries
        if isinstance(given, dict):
            given = {**given, **{k: v for k, v in fixed.items() if not given.get(k)}}
        clean = _merge_fixed(_clean_entries(committee, stage, given, complete=True), fixed)
        if stage == Stage.QUALIFICATION:
            _require_fail_reasons(clean)
        bids = {bid_key(b, stage): b for b in stage_bids(committee, stage)}
        criteria = {str(c.number): c for c in stage_criteria(committee.tender, stage)}
        rows = []
        for key, row in clean.items():
            if key in fixed:
                continue  # submitted before the sheet was opened again: it stands
            eb = bids[key]
            if stage == Stage.QUALIFICATION:
                for number, v in row["criteria"].items():
                    rows.append(Score(sheet=sheet, member=member, evaluated_bid=eb,
                                      criterion=criteria[number], stage=stage,
                                      passed=v["passed"], reason=v["reason"]))
                for r in row["rejections"]:
                    rows.append(Score(sheet=sheet, member=member, evaluated_bid=eb,
                                      stage=stage, passed=False, rejection=r["code"],
                                      reason=r["reason"]))
            else:
                for number, value in row.items():
                    rows.append(Score(sheet=sheet, member=member, evaluated_bid=eb,
                                      criterion=criteria[number], stage=stage,
                                      value=Decimal(value)))
        Score.objects.bulk_create(rows)
        sheet.draft = clean
        sheet.saved_at = sheet.submitted_at = now
        sheet.save(update_fields=["draft", "saved_at", "submitted_at"])
        audit_record(actor=user, action="evaluation.sheet_submitted", obj=sheet,
                     payload={"stage": stage, "member": member.label, "entries": clean},
                     summary=f"{committee.tender.reference}: {member.label} submitted "
                             f"{stage}")
        if stage == Stage.QUALIFICATION and StageLock.objects.filter(
                committee=committee, stage=Stage.QUALIFICATION).exists():
            _requalify(committee, member, now=now)
    _progress_on_commit(committee, stage, "submitted")
    return sheet


# --- locking a stage ----------------------------------------------------------------------


def _next_stage(committee: Committee, after: str) -> str:
    order = list(SHEET_STAGES)
    for stage in order[order.index(after) + 1:]:
        if committee.tender.criteria.filter(stage=stage).exists():
            return stage
    return Stage.REPORT


def _valid_scores(committee: Committee, stage: str):
    return Score.objects.filter(evaluated_bid__committee=committee, stage=stage, void=False,
                                member__active=True)


def stage_lock(*, committee: Committee, user, stage: str,
               now: datetime | None = None) -> Committee:
    """The chair locks a stage for the committee once every active member has submitted
    it (and every earlier stage). Qualification: each bid passes or fails by majority
    (``rules.fails_qualification``). Scoring: each criterion's committee score is the
    declared aggregate; outliers are recorded. After the last stage the price is scored,
    the bids ranked and the report drawn up for signature."""
    now = now or timezone.now()
    with transaction.atomic():
        committee = _lock(committee)
        chair = policies.require_chair(committee, user)
        if stage not in SHEET_STAGES:
            raise refuse("stage", _("Unknown stage."), "stage_unknown")
        if committee.stage != stage:
            raise refuse("stage", _("The committee is at “%(s)s”, not at this stage.")
                         % {"s": Stage(committee.stage).label}, "stage_not_open")
        active = list(committee.members.filter(active=True))
        due = list(SHEET_STAGES)[: list(SHEET_STAGES).index(stage) + 1]
        for st in due:
            if st != Stage.QUALIFICATION and not stage_criteria(committee.tender, st):
                continue
            done = set(Sheet.objects.filter(member__in=active, stage=st,
                                             submitted_at__isnull=False)
                       .values_list("member_id", flat=True))
            waiting = [m.label for m in active if m.pk not in done]
            if waiting:
                raise refuse("__all__", _("Not every member has submitted %(stage)s: "
                                          "waiting for %(who)s.")
                             % {"stage": Stage(st).label, "who": ", ".join(waiting)},
                             "stage_incomplete")
        StageLock.objects.update_or_create(committee=committee, stage=stage,
                                           defaults={"locked_at": now, "locked_by": chair})
        # Earlier stages are computed again: a replacement's sheets count now (Reg 48).
        for st in due:
            if st == Stage.QUALIFICATION:
                _settle_qualification(committee, len(active))
            elif stage_criteria(committee.tender, st):
                _settle_scores(committee, st, now=now)
        payload = {"stage": stage, "chair": chair.label}
        if stage == Stage.TECHNICAL and committee.codes_revealed_at is None:
            committee.codes_revealed_at = now
            committee.save(update_fields=["codes_revealed_at"])
            payload["code_seed"] = committee.code_seed
        audit_record(actor=user, action="evaluation.stage_locked", obj=committee,
                     payload=payload, summary=f"{committee.tender.reference}: {stage} locked")
        if not committee.bids.filter(qualified=True).exists():
            _fail(committee, _("Every bid was rejected in the qualification review."), now)
        else:
            nxt = _next_stage(committee, stage)
            if nxt == Stage.REPORT:
                _finish(committee, now=now)
            else:
                committee.stage = nxt
                committee.save(update_fields=["stage"])
    _progress_on_commit(committee, stage, "locked")
    return committee


def _settle_qualification(committee: Committee, active: int) -> None:
    scores = list(_valid_scores(committee, Stage.QUALIFICATION).filter(passed=False)
                  .select_related("member", "criterion"))
    failing: dict[int, set] = {}
    reasons: dict[int, list] = {}
    for s in scores:
        failing.setdefault(s.evaluated_bid_id, set()).add(s.member_id)
        what = (rules.REJECTION_ZH.get(s.rejection, s.rejection) if s.rejection
                else f"{s.criterion.number}. {s.criterion.name}")
        reasons.setdefault(s.evaluated_bid_id, []).append(
            f"{s.member.label}: {what}" + (f" — {s.reason}" if s.reason else ""))
    for eb in committee.bids.all():
        fails = rules.fails_qualification(fail_votes=len(failing.get(eb.pk, ())),
                                          active_members=active)
        eb.qualified = not fails
        eb.rejection_reason = "\n".join(reasons.get(eb.pk, [])) if fails else ""
        eb.save(update_fields=["qualified", "rejection_reason"])


def _requalify(committee: Committee, cause: Member, *, now: datetime) -> None:
    """A replacement submitted the qualification review after it was locked: once every
    active member's sheet is in, settle it again; if new bids qualify, open the scoring
    stages already reached again for them (``rules.REQUALIFICATION``)."""
    active = list(committee.members.filter(active=True))
    done = set(Sheet.objects.filter(member__in=active, stage=Stage.QUALIFICATION,
                                    submitted_at__isnull=False)
               .values_list("member_id", flat=True))
    if any(m.pk not in done for m in active):
        return  # another replacement's verdicts are still due
    codes = dict(committee.bids.values_list("pk", "code"))
    before = set(committee.bids.filter(qualified=True).values_list("pk", flat=True))
    _settle_qualification(committee, len(active))
    after = set(committee.bids.filter(qualified=True).values_list("pk", flat=True))
    new, dropped = rules.qualification_change(before, after)
    if not new and not dropped:
        return
    new_codes = sorted(codes[pk] for pk in new)
    dropped_codes = sorted(codes[pk] for pk in dropped)
    order = list(SHEET_STAGES)
    reached = order.index(committee.stage) if committee.stage in order else len(order)
    reopened: list[str] = []
    for stage in order[1:]:
        if not stage_criteria(committee.tender, stage):
            continue
        sheets = list(Sheet.objects.select_for_update().select_related("member")
                      .filter(member__in=active, stage=stage))
        # Drafts not yet submitted lose the bids that dropped out (they are no longer
        # keys of this stage); the new ones are simply missing until scored.
        keys_dropped = {bid_key(eb, stage) for eb in committee.bids.filter(pk__in=dropped)}
        for sheet in sheets:
            if sheet.submitted_at is None and keys_dropped & set(sheet.draft):
                sheet.draft = {k: v for k, v in sheet.draft.items() if k not in keys_dropped}
                sheet.save(update_fields=["draft"])
        if not new or order.index(stage) > reached:
            continue
        submitted = [sh for sh in sheets if sh.submitted_at is not None]
        for sheet in submitted:
            sheet.submitted_at, sheet.reopened_at = None, now
            sheet.save(update_fields=["submitted_at", "reopened_at"])
        Reopening.objects.create(committee=committee, stage=stage, bids=new_codes,
                                 dropped=dropped_codes,
                                 members=[sh.member.label for sh in submitted], cause=cause,
                                 at=now)
        reopened.append(stage)
    if reopened and order.index(reopened[0]) < reached:
        committee.stage = reopened[0]
        committee.save(update_fields=["stage"])
    audit_record(
        actor="system", action="evaluation.qualification_resettled", obj=committee,
        payload={"cause": cause.label, "now_qualified": new_codes, "dropped": dropped_codes,
                 "reopened": reopened, "stage": committee.stage,
                 "identities_revealed": committee.codes_revealed_at is not None},
        summary=f"{committee.tender.reference}: qualification settled again with "
                f"{cause.label}'s verdicts; reopened {', '.join(reopened) or 'nothing'}")
    _progress_on_commit(committee, committee.stage, "reopened")


def _settle_scores(committee: Committee, stage: str, *, now: datetime) -> None:
    method = committee.tender.score_aggregation
    by_cell: dict[tuple, list[Score]] = {}
    for s in _valid_scores(committee, stage).select_related("criterion", "member"):
        by_cell.setdefault((s.evaluated_bid_id, s.criterion_id), []).append(s)
    totals: dict[int, Decimal] = {}
    for (eb_id, _c), cell in by_cell.items():
        totals[eb_id] = totals.get(eb_id, Decimal(0)) + rules.aggregate(
            [s.value for s in cell], method)
        _record_outliers(committee, cell, now=now)
    field = "technical" if stage == Stage.TECHNICAL else "commercial"
    for eb in committee.bids.filter(qualified=True):
        setattr(eb, field, totals.get(eb.pk, Decimal(0)).quantize(POINTS))
        eb.save(update_fields=[field])


def _record_outliers(committee: Committee, cell: list[Score], *, now: datetime) -> None:
    for s in cell:
        others = [o.value for o in cell if o.pk != s.pk]
        if not rules.is_outlier(s.value, others, s.criterion.max_score):
            continue
        mean, deviation = rules.outlier_deviation(s.value, others)
        outlier, created = ScoreOutlier.objects.get_or_create(
            member=s.member, evaluated_bid_id=s.evaluated_bid_id, criterion=s.criterion,
            defaults={"committee": committee, "value": s.value, "others_mean": mean,
                      "deviation": deviation,
                      "threshold": rules.outlier_threshold(s.criterion.max_score),
                      "recorded_at": now})
        if created:
            audit_record(actor="system", action="evaluation.score_outlier", obj=outlier,
                         payload={"member": s.member.label, "criterion": s.criterion.number,
                                  "value": s.value, "others_mean": mean,
                                  "deviation": deviation},
                         summary=f"{committee.tender.reference}: outlier {s.member.label} "
                                 f"criterion {s.criterion.number}")
            score_outlier_recorded.send(sender=ScoreOutlier, outlier=outlier)


def _fail(committee: Committee, reason: str, now: datetime) -> None:
    committee.stage = Stage.FAILED
    committee.save(update_fields=["stage"])
    audit_record(actor="system", action="evaluation.failed", obj=committee,
                 payload={"reason": reason}, summary=f"{committee.tender.reference}: {reason}")
    lifecycle.tender_transition(tender=committee.tender, to=S.FAILED, by=lifecycle.SYSTEM,
                                reason=reason, now=now)


# --- price, ranking, candidates ---------------------------------------------------------


def price_result(committee: Committee) -> formulas.PriceScoreResult:
    """The price score (or, under the lowest evaluated price method, the ranking by
    evaluated price) of the bids that passed qualification, keyed by code number."""
    tender = committee.tender
    formula = (formulas.LOWEST_EVALUATED
               if tender.evaluation_method == EvaluationMethod.LOWEST_PRICE
               else tender.price_formula)
    prices = {eb.code: eb.price for eb in committee.bids.filter(qualified=True)}
    return formulas.price_scores(formula=formula, prices=prices,
                                 params=tender.price_formula_params or {},
                                 max_price=tender.max_price)


def _finish(committee: Committee, *, now: datetime) -> None:
    tender = committee.tender
    try:
        result = price_result(committee)
    except ValidationError:
        _fail(committee, _("No bid has a valid price (all above the maximum price)."), now)
        return
    bids = {eb.code: eb for eb in committee.bids.filter(qualified=True)}
    for code, step in result.excluded.items():
        eb = bids.pop(code)
        eb.qualified = False
        eb.rejection_reason = step.zh
        eb.save(update_fields=["qualified", "rejection_reason"])
    lowest = tender.evaluation_method == EvaluationMethod.LOWEST_PRICE
    for code, eb in bids.items():
        eb.evaluated_price = result.evaluated_prices[code]
        if lowest:
            eb.price_score = None
            eb.total = None
        else:
            eb.price_score = result.scores[code]
            eb.total = (eb.price_score + (eb.technical or 0) + (eb.commercial or 0)).quantize(
                POINTS)
    # Ties: comprehensive — higher total, then lower evaluated price, then higher
    # technical score; lowest price — lower evaluated price, then higher technical score;
    # last, the code number (drawn at random when the committee formed).
    if lowest:
        ordered = sorted(bids.values(), key=lambda b: (b.evaluated_price,
                                                       -(b.technical or 0), b.code))
    else:
        ordered = sorted(bids.values(), key=lambda b: (-b.total, b.evaluated_price,
                                                       -(b.technical or 0), b.code))
    for i, eb in enumerate(ordered, start=1):
        eb.rank = i
        eb.save(update_fields=["evaluated_price", "price_score", "total", "rank"])
    top = ordered[: min(tender.candidate_count, statutory.value("CANDIDATES_MAX"))]
    if not tender.candidates_ranked:
        top = sorted(top, key=lambda b: b.code)
    candidates = [{"bid": str(eb.bid.public_id),
                   "rank": eb.rank if tender.candidates_ranked else None,
                   "score": None if eb.total is None else str(eb.total),
                   "price": str(eb.price)} for eb in top]
    report, _created = EvaluationReport.objects.get_or_create(tender=tender)
    report.candidates = candidates
    report.generated_at = now
    report.sign_until = now + timedelta(hours=statutory.value("EVALUATION_SIGN_HOURS"))
    report.save()
    committee.stage = Stage.REPORT
    committee.save(update_fields=["stage"])
    _render_report(report)
    audit_record(actor="system", action="evaluation.report_drawn_up", obj=report,
                 payload={"candidates": candidates, "sha256": report.sha256,
                          "benchmark": result.benchmark},
                 summary=f"{tender.reference}: report drawn up, {len(candidates)} "
                         "candidate(s)")


def _render_report(report: EvaluationReport) -> None:
    from .pdf.report import evaluation_report_pdf

    pdf = evaluation_report_pdf(report)
    report.sha256 = hashlib.sha256(pdf).hexdigest()
    report.pdf.save(f"evaluation-report-{report.sha256[:12]}.pdf", ContentFile(pdf), save=False)
    report.save(update_fields=["pdf", "sha256"])


# --- replacement (Reg 48) ----------------------------------------------------------------


def replacement_call(*, committee: Committee, user, member: Member,
                     now: datetime | None = None) -> DrawMember | None:
    """Call the next backup of the replaced expert's draw group (expert_pool's own call:
    notified, asked to confirm and pledge). Returns the called seat, or None if the
    group has no backup left."""
    from expert_pool.services import member_call

    now = now or timezone.now()
    if not policies.can_manage(user, committee.tender):
        raise PermissionDenied(_("Only the tenderer, its agency or the trading centre "
                                 "replaces members."))
    if member.draw_member_id is None:
        raise refuse("member", _("Representatives are replaced by the tenderer naming "
                                 "another; no backup is called."), "not_an_expert")
    with transaction.atomic():
        nxt = (DrawMember.objects.select_for_update()
               .filter(draw_id=member.draw_member.draw_id, group=member.draw_member.group,
                       status=DrawMember.Status.STANDBY).order_by("position").first())
        if nxt is None:
            return None
        member_call(member=nxt, now=now)
        audit_record(actor=user, action="evaluation.backup_called", obj=committee,
                     payload={"replacing": member.label, "draw_member": nxt.pk},
                     summary=f"{committee.tender.reference}: backup called for "
                             f"{member.label}")
    return nxt


def member_replace(*, committee: Committee, user, member: Member, reason: str,
                   replacement_user=None, replacement_seat: DrawMember | None = None,
                   now: datetime | None = None) -> Member:
    """Replace a member mid-evaluation (Reg 48): their scores and verdicts are void (kept,
    marked, excluded from every aggregate). An expert's replacement is a backup of the
    same draw who has confirmed and pledged (``replacement_seat``); a representative's is
    another user of the tenderer (``replacement_user``). The newcomer scores every stage
    reached so far again."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise refuse("reason", _("Say why the member is replaced."), "reason_required")
    if not policies.can_manage(user, committee.tender):
        raise PermissionDenied(_("Only the tenderer, its agency or the trading centre "
                                 "replaces members."))
    with transaction.atomic():
        committee = _lock(committee)
        old = Member.objects.select_for_update().get(pk=member.pk, committee=committee)
        if not old.active:
            raise refuse("member", _("This member has been replaced already."),
                         "member_replaced")
        if committee.stage in (Stage.REPORT, Stage.DONE, Stage.FAILED):
            raise refuse("__all__", _("Scoring is over; members are no longer replaced."),
                         "evaluation_over")
        taken = set(committee.members.values_list("user_id", flat=True))
        if old.kind == Member.Kind.EXPERT:
            seat = replacement_seat
            if (seat is None or seat.draw_id != committee.draw_id
                    or seat.status != DrawMember.Status.CONFIRMED or seat.pledged_at is None
                    or seat.expert.user_id is None or seat.expert.user_id in taken):
                raise refuse("replacement", _(
                    "The replacement is a backup of this committee's draw who has confirmed "
                    "and signed the pledge, and is not on the committee yet."),
                    "replacement_invalid")
            new = Member(committee=committee, user=seat.expert.user, expert=seat.expert,
                         draw_member=seat, kind=Member.Kind.EXPERT)
        else:
            rep = replacement_user
            if (rep is None or rep.organisation_id != committee.tender.tenderer_id
                    or rep.pk in taken):
                raise refuse("replacement", _("The replacement is another user of the "
                                              "tenderer, not on the committee yet."),
                             "replacement_invalid")
            new = Member(committee=committee, user=rep, kind=Member.Kind.TENDERER_REP)
        new.label = f"M{committee.members.count() + 1}"
        new.joined_at = now
        new.save()
        old.active, old.void = False, True
        old.replaced_by, old.replaced_at, old.reason = new, now, reason[:REASON_MAX]
        old.save(update_fields=["active", "void", "replaced_by", "replaced_at", "reason"])
        voided = Score.objects.filter(member=old).update(void=True)
        if committee.chair_id == old.pk:
            committee.chair = None
            committee.chair_round += 1
            committee.save(update_fields=["chair", "chair_round"])
        audit_record(actor=user, action="evaluation.member_replaced", obj=committee,
                     payload={"member": old.label, "by": new.label, "reason": old.reason,
                              "scores_voided": voided},
                     summary=f"{committee.tender.reference}: {old.label} replaced by "
                             f"{new.label}")
    _progress_on_commit(committee, committee.stage, "member_replaced")
    return new


# --- clarifications (Reg 52) ------------------------------------------------------------


def clarification_request(*, committee: Committee, user, bid_key_: str, question: str,
                          deadline: datetime, now: datetime | None = None
                          ) -> EvaluationClarification:
    """The committee (its chair) asks one bidder in writing to clarify, with a deadline.
    Never unsolicited: bidders only answer."""
    now = now or timezone.now()
    question = (question or "").strip()
    if not question:
        raise refuse("question", _("Write the question."), "required")
    with transaction.atomic():
        committee = _lock(committee)
        chair = policies.require_chair(committee, user)
        if committee.stage not in SHEET_STAGES:
            raise refuse("__all__", _("Clarifications are asked while the bids are being "
                                      "evaluated."), "evaluation_not_running")
        target = None
        for eb in committee.bids.all():
            if bid_key_ in (bid_key(eb, Stage.TECHNICAL), bid_key(eb, Stage.QUALIFICATION)):
                target = eb
        if target is None:
            raise refuse("bid", _("No such bid."), "unknown_bid")
        minimum = timedelta(minutes=statutory.value("EVALUATION_CLARIFICATION_MIN_MINUTES"))
        if deadline < now + minimum:
            raise refuse("deadline", _("Give the bidder at least %(n)s minutes to answer.")
                         % {"n": int(minimum.total_seconds() // 60)}, "deadline_too_soon")
        item = EvaluationClarification.objects.create(
            committee=committee, evaluated_bid=target, question=question[:10000],
            requested_by=chair, requested_at=now, deadline=deadline)
        audit_record(actor=user, action="evaluation.clarification_requested", obj=item,
                     payload={"bid": target.code, "question": item.question,
                              "deadline": deadline.isoformat()},
                     summary=f"{committee.tender.reference}: clarification to {target.code}")
    return item


def clarification_answer(*, clarification: EvaluationClarification, user, answer: str,
                         attachment=None, now: datetime | None = None
                         ) -> EvaluationClarification:
    """The bidder answers before the deadline, once. The answer is attached to the record
    as given; it changes no price sheet and no score (Reg 52)."""
    now = now or timezone.now()
    answer = (answer or "").strip()
    if not answer:
        raise refuse("answer", _("Write the answer."), "required")
    with transaction.atomic():
        item = EvaluationClarification.objects.select_for_update().select_related(
            "evaluated_bid__bid", "committee__tender").get(pk=clarification.pk)
        if getattr(user, "organisation_id", None) != item.evaluated_bid.bid.bidder_id:
            raise PermissionDenied(_("Only the bidder asked answers."))
        if item.answered_at is not None:
            raise refuse("__all__", _("This request has been answered already."),
                         "already_answered")
        if now > item.deadline:
            raise refuse("__all__", _("The deadline to answer has passed."),
                         "clarification_late")
        item.answer = answer[:20000]
        item.answered_at, item.answered_by = now, user
        if attachment is not None:
            data = attachment.read()
            if not data or len(data) > 20 * 1024 * 1024:
                raise refuse("attachment", _("The attachment is empty or larger than 20 MB."),
                             "attachment_size")
            item.attachment_sha256 = hashlib.sha256(data).hexdigest()
            item.attachment_name = os.path.basename(attachment.name or "attachment")[:255]
            item.attachment.save(f"{item.pk}-{item.attachment_sha256[:12]}",
                                 ContentFile(data), save=False)
        item.save()
        audit_record(actor=user, action="evaluation.clarification_answered", obj=item,
                     payload={"answer": item.answer, "attachment": item.attachment_sha256},
                     summary=f"{item.committee.tender.reference}: clarification answered")
    return item


# --- the report's signatures (Reg 53) ---------------------------------------------------


# The label a member's report signature is made under (``crypto.signing.REPORT``).
REPORT_LABEL = signing.REPORT


def report_message(report: EvaluationReport) -> bytes:
    """What a member's key signs (label ``ggzy-evaluation-report-v1\\0``,
    ``signing.REPORT``): canonical JSON naming the purpose, the tender and the report's
    SHA-256."""
    return canonical_json({"purpose": "evaluation-report-v1",
                           "tender": report.tender.reference, "sha256": report.sha256})


def _report_for_signing(report: EvaluationReport, user):
    report = EvaluationReport.objects.select_for_update().select_related("tender").get(
        pk=report.pk)
    committee = _lock(report.tender.committee)
    member = policies.require_member(committee, user)
    if committee.stage != Stage.REPORT or report.completed_at is not None:
        raise refuse("__all__", _("The report is not open for signature."),
                     "report_not_open")
    if ReportSignature.objects.filter(report=report, member=member).exists():
        raise refuse("__all__", _("You have signed already."), "already_signed")
    return report, committee, member


def report_sign(*, report: EvaluationReport, user, signature_b64: str, dissent: str = "",
                now: datetime | None = None) -> ReportSignature:
    """A member signs the report's digest with their registered signing key; with ``dissent`` the
    signature carries their written dissent (Reg 53)."""
    now = now or timezone.now()
    with transaction.atomic():
        report, committee, member = _report_for_signing(report, user)
        try:
            sig = base64.b64decode(signature_b64 or "", validate=True)
        except ValueError:
            sig = b""
        keys = list(account_selectors.signing_keys(user))
        if not keys:
            raise refuse("signature", _("Register a signing key first (My keys): a report is "
                                        "signed only with a key of purpose “signing”."),
                         "no_signing_key")
        key = None
        for candidate in keys:
            try:
                signing.verify(crypto_keys.public_key_from_bytes(bytes(candidate.point)),
                               REPORT_LABEL, report_message(report), sig)
                key = candidate
                break
            except (CryptoError, ValueError):
                continue
        if key is None:
            raise refuse("signature", _("The signature does not verify with your registered "
                                        "signing key."), "bad_signature")
        dissent = (dissent or "").strip()[:10000]
        item = ReportSignature.objects.create(
            report=report, member=member, signature=signature_b64,
            key_fingerprint=key.fingerprint, dissent=dissent, signed_at=now,
            kind=ReportSignature.Kind.DISSENT if dissent else ReportSignature.Kind.SIGNED)
        audit_record(actor=user, action="evaluation.report_signed", obj=report,
                     payload={"member": member.label, "kind": item.kind,
                              "key": key.fingerprint, "dissent": dissent},
                     summary=f"{report.tender.reference}: {member.label} {item.kind}")
        _complete_if_signed(report, committee, now=now)
    _progress_on_commit(committee, Stage.REPORT, "signed")
    return item


def report_refuse(*, report: EvaluationReport, user, dissent: str = "",
                  now: datetime | None = None) -> ReportSignature:
    """A member refuses to sign. With written dissent it is recorded and counts as signed
    with dissent; without reasons the member is recorded as agreeing (Reg 53)."""
    now = now or timezone.now()
    with transaction.atomic():
        report, committee, member = _report_for_signing(report, user)
        dissent = (dissent or "").strip()[:10000]
        kind = ReportSignature.Kind.DISSENT if dissent else ReportSignature.Kind.DEEMED
        item = ReportSignature.objects.create(report=report, member=member, kind=kind,
                                              dissent=dissent, signed_at=now)
        audit_record(actor=user, action="evaluation.report_refused", obj=report,
                     payload={"member": member.label, "kind": kind, "dissent": dissent},
                     summary=f"{report.tender.reference}: {member.label} {kind}")
        _complete_if_signed(report, committee, now=now)
    _progress_on_commit(committee, Stage.REPORT, "signed")
    return item


def _deem_rest(report: EvaluationReport, committee: Committee, *, now: datetime,
               why: str) -> int:
    signed = set(report.signatures.values_list("member_id", flat=True))
    n = 0
    for m in committee.members.filter(active=True).exclude(pk__in=signed):
        ReportSignature.objects.create(report=report, member=m, kind=ReportSignature.Kind.DEEMED,
                                       signed_at=now)
        audit_record(actor="system", action="evaluation.report_deemed", obj=report,
                     payload={"member": m.label, "why": why},
                     summary=f"{report.tender.reference}: {m.label} deemed to agree ({why})")
        n += 1
    return n


def report_close(*, report: EvaluationReport, user, now: datetime | None = None
                 ) -> EvaluationReport:
    """The chair closes the signing: members who have neither signed nor given reasons
    are recorded as agreeing (Reg 53), and the report stands."""
    now = now or timezone.now()
    with transaction.atomic():
        report = EvaluationReport.objects.select_for_update().select_related("tender").get(
            pk=report.pk)
        committee = _lock(report.tender.committee)
        policies.require_chair(committee, user)
        if committee.stage != Stage.REPORT or report.completed_at is not None:
            raise refuse("__all__", _("The report is not open for signature."),
                         "report_not_open")
        _deem_rest(report, committee, now=now, why="closed by the chair")
        _complete_if_signed(report, committee, now=now)
    _progress_on_commit(committee, Stage.REPORT, "completed")
    return report


def report_deadline_tick(*, now: datetime) -> int:
    """Clock job: reports whose signing time has passed stand, unsigned members deemed to
    agree (Reg 53). Idempotent."""
    from core.clock import for_each

    due = EvaluationReport.objects.filter(completed_at__isnull=True, sign_until__lt=now,
                                          tender__committee__stage=Stage.REPORT
                                          ).values_list("pk", flat=True)

    def step(pk):
        with transaction.atomic():
            report = EvaluationReport.objects.select_for_update().select_related(
                "tender").get(pk=pk)
            committee = _lock(report.tender.committee)
            if report.completed_at is not None or committee.stage != Stage.REPORT \
                    or report.sign_until >= now:
                return False
            _deem_rest(report, committee, now=now, why="signing time over")
            _complete_if_signed(report, committee, now=now)
        _progress_on_commit(committee, Stage.REPORT, "completed")
        return True

    return len(for_each(list(due), step, what="evaluation report"))


def _complete_if_signed(report: EvaluationReport, committee: Committee, *,
                        now: datetime) -> None:
    active = set(committee.members.filter(active=True).values_list("pk", flat=True))
    signed = set(report.signatures.values_list("member_id", flat=True))
    if not active <= signed:
        return
    report.completed_at = now
    report.save(update_fields=["completed_at"])
    committee.stage = Stage.DONE
    committee.save(update_fields=["stage"])
    _render_final(report)
    audit_record(actor="system", action="evaluation.report_completed", obj=report,
                 payload={"sha256": report.sha256, "candidates": report.candidates},
                 summary=f"{report.tender.reference}: evaluation report completed")
    lifecycle.tender_transition(tender=report.tender, to=S.CANDIDATES, by=lifecycle.SYSTEM,
                                reason="evaluation report signed", now=now)


def _render_final(report: EvaluationReport) -> None:
    from .pdf.report import evaluation_report_pdf

    pdf = evaluation_report_pdf(report, final=True)
    report.final_pdf.save(f"evaluation-report-signed-{report.sha256[:12]}.pdf",
                          ContentFile(pdf), save=False)
    report.save(update_fields=["final_pdf"])
