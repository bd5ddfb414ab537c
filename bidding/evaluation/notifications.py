"""What the evaluation tells people (core.notifications): the committee's members when a
stage opens for scoring, when a stage is locked and when the report is ready to sign;
a bidder's staff when the committee asks it to clarify (Reg 52), with the deadline.

Loaded by ``EvaluationConfig.ready()``. The events name the committee (or the report,
or the request); whom to tell is read from the committee as it stands when the
notifications job runs, seconds later.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bidding.tenders.notifications import (
    bidder_user_ids,
    tender_params,
    tender_url,
    title_of,
)
from core.notifications.registry import Message, register_kind
from core.timefmt import human, iso

from .models import (
    SHEET_STAGES,
    Committee,
    EvaluationClarification,
    EvaluationReport,
    Member,
    Stage,
    StageLock,
)


def room_url(tender) -> str:
    return reverse("evaluation:room", kwargs={"tender_id": tender.pk})


def member_user_ids(committee: Committee) -> list[int]:
    """The committee's active members (a replaced member is no longer told)."""
    return list(Member.objects.filter(committee=committee, active=True)
                .values_list("user_id", flat=True))


def _committee(event) -> Committee | None:
    return Committee.objects.select_related("tender").filter(pk=event.object_id).first()


def _message(committee: Committee, key: str, **params) -> Message:
    tender = committee.tender
    return Message(recipients=member_user_ids(committee),
                   params={**tender_params(tender), **params}, url=room_url(tender),
                   tender_reference=tender.reference, key=key)


def _stage_label(code: str) -> str:
    try:
        return str(Stage(code).label)
    except ValueError:
        return code


# --- a stage opens for scoring ----------------------------------------------------------


def _lock_of(event, committee: Committee) -> StageLock | None:
    """The lock this event recorded: the latest one made by the event's time."""
    locks = StageLock.objects.filter(committee=committee).order_by("-locked_at", "-pk")
    return locks.filter(locked_at__lte=event.time).first() or locks.first()


def _stage_after(committee: Committee, stage: str) -> str | None:
    order = list(SHEET_STAGES)
    for nxt in order[order.index(stage) + 1:]:
        if committee.tender.criteria.filter(stage=nxt).exists():
            return nxt
    return None


def stage_open_message(event) -> Message | None:
    """The stage the event opened for scoring, worked out from the event (the committee
    may have moved on by the time the job runs): the qualification review once the
    chair is first elected, the next stage after a lock, or the stage reopened when the
    qualification is settled again (Reg 48)."""
    committee = _committee(event)
    if committee is None or committee.stage == Stage.FAILED:
        return None
    key = f"evaluation-stage-open:{committee.pk}"
    if event.action == "evaluation.chair_elected":
        earlier = StageLock.objects.filter(committee=committee, locked_at__lte=event.time)
        if earlier.exists():
            return None  # a new chair mid-evaluation opens nothing
        stage = Stage.QUALIFICATION
    elif event.action == "evaluation.stage_locked":
        lock = _lock_of(event, committee)
        stage = lock and _stage_after(committee, lock.stage)
    else:  # reopened: a new occasion
        stage = committee.stage if committee.stage in SHEET_STAGES else None
        key += f":{event.seq}"
    if not stage:
        return None
    return _message(committee, f"{key}:{stage}", stage=stage)


def render_stage_open(p: dict) -> tuple[str, str]:
    stage = _stage_label(p["stage"])
    title = _("%(reference)s: %(stage)s is open for scoring") % {**p, "stage": stage}
    body = _("The evaluation of “%(title)s” is at %(stage)s. Score the bids and submit "
             "your sheet in the evaluation room.") % {**p, "title": title_of(p),
                                                      "stage": stage}
    return title, body


# --- a stage is locked ------------------------------------------------------------------


def stage_locked_message(event) -> Message | None:
    committee = _committee(event)
    if committee is None:
        return None
    lock = _lock_of(event, committee)
    if lock is None:
        return None
    return _message(committee, f"evaluation-stage-locked:{committee.pk}:{lock.stage}",
                    stage=lock.stage, locked_at=iso(lock.locked_at))


def render_stage_locked(p: dict) -> tuple[str, str]:
    stage = _stage_label(p["stage"])
    title = _("%(reference)s: %(stage)s is locked") % {**p, "stage": stage}
    body = _("The chair locked %(stage)s of the evaluation of “%(title)s” at %(at)s; "
             "its scores are settled.") % {**p, "title": title_of(p), "stage": stage,
                                           "at": human(p["locked_at"])}
    return title, body


# --- the report is ready to sign --------------------------------------------------------


def report_message(event) -> Message | None:
    report = EvaluationReport.objects.select_related("tender").filter(
        pk=event.object_id).first()
    if report is None:
        return None
    committee = Committee.objects.select_related("tender").filter(tender=report.tender).first()
    if committee is None:
        return None
    return _message(committee, f"evaluation-report:{report.pk}:{report.sha256}",
                    sign_until=iso(report.sign_until), sha256=report.sha256)


def render_report(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: the evaluation report is ready to sign") % p
    body = _("The evaluation report of “%(title)s” is drawn up. Read it and sign it, or "
             "refuse to sign with your reasons, in the evaluation room by %(until)s; "
             "silence after that counts as agreement (Reg 53).\n"
             "SHA-256 of the report: %(sha256)s") % {
        **p, "title": title_of(p), "until": human(p["sign_until"])}
    return title, body


# --- a bidder is asked to clarify (Reg 52) ----------------------------------------------


def clarification_message(event) -> Message | None:
    item = (EvaluationClarification.objects
            .select_related("committee__tender", "evaluated_bid__bid")
            .filter(pk=event.object_id).first())
    if item is None:
        return None
    tender = item.committee.tender
    question = " ".join(item.question.split())
    if len(question) > 300:
        question = question[:299] + "…"
    # To the bidder asked only; the committee's members are not named.
    return Message(recipients=bidder_user_ids([item.evaluated_bid.bid.bidder_id]),
                   params={**tender_params(tender), "question": question,
                           "answer_by": iso(item.deadline)},
                   url=tender_url(tender), tender_reference=tender.reference)


def render_clarification(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: the evaluation committee asks you to clarify") % p
    body = _("The evaluation committee of “%(title)s” asks your company to clarify in "
             "writing (Reg 52): %(question)s\nAnswer by %(by)s. The answer cannot change "
             "your price or the substance of your bid.") % {
        **p, "title": title_of(p), "by": human(p["answer_by"])}
    return title, body


register_kind(
    "evaluation.stage_open", label=gettext_lazy("Evaluation: a stage opens for scoring"),
    default_email=True,
    actions=("evaluation.chair_elected", "evaluation.stage_locked",
             "evaluation.qualification_resettled"),
    recipients_for_event=stage_open_message, render=render_stage_open, order=40,
)
register_kind(
    "evaluation.stage_locked", label=gettext_lazy("Evaluation: a stage is locked"),
    default_email=False, actions=("evaluation.stage_locked",),
    recipients_for_event=stage_locked_message, render=render_stage_locked, order=41,
)
register_kind(
    "evaluation.report_to_sign",
    label=gettext_lazy("Evaluation: the report is ready to sign"),
    default_email=True, actions=("evaluation.report_drawn_up",),
    recipients_for_event=report_message, render=render_report, order=42,
)
register_kind(
    "evaluation.clarification",
    label=gettext_lazy("The evaluation committee asks your company to clarify"),
    default_email=True, actions=("evaluation.clarification_requested",),
    recipients_for_event=clarification_message, render=render_clarification, order=43,
)
