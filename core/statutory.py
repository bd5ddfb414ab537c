"""Every statutory number the platform enforces, with the article it comes from.

One module owns these numbers so an auditor can find them. Values that vary by
city, or that were not checked against the original text, are *local*: a trading
centre overrides them in ``settings.STATUTORY_OVERRIDES`` (``{"BOND_MAX_ABSOLUTE":
500000}``) and this module reads the override at call time, never at import.

Sources: "Law" = 招标投标法 (2017); "Reg" = 招标投标法实施条例 (2019);
"E-Rules" = 电子招标投标办法 (八部委令第20号, 2013).

The check functions raise ``django.core.exceptions.ValidationError`` keyed by the
field the user should correct, so forms and the API show the message beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.utils.translation import gettext as _

from core import timefmt
from core.citations import cite
from core.refusals import refuse


@dataclass(frozen=True)
class Rule:
    value: object
    source: str
    local: bool = False


RULES: dict[str, Rule] = {
    # Law 24: from the day tender documents are first issued to the bid deadline.
    "DOCS_TO_DEADLINE_MIN_DAYS": Rule(20, "Law 24"),
    # Reg 16: tender documents obtainable for at least five days.
    "DOCS_AVAILABLE_MIN_DAYS": Rule(5, "Reg 16"),
    # Law 23, Reg 21: an amendment affecting bids at least 15 days before the deadline.
    "AMENDMENT_MIN_DAYS": Rule(15, "Law 23, Reg 21"),
    # Reg 21: the same for prequalification documents.
    "AMENDMENT_PREQUAL_MIN_DAYS": Rule(3, "Reg 21"),
    # Reg 22: objections to tender documents up to 10 days before the deadline.
    "OBJECTION_TO_DOCS_MIN_DAYS": Rule(10, "Reg 22"),
    # Reg 26: bid bond at most 2% of the estimated price.
    "BOND_MAX_RATIO": Rule(Decimal("0.02"), "Reg 26"),
    # Reg 26 as applied to works and goods; a local cap.
    "BOND_MAX_ABSOLUTE": Rule(Decimal("800000"), "Reg 26 (local cap)", local=True),
    # Reg 35: bond refunded within 5 days of a withdrawal before the deadline.
    "BOND_REFUND_DAYS": Rule(5, "Reg 35"),
    # Reg 57: bonds refunded, with interest, within 5 days of the contract's signing.
    "BOND_REFUND_AFTER_CONTRACT_DAYS": Rule(5, "Reg 57"),
    # Reg 31: a cancelled tender refunds bonds and document fees, with interest,
    # "promptly" (及时); the days are a local reading, as Reg 35's.
    "BOND_REFUND_AFTER_CANCELLATION_DAYS": Rule(5, "Reg 31 (local: promptly)", local=True),
    # Reg 44: fewer than three bids, no opening.
    "MIN_BIDS_TO_OPEN": Rule(3, "Reg 44"),
    # E-Rules 29-30: the decryption window is set by the tender; this is the default.
    "DECRYPTION_WINDOW_DEFAULT_MINUTES": Rule(30, "E-Rules 29-30 (local)", local=True),
    "DECRYPTION_WINDOW_MIN_MINUTES": Rule(10, "E-Rules 29-30 (local)", local=True),
    "DECRYPTION_WINDOW_MAX_MINUTES": Rule(240, "E-Rules 29-30 (local)", local=True),
    # E-Rules 32 and practice: bidders confirm the opening record within a set time;
    # silence counts as confirmation (local).
    "OPENING_CONFIRM_MINUTES": Rule(30, "E-Rules 32 (local)", local=True),
    # E-Rules 31 leaves the remedy for undecrypted bids to the tender documents; the time
    # the custodians get to open them after the window is a local rule.
    "CUSTODIAN_WINDOW_MINUTES": Rule(60, "E-Rules 31 (local)", local=True),
    # Law 37: the evaluation committee has at least five members, an odd number.
    "COMMITTEE_MIN_SIZE": Rule(5, "Law 37"),
    # Law 37: technical and economic experts are at least two thirds of the members.
    "COMMITTEE_TECH_ECON_MIN_FRACTION": Rule(Fraction(2, 3), "Law 37"),
    # Law 37: experts have worked in the field for at least eight years (senior title).
    "EXPERT_MIN_YEARS": Rule(8, "Law 37"),
    # MOFCOM Order 13 art 21 (local): experts drawn no earlier than 48 h before the opening.
    "DRAW_EARLIEST_HOURS": Rule(48, "MOFCOM Order 13 art 21 (local)", local=True),
    # The same when experts come from another province (远程异地).
    "DRAW_EARLIEST_HOURS_REMOTE": Rule(72, "MOFCOM Order 13 art 21 (local)", local=True),
    # Reg 54: candidates published within 3 days of receiving the evaluation report ...
    "PUBLICITY_WITHIN_DAYS": Rule(3, "Reg 54"),
    # ... and kept up for at least 3 days.
    "PUBLICITY_MIN_DAYS": Rule(3, "Reg 54"),
    # Reg 54: the tenderer answers an objection to the candidates within 3 days; the
    # procedure pauses until it does.
    "PUBLICITY_OBJECTION_ANSWER_DAYS": Rule(3, "Reg 54"),
    # Law 46: the contract is concluded within 30 days of the award notice.
    "CONTRACT_DAYS": Rule(30, "Law 46"),
    # Law 47: the report on the tendering to the supervisor within 15 days of the award.
    "AWARD_REPORT_DAYS": Rule(15, "Law 47"),
    # Reg 58: the performance bond at most 10% of the contract price.
    "PERFORMANCE_BOND_MAX_RATIO": Rule(Decimal("0.10"), "Reg 58"),
    # 评定分离 (local): the award committee has an odd number of members, at least 3.
    "AWARD_COMMITTEE_MIN_SIZE": Rule(3, "评定分离 (local)", local=True),
    # Reminders of the contract and report deadlines this many days before (local).
    "AWARD_REMINDER_DAYS": Rule(3, "local", local=True),
    # 评定分离 price competition (竞价, local practice): the candidates get at least one day
    # from the opening of the second price round to its deadline; its decryption window
    # follows the DECRYPTION_WINDOW_* bounds and its custodians' time
    # CUSTODIAN_WINDOW_MINUTES, as the first round's.
    "PRICE_ROUND_MIN_HOURS": Rule(24, "评定分离 price competition (local practice)",
                                  local=True),
    # At least two law-enforcement officers act in an inspection (行政处罚法 art 42; the
    # double-random inspections, 双随机一公开, draw at least two inspectors).
    "INSPECTORS_MIN": Rule(2, "Administrative Penalty Law art 42"),
    # Retention of electronic records and of notices (local).
    "RECORD_RETENTION_YEARS": Rule(3, "E-Rules (local)", local=True),
    "NOTICE_RETENTION_YEARS": Rule(10, "local", local=True),
    # Reg 53: the committee recommends at most three candidates.
    "CANDIDATES_MAX": Rule(3, "Reg 53"),
    # Trimmed-mean aggregation (tender documents, Reg 49) drops one highest and one lowest
    # member score; with fewer scores than this it falls back to the plain mean (local).
    "EVALUATION_TRIMMED_MEAN_MIN_SCORES": Rule(5, "Reg 49 (local practice)", local=True),
    # A member's score deviating from the other members' mean on a criterion by more than
    # this fraction of the criterion's maximum is an outlier shown to the chair and
    # recorded for supervision (local practice, 评分偏离度).
    "EVALUATION_OUTLIER_FRACTION": Rule(Decimal("0.30"), "local practice", local=True),
    # Reg 53: a member who neither signs nor gives reasons by then is deemed to agree; the
    # time given to sign the report (local).
    "EVALUATION_SIGN_HOURS": Rule(24, "Reg 53 (local)", local=True),
    # Reg 52: the least time a bidder gets to answer a clarification request (local).
    "EVALUATION_CLARIFICATION_MIN_MINUTES": Rule(30, "Reg 52 (local)", local=True),
    # Reg 22: the tenderer answers an objection to the tender documents within 3 days.
    "OBJECTION_TO_DOCS_ANSWER_DAYS": Rule(3, "Reg 22"),
    # Reg 60: a complaint within 10 days of the day the complainant knew or should have
    # known; the time an objection waits for its answer is not counted.
    "COMPLAINT_FILING_DAYS": Rule(10, "Reg 60"),
    # Reg 61: the supervisor decides whether to accept within 3 working days ...
    "COMPLAINT_ACCEPT_WORKING_DAYS": Rule(3, "Reg 61"),
    # ... and decides within 30 working days of acceptance; expert review and testing
    # time are not counted.
    "COMPLAINT_DECISION_WORKING_DAYS": Rule(30, "Reg 61"),
    # Reminders this many working days before a complaint deadline (local).
    "COMPLAINT_REMINDER_WORKING_DAYS": Rule(1, "local", local=True),
    # Supervisors' cases (立案) and penalty decisions. "APL" = 行政处罚法 (2021).
    # APL 60: a penalty decision within 90 days of the case being opened (立案), unless a
    # law, regulation or rule provides otherwise (so local).
    "CASE_DECISION_DAYS": Rule(90, "APL 60 (local)", local=True),
    # APL 64(2): the hearing (听证) is notified at least 7 days before it is held.
    "HEARING_NOTICE_MIN_DAYS": Rule(7, "APL 64"),
    # Reg 67 (collusion, bribery: 1 to 2 years) and Reg 68 (fraud: 1 to 3 years): the
    # period a bidder is disqualified from bidding on tenders that must be tendered.
    "DEBARMENT_MIN_MONTHS": Rule(12, "Reg 67, Reg 68"),
    "DEBARMENT_MAX_MONTHS": Rule(36, "Reg 67, Reg 68"),
    # Reg 71: an expert barred from evaluating "for a period" (一定期限); the longest
    # period is local practice.
    "EXPERT_SUSPENSION_MAX_MONTHS": Rule(36, "Reg 71 (local)", local=True),
}


def value(name: str):
    """The number in force for ``name``: a local override if set, else the default."""
    rule = RULES[name]
    overrides = getattr(settings, "STATUTORY_OVERRIDES", {}) or {}
    if rule.local and name in overrides:
        return type(rule.value)(overrides[name])
    return rule.value


def source(name: str) -> str:
    """Where ``name`` comes from, as the reader of the active language cites it
    ("Law 24" in English, "《招标投标法》第二十四条" in Chinese: core.citations)."""
    return cite(RULES[name].source)


def days(name: str) -> timedelta:
    return timedelta(days=value(name))


# --- checks -----------------------------------------------------------------


def check_deadline_at_publication(
    *, now: datetime, docs_from: datetime, deadline: datetime
) -> None:
    """The deadline is in the future and at least 20 days after documents are issued."""
    if deadline <= now:
        raise refuse(
            "deadline",
            _("The bid deadline must be in the future."),
            "deadline_past",
        )
    issued = max(now, docs_from)
    if deadline - issued < days("DOCS_TO_DEADLINE_MIN_DAYS"):
        raise refuse(
            "deadline",
            _(
                "The bid deadline must be at least %(days)s days after the tender "
                "documents are first issued (%(source)s); the earliest allowed is "
                "%(earliest)s."
            )
            % {
                "days": value("DOCS_TO_DEADLINE_MIN_DAYS"),
                "source": source("DOCS_TO_DEADLINE_MIN_DAYS"),
                "earliest": timefmt.human(issued + days("DOCS_TO_DEADLINE_MIN_DAYS")),
            },
            "deadline_too_soon",
        )


def check_documents_period(
    *, docs_from: datetime, docs_until: datetime, deadline: datetime
) -> None:
    """Documents are obtainable for at least 5 days and not after the deadline."""
    if docs_until - docs_from < days("DOCS_AVAILABLE_MIN_DAYS"):
        raise refuse(
            "docs_until",
            _("Tender documents must be obtainable for at least %(days)s days (%(source)s).")
            % {
                "days": value("DOCS_AVAILABLE_MIN_DAYS"),
                "source": source("DOCS_AVAILABLE_MIN_DAYS"),
            },
            "docs_period_too_short",
        )
    if docs_until > deadline:
        raise refuse(
            "docs_until",
            _("Documents cannot be obtainable after the bid deadline."),
            "docs_after_deadline",
        )


def bond_cap(estimate: Decimal) -> Decimal:
    """The largest bid bond allowed for an estimate: 2% of it, within the local cap."""
    ratio_cap = (Decimal(estimate) * value("BOND_MAX_RATIO")).quantize(Decimal("0.01"))
    return min(ratio_cap, value("BOND_MAX_ABSOLUTE"))


def check_bond(*, estimate: Decimal, bond: Decimal) -> None:
    """The bid bond is no more than 2% of the estimate and no more than the local cap."""
    if bond < 0:
        raise refuse("bond_amount", _("The bid bond cannot be negative."), "bond_negative")
    cap = bond_cap(estimate)
    if bond > cap:
        raise refuse(
            "bond_amount",
            _(
                "The bid bond may be at most %(cap)s yuan: 2%% of the estimate, and "
                "no more than %(absolute)s yuan (%(source)s)."
            )
            % {
                "cap": f"{cap:,.2f}",
                "absolute": f"{value('BOND_MAX_ABSOLUTE'):,.0f}",
                "source": source("BOND_MAX_RATIO"),
            },
            "bond_over_cap",
        )


def check_opening_time(*, deadline: datetime, opening_time: datetime | None) -> None:
    """The opening takes place at the bid deadline (Law 34)."""
    if opening_time is not None and opening_time != deadline:
        raise refuse(
            "opening_time",
            _("The opening time must equal the bid deadline (Law 34)."),
            "opening_not_deadline",
        )


def check_decryption_window(minutes: int) -> None:
    low = value("DECRYPTION_WINDOW_MIN_MINUTES")
    high = value("DECRYPTION_WINDOW_MAX_MINUTES")
    if not low <= minutes <= high:
        raise refuse(
            "decryption_window_minutes",
            _("The decryption window must be between %(low)s and %(high)s minutes.")
            % {"low": low, "high": high},
            "decryption_window",
        )


@dataclass(frozen=True)
class AmendmentDeadline:
    deadline: datetime
    moved: bool
    required_earliest: datetime


def amendment_deadline(
    *,
    now: datetime,
    deadline: datetime,
    requested: datetime | None = None,
    prequalification: bool = False,
) -> AmendmentDeadline:
    """Where the deadline stands after an amendment published at ``now``.

    Law 23 and Reg 21: an amendment that may affect bids must come at least 15 days
    (prequalification: 3 days) before the deadline; otherwise the deadline moves to
    at least that long after the amendment. An amendment at or after the deadline is
    refused. ``requested`` is a later deadline the tenderer asks for; it may not be
    earlier than the law allows.
    """
    if now >= deadline:
        raise refuse(
            "__all__",
            _("The bid deadline has passed; the tender can no longer be amended."),
            "amendment_after_deadline",
        )
    rule = "AMENDMENT_PREQUAL_MIN_DAYS" if prequalification else "AMENDMENT_MIN_DAYS"
    earliest = now + days(rule)
    target = deadline
    if requested is not None:
        if requested < deadline:
            raise refuse(
                "new_deadline",
                _("An amendment cannot bring the bid deadline forward."),
                "deadline_earlier",
            )
        target = requested
    if target < earliest:
        target = earliest
    return AmendmentDeadline(deadline=target, moved=target != deadline, required_earliest=earliest)
