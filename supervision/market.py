"""Cross-tender and Cardinal screens on the platform's own opened tenders.

Every opened tender's announced bids become plain rows (tender, bidder credit code,
announced total price, estimate, maximum price, dates); the engine's co-bidding network
screens and the Cardinal indicators those columns allow run over all of them, and the
findings become flags (kind ``screen``, ``Flag.screen`` = the screen's code) on each
tender concerned. Previous market flags are replaced, so running it again is harmless.

Awards do not exist on the platform yet, so no row has a winner (nor a disqualified
bid): the screens that need one are skipped and listed in ``SKIPPED``.

When it runs: after each opening closes (``on_opening_closed`` queues the Celery task
``supervision.tasks.screen_market`` once the opening commits). Not on the clock: it reads
every opened bid of the platform, which is far from cheap enough for every tick, and the
market only changes when an opening closes. The per-tender screening (screening.py)
replaces every screen flag of the tender it screens, market flags included; the task,
queued after that screening, puts them back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .models import Flag
from .screens import cardinal
from .screens.market import Market
from .screens.result import ScreenResult
from .screens.score import cross_tender_screening

log = logging.getLogger(__name__)

# The cross-tender screens and Cardinal indicators that run on platform data.
NETWORK_SCREENS = ("cobidding_group",)
CARDINAL_SCREENS = ("R003", "R018")
# Cardinal indicators left out because the per-tender screening (screening.py) already
# raises the same finding on every opened tender: R028 is the identical_prices screen
# under another code, and a second flag would count one finding twice in the score.
DUPLICATES = {"R028": "identical_prices"}
# Every code this module writes, so that replacing market flags leaves the per-tender
# screens' flags alone.
MARKET_CODES = ("cobidding_group", "bid_rotation", "perennial_loser",
                *cardinal.INDICATORS)
# Skipped on platform data, with the column they need that the platform does not have.
SKIPPED = {
    "bid_rotation": "winner", "perennial_loser": "winner",
    "R024": "winner", "R025": "winner", "R035": "winner, disqualified",
    "R036": "disqualified", "R038": "disqualified", "R058": "winner",
}


@dataclass
class MarketReport:
    """What a market run did: tenders and bids read, flags written, screens skipped."""

    tenders: int = 0
    bids: int = 0
    flags: int = 0
    skipped: dict = field(default_factory=lambda: dict(SKIPPED))
    failed: list = field(default_factory=list)


def _opened_tenders():
    from bidding.opening.models import BidOpening
    from bidding.tenders.models import Tender

    ids = (BidOpening.objects.filter(status=BidOpening.Status.DECRYPTED,
                                     announced_at__isnull=False)
           .values_list("session__tender_id", flat=True).distinct())
    return Tender.objects.filter(pk__in=list(ids)).order_by("pk")


def platform_rows(report: MarketReport | None = None) -> list[dict]:
    """One row per announced bid of every opened tender. ``bidder`` is the bidder's
    credit code (what flags name as subjects); a tender whose rows cannot be read is
    logged and left out, and the others are screened."""
    from .screening import tender_rows

    rows: list[dict] = []
    for tender in _opened_tenders():
        try:
            bids = tender_rows(tender)
        except Exception:  # noqa: BLE001 - one unreadable tender must not stop the market
            log.exception("reading tender %s for the market screens failed", tender.pk)
            if report is not None:
                report.failed.append(tender.pk)
            continue
        for r in bids:
            rows.append({
                "tender": tender.pk, "tender_reference": tender.reference,
                "bid": r["bid"], "bidder": r["credit_code"],
                "bidder_name": r.get("bidder_name") or r["credit_code"],
                "amount": r["amount"],
                "estimate": float(tender.estimate) if tender.estimate else None,
                "max_price": float(tender.max_price) if tender.max_price else None,
                "date": tender.deadline, "published": tender.published_at,
                "deadline": tender.deadline,
            })
    return rows


def run_market_screens(rows: Iterable[dict]) -> list[ScreenResult]:
    """The fired network and Cardinal screens of the rows, each with its ``tender``."""
    market = Market.from_rows(rows)
    if not market.tenders:
        return []
    fences = cardinal.market_fences(market)
    out: list[ScreenResult] = []
    for tender, bids in market.tenders.items():
        for code in CARDINAL_SCREENS:
            if not all(market.has(c) for c in cardinal.NEEDS[code]):
                continue
            r = cardinal.INDICATORS[code](bids, fences)
            r.tender = tender
            out.append(r)
    if market.has("bidder"):
        screened = cross_tender_screening(market)
        for ts in screened.tenders.values():
            out.extend(ts.results)
    return [r for r in out if r.fired]


def _subjects(result: ScreenResult, bids: list[dict]) -> list[str]:
    """Credit codes the finding names: a group's members, or the bidders of the bids
    its evidence lists (every bidder of the tender when it lists none)."""
    ev = result.evidence or {}
    if "members" in ev:
        return sorted(str(m) for m in ev["members"])
    by_bid = {str(b["bid"]): str(b["bidder"]) for b in bids}
    found: set[str] = set()

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)
        elif str(v) in by_bid:
            found.add(by_bid[str(v)])

    walk(ev)
    return sorted(found or {str(b["bidder"]) for b in bids})


def persist(results: list[ScreenResult], rows: list[dict], *, now=None) -> int:
    """Replace every market flag with ``results``; returns the number of flags."""
    from .screening import _json

    now = now or timezone.now()
    bids_of: dict = {}
    reference: dict = {}
    for r in rows:
        bids_of.setdefault(r["tender"], []).append(r)
        reference[r["tender"]] = r.get("tender_reference") or str(r["tender"])
    made = 0
    with transaction.atomic():
        Flag.objects.filter(kind=Flag.Kind.SCREEN, screen__in=MARKET_CODES).delete()
        seen = set()
        for res in results:
            subjects = _subjects(res, bids_of.get(res.tender, []))
            key = (res.code, res.tender, tuple(subjects))
            if key in seen:  # the same finding twice is one flag (unique constraint)
                continue
            seen.add(key)
            Flag.objects.create(
                kind=Flag.Kind.SCREEN, screen=res.code, severity=res.severity,
                tender_id=res.tender, tender_reference=reference.get(res.tender, ""),
                subjects=subjects, evidence=_json(res.evidence),
                explanation_zh=res.explanation_zh, explanation_en=res.explanation_en,
                raised_at=now)
            made += 1
    return made


def screen_market(*, rows: list[dict] | None = None, now=None) -> MarketReport:
    """Screen every opened tender across the market and replace the market flags, then
    rescore the queue (the flags weigh in the score). Idempotent."""
    from .screening import rescore

    report = MarketReport()
    rows = platform_rows(report) if rows is None else rows
    report.tenders = len({r["tender"] for r in rows})
    report.bids = len(rows)
    results = run_market_screens(rows)
    with transaction.atomic():
        report.flags = persist(results, rows, now=now)
        rescore()
    log.info("market screens: %s tenders, %s bids, %s flags; skipped %s", report.tenders,
             report.bids, report.flags, ", ".join(sorted(SKIPPED)))
    return report


def network(rows: list[dict] | None = None) -> dict:
    """The co-bidding network for the chart: nodes (credit code, name, tenders entered,
    group index or None), edges (a, b, joint tenders) and the suspicious groups."""
    from .screens.network import cobidding_graph, cobidding_groups, screen_cobidding_group

    rows = platform_rows() if rows is None else rows
    market = Market.from_rows(rows)
    names = {str(r["bidder"]): r.get("bidder_name") or str(r["bidder"]) for r in rows}
    if not market.tenders:
        return {"nodes": [], "edges": [], "groups": []}
    graph = cobidding_graph(market)
    groups = [g for g in cobidding_groups(market, graph=graph)
              if screen_cobidding_group(g).fired]
    group_of = {m: i for i, g in enumerate(groups) for m in g.members}
    nodes = [{"id": n, "name": names.get(n, n), "tenders": d.get("tenders", 0),
              "group": group_of.get(n)} for n, d in sorted(graph.nodes(data=True))]
    edges = [{"a": a, "b": b, "weight": w} for a, b, w in
             sorted(graph.edges(data="weight"))]
    return {"nodes": nodes, "edges": edges,
            "groups": [sorted(g.members) for g in groups]}


def on_opening_closed(sender, *, tender, session=None, **kwargs) -> None:
    """Receiver of ``opening_closed``: queue the market screens once the opening has
    committed. A failure is logged; the opening goes on."""
    transaction.on_commit(_queue)


def _queue() -> None:
    from .tasks import screen_market as task

    try:
        task.delay()
    except Exception:  # noqa: BLE001 - no broker or a failing screen: the opening stands
        log.exception("could not run the market screens after an opening")
