"""Avoidance (回避): one function per rule, each naming the experts it excludes and why.

Every rule takes the same :class:`Context` and the ids of the experts still in question
and returns ``{expert_id: reason_code}``. The draw runs them all, records every
exclusion with all its reasons, and commits to that list's digest before the public
input exists (``expert_pool.draw``). Sources: Reg 46 (supervising department), Interim
12 and local practice (relations, employment within 3 years, penalties); the numbers
that vary by centre are settings, read at call time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from bidding.bids import selectors as bid_selectors
from bidding.tenders.models import Tender

from .models import DrawMember, Employment, Expert, Penalty, Relation, Unavailability


@dataclass(frozen=True)
class Context:
    tender: Tender
    # The tenderer and its agency.
    tenderer_ids: frozenset[int]
    # Everyone bidding or who obtained the documents (a bidder-to-be is a party too).
    bidder_ids: frozenset[int]
    evaluation_day: date
    now: datetime

    @property
    def party_ids(self) -> frozenset[int]:
        return self.tenderer_ids | self.bidder_ids


def context_for(tender: Tender, *, now: datetime) -> Context:
    bidders = set(bid_selectors.bidder_organisations(tender))
    bidders |= set(tender.registrations.values_list("organisation_id", flat=True))
    return Context(
        tender=tender,
        tenderer_ids=frozenset(tender.owner_organisations()),
        bidder_ids=frozenset(bidders),
        evaluation_day=timezone.localdate(tender.opening_time),
        now=now,
    )


def _chunks(ids: Iterable[int], size: int = 20000):
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def employment_years() -> int:
    return int(getattr(settings, "EXPERT_AVOID_EMPLOYMENT_YEARS", 3))


def employed_by_a_party(ctx: Context, expert_ids: set[int]) -> dict[int, str]:
    """Works, or worked within the last ``EXPERT_AVOID_EMPLOYMENT_YEARS`` (3), for the
    tenderer, its agency or any bidder of this tender."""
    if not ctx.party_ids:
        return {}
    out: dict[int, str] = {}
    current = Expert.objects.filter(employer_id__in=ctx.party_ids).values_list("pk", flat=True)
    out.update({pk: "employer_is_party" for pk in current if pk in expert_ids})
    since = timezone.localdate(ctx.now) - timedelta(days=365 * employment_years())
    past = Employment.objects.filter(organisation_id__in=ctx.party_ids).filter(
        Q(until__isnull=True) | Q(until__gte=since)
    ).values_list("expert_id", flat=True)
    for pk in past:
        if pk in expert_ids:
            out.setdefault(pk, "recent_employer_is_party")
    return out


def related_to_a_party(ctx: Context, expert_ids: set[int]) -> dict[int, str]:
    """Declared relations to a party: a near relative working there or representing it,
    a shareholding or directorship, or a relative who is a party's legal representative
    in the organisation register."""
    if not ctx.party_ids:
        return {}
    names = [
        n for n in Organisation.objects.filter(pk__in=ctx.party_ids)
        .values_list("legal_representative", flat=True) if n
    ]
    rows = Relation.objects.filter(
        Q(organisation_id__in=ctx.party_ids) | Q(person_name__in=names)
    ).values_list("expert_id", flat=True)
    return {pk: "related_to_party" for pk in rows if pk in expert_ids}


def supervising_department_staff(ctx: Context, expert_ids: set[int]) -> dict[int, str]:
    """Staff of an administrative supervision department may not sit (Reg 46)."""
    departments = list(Organisation.objects.filter(kind=Organisation.Kind.SUPERVISOR)
                       .values_list("pk", flat=True))
    rows = Expert.objects.filter(employer_id__in=departments).values_list("pk", flat=True)
    return {pk: "supervising_department" for pk in rows if pk in expert_ids}


def penalised(ctx: Context, expert_ids: set[int]) -> dict[int, str]:
    """A penalty in force (no end date, or ending on or after today, the local day:
    a penalty imposed today counts from midnight Beijing time, not from 08:00)."""
    today = timezone.localdate(ctx.now)
    rows = Penalty.objects.filter(
        Q(until__isnull=True) | Q(until__gte=today), imposed_on__lte=today
    ).values_list("expert_id", flat=True)
    return {pk: "penalised" for pk in rows if pk in expert_ids}


def unavailable(ctx: Context, expert_ids: set[int]) -> dict[int, str]:
    """Marked unavailable on the evaluation day in the expert's own calendar."""
    rows = Unavailability.objects.filter(
        start__lte=ctx.evaluation_day, end__gte=ctx.evaluation_day
    ).values_list("expert_id", flat=True)
    return {pk: "unavailable" for pk in rows if pk in expert_ids}


def service_limit() -> tuple[int, int]:
    """(N, M): at most N services for one tenderer within M months (settings)."""
    return (int(getattr(settings, "EXPERT_MAX_SERVICES_PER_TENDERER", 3)),
            int(getattr(settings, "EXPERT_SERVICE_WINDOW_MONTHS", 12)))


def served_tenderer_too_often(ctx: Context, expert_ids: set[int]) -> dict[int, str]:
    """Already sat N times for this tenderer in the last M months (another seat would
    make more than N)."""
    n, months = service_limit()
    since = ctx.now - timedelta(days=30 * months)
    rows = (
        DrawMember.objects.filter(
            status__in=[DrawMember.Status.CONFIRMED, DrawMember.Status.CALLED],
            draw__tender__tenderer_id=ctx.tender.tenderer_id,
            draw__drawn_at__gte=since,
        )
        .exclude(draw__tender_id=ctx.tender.pk)
        .values("expert_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=n)
        .values_list("expert_id", flat=True)
    )
    return {pk: "served_tenderer_often" for pk in rows if pk in expert_ids}


Rule = Callable[[Context, set[int]], dict[int, str]]

RULES: tuple[Rule, ...] = (
    employed_by_a_party,
    related_to_a_party,
    supervising_department_staff,
    penalised,
    unavailable,
    served_tenderer_too_often,
)

REASON_LABELS = {
    "employer_is_party": _("works for the tenderer, its agency or a bidder"),
    "recent_employer_is_party": _("worked for the tenderer, its agency or a bidder recently"),
    "related_to_party": _("related to the tenderer, its agency or a bidder"),
    "supervising_department": _("staff of a supervising department (Reg 46)"),
    "penalised": _("penalised"),
    "unavailable": _("unavailable on the evaluation day"),
    "served_tenderer_often": _("served this tenderer too often recently"),
}


def exclusions(ctx: Context, expert_ids: set[int]) -> dict[int, list[str]]:
    """Every rule's exclusions: ``{expert_id: [reason codes]}`` (each reason once)."""
    out: dict[int, list[str]] = defaultdict(list)
    for rule in RULES:
        for pk, reason in rule(ctx, expert_ids).items():
            if reason not in out[pk]:
                out[pk].append(reason)
    return dict(out)
