"""Expert screens: experts drawn again and again for the same tenderer.

A fair draw spreads seats over the pool: an expert who keeps landing on one tenderer's
committees suggests the draw (its eligible list, its exclusions, its specialty groups)
is being steered. The draw already excludes an expert who served a tenderer more than a
statutory-style limit (expert_pool/avoidance.py); this screen looks at what got through,
over all tenderers at once, so that an outlier is judged against the market.

Rows are plain dicts, one per seat: ``expert``, ``tenderer``, ``tender``, ``at`` (the
draw's time). ``expert_seat_rows`` makes them from the platform's draws.

Not here: "one expert systematically favouring one bidder" needs the experts' evaluation
scores per bid, which the platform does not record yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from .result import HIGH, MEDIUM, ScreenResult, quiet, raised

CODE = "expert_repeat_tenderer"


def iqr_fence(values: Sequence[float], k: float = 1.5) -> float:
    """Q3 + k x IQR, the upper interquartile-range fence."""
    q1, q3 = np.percentile(np.asarray(values, dtype=float), [25, 75])
    return float(q3 + k * (q3 - q1))


def screen_expert_repeat_tenderer(rows: Sequence[Mapping], *, now: datetime | None = None,
                                  window_days: int = 365, limit: int | None = None,
                                  min_count: int = 3, k: float = 1.5) -> ScreenResult:
    """Pairs (expert, tenderer) with many seats on that tenderer's committees within
    ``window_days`` before ``now`` (default: the latest seat). A pair fires when its
    count of distinct tenders reaches ``limit`` if one is given, otherwise when it lies
    above the IQR fence of all pairs' counts and reaches ``min_count`` (with few draws
    the fence alone would call two seats an outlier)."""
    rows = [r for r in rows if r.get("expert") is not None and r.get("tenderer") is not None]
    if not rows:
        return quiet(CODE, 0.0, en="no expert seats to screen", zh="无专家抽取记录")
    times = [r["at"] for r in rows if r.get("at") is not None]
    now = now or (max(times) if times else None)
    since = now - timedelta(days=window_days) if now else None
    tenders: dict[tuple, set] = defaultdict(set)
    for r in rows:
        at = r.get("at")
        if since is not None and at is not None and not (since <= at <= now):
            continue
        tenders[(str(r["expert"]), str(r["tenderer"]))].add(str(r.get("tender")))
    if not tenders:
        return quiet(CODE, 0.0, en="no expert seats in the window", zh="窗口期内无专家抽取记录")
    counts = {pair: len(t) for pair, t in tenders.items()}
    if limit is not None:
        threshold = float(limit)
        hot = {p: c for p, c in counts.items() if c >= limit}
    else:
        fence = iqr_fence(list(counts.values()), k)
        threshold = max(fence, float(min_count))
        hot = {p: c for p, c in counts.items() if c > fence and c >= min_count}
    top = max(counts.values())
    if not hot:
        return quiet(CODE, float(top), threshold=threshold)
    pairs = [{"expert": e, "tenderer": t, "count": c, "tenders": sorted(tenders[(e, t)])}
             for (e, t), c in sorted(hot.items(), key=lambda kv: (-kv[1], kv[0]))]
    listing = "; ".join(f"{p['expert']} → {p['tenderer']} ×{p['count']}" for p in pairs[:10])
    severity = HIGH if top >= 2 * max(threshold, 1.0) else MEDIUM
    return raised(
        CODE, severity, float(top),
        f"同一专家在 {window_days} 天内被反复抽中为同一招标人评标（阈值 {threshold:.1f} 次）："
        f"{listing}。",
        f"The same experts were drawn again and again for the same tenderer within "
        f"{window_days} days (threshold {threshold:.1f}): {listing}.",
        pairs=pairs, threshold=threshold, window_days=window_days)


def expert_seat_rows(*, since: datetime | None = None) -> list[dict]:
    """The platform's seats as rows: every drawn expert who was called or confirmed
    (backups never called did not sit), with the tender's tenderer and the draw time.
    Imports Django lazily: the screens stay plain Python for the batch command."""
    from expert_pool.models import DrawMember

    qs = DrawMember.objects.filter(
        status__in=[DrawMember.Status.CONFIRMED, DrawMember.Status.CALLED],
        draw__drawn_at__isnull=False)
    if since is not None:
        qs = qs.filter(draw__drawn_at__gte=since)
    return [{"expert": code, "tenderer": credit, "tender": ref, "at": at}
            for code, credit, ref, at in qs.values_list(
                "expert__code", "draw__tender__tenderer__credit_code",
                "draw__tender__reference", "draw__drawn_at")]


def screen_platform_experts(*, now: datetime | None = None) -> ScreenResult:
    """The repeat-tenderer screen on the platform's draws, with the window and the limit
    from settings (``SUPERVISION_EXPERT_WINDOW_DAYS``, ``SUPERVISION_EXPERT_REPEAT_LIMIT``;
    without a limit the IQR fence decides)."""
    from django.conf import settings
    from django.utils import timezone

    now = now or timezone.now()
    window = int(getattr(settings, "SUPERVISION_EXPERT_WINDOW_DAYS", 365))
    limit = getattr(settings, "SUPERVISION_EXPERT_REPEAT_LIMIT", None)
    rows = expert_seat_rows(since=now - timedelta(days=window))
    return screen_expert_repeat_tenderer(rows, now=now, window_days=window,
                                         limit=int(limit) if limit is not None else None)
