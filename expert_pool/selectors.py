"""Reads on the expert pool; the sealed list is applied here and in ``policies``."""

from __future__ import annotations

from collections import Counter

from django.db.models import QuerySet

from . import avoidance, policies
from .models import Draw, DrawMember, Expert, GatewayMessage


def draw_for_tender(tender) -> Draw | None:
    """The tender's live draw (the latest attempt), or None."""
    return Draw.objects.filter(tender=tender).order_by("-attempt").first()


def draw_progress(draw: Draw) -> dict:
    """Counts only, never names: what the trading centre may see before evaluation."""
    counts = Counter(draw.members.values_list("status", flat=True))
    seats = sum(g["count"] for g in draw.groups)
    pledged = draw.members.filter(pledged_at__isnull=False).count()
    return {"status": draw.status, "seats": seats, "pledged": pledged,
            **{s: counts.get(s, 0) for s in DrawMember.Status.values}}


def exclusion_counts(draw: Draw) -> dict[str, int]:
    """Excluded experts per reason (an expert with two reasons counts under both)."""
    c = Counter(r for row in draw.exclusions for r in row["reasons"])
    return {code: c.get(code, 0) for code in avoidance.REASON_LABELS}


def committee_for(user, draw: Draw) -> list[DrawMember] | None:
    """The seated members if ``user`` may see them, else None (the sealed list)."""
    if not policies.can_see_members(user, draw):
        return None
    return list(draw.members.select_related("expert").filter(
        status=DrawMember.Status.CONFIRMED).order_by("group", "position"))


def my_seats(user) -> QuerySet[DrawMember]:
    """The expert's own seats: the only names an expert learns before evaluation."""
    expert = policies.expert_of(user)
    if expert is None:
        return DrawMember.objects.none()
    return (DrawMember.objects.filter(expert=expert).exclude(status=DrawMember.Status.STANDBY)
            .select_related("draw__tender").order_by("-draw__requested_at"))


def my_messages(user) -> QuerySet[GatewayMessage]:
    expert = policies.expert_of(user)
    if expert is None:
        return GatewayMessage.objects.none()
    return GatewayMessage.objects.filter(expert=expert)


def pool_counts() -> dict[str, int]:
    return dict(Counter(Expert.objects.values_list("status", flat=True)))


# ------------------------------------------------------------ reads for supervision
# supervision reads the pool only through these (import contract in pyproject.toml).


def experts() -> QuerySet[Expert]:
    """Every expert of the pool, to filter further. Used by supervision (case subjects,
    inspections' spot checks and API)."""
    return Expert.objects.all()


def expert_by_code(code: str) -> Expert | None:
    """The expert with this pool code (case-insensitive), or None. Used by supervision
    (case subjects)."""
    return Expert.objects.filter(code__iexact=code).first()


def active_experts() -> QuerySet[Expert]:
    """The admitted (active) experts. Used by supervision's register of supervised
    parties."""
    return Expert.objects.filter(status=Expert.Status.ACTIVE)


def seat_rows(since=None) -> list[tuple]:
    """Every drawn expert who was called or confirmed (backups never called did not sit),
    as tuples (expert code, tenderer credit code, tender reference, tender id, drawn at);
    ``since``: draws from then on. Used by supervision's expert screens."""
    qs = DrawMember.objects.filter(
        status__in=[DrawMember.Status.CONFIRMED, DrawMember.Status.CALLED],
        draw__drawn_at__isnull=False)
    if since is not None:
        qs = qs.filter(draw__drawn_at__gte=since)
    return list(qs.values_list("expert__code", "draw__tender__tenderer__credit_code",
                               "draw__tender__reference", "draw__tender_id", "draw__drawn_at"))
