"""Cross-tender and Cardinal screens on the platform's own opened tenders.

Every opened tender's announced bids become plain rows (tender, bidder credit code,
announced total price, estimate, maximum price, dates); the engine's co-bidding network
screens and the Cardinal indicators those columns allow run over all of them, and the
findings become flags (kind ``screen``, ``Flag.screen`` = the screen's code) on each
tender concerned. Previous market flags are replaced, so running it again is harmless.

Outcomes: a bid is ``disqualified`` when the evaluation failed it at qualification
(``EvaluatedBid.qualified`` False, with its ``rejection_reason``), and the ``winner`` is
``AwardDecision.winner``; a tender not yet evaluated or awarded has neither (None, not
0). The Cardinal indicators that need them (``OUTCOME_SCREENS``) run on the tenders whose
outcome is known, with their fences over those tenders only. Bid rotation and perennial
losers (``WINNER_SCREENS``) read a bidder's whole record of wins and losses, where a
tender not yet awarded would count as a loss for every bidder: they run on the
sub-market of awarded tenders only (``winner_screens``).

When it runs: after each opening closes (``on_opening_closed`` queues the Celery task
``supervision.tasks.screen_market`` once the opening commits), and when a tender reaches
``candidates`` or ``awarded`` (lifecycle hooks registered in apps.py, receivers.py).
Not on the clock: it reads every opened bid of the platform, which is far from cheap
enough for every tick, and the market only changes at those moments. The per-tender
screening (screening.py) leaves the market flags alone.
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
# The Cardinal indicators that need the evaluation's disqualifications or the award's
# winner: each runs on the tenders whose outcome it needs is known.
OUTCOME_SCREENS = ("R024", "R025", "R035", "R036", "R038", "R058")
OUTCOMES = ("winner", "disqualified")
# Cardinal indicators left out because the per-tender screening (screening.py) already
# raises the same finding on every opened tender: R028 is the identical_prices screen
# under another code, and a second flag would count one finding twice in the score.
DUPLICATES = {"R028": "identical_prices"}
# Every code this module writes, so that replacing market flags leaves the per-tender
# screens' flags alone.
MARKET_CODES = ("cobidding_group", "bid_rotation", "perennial_loser",
                *cardinal.INDICATORS)
# The cross-tender screens that read bidders' records of wins and losses: they run over
# the awarded tenders only (a tender not yet awarded is no one's loss).
WINNER_SCREENS = ("bid_rotation", "perennial_loser")
# Skipped on platform data, with the column they need that the platform does not have:
# none any more (the winner screens run on the awarded tenders).
SKIPPED: dict[str, str] = {}


@dataclass
class MarketReport:
    """What a market run did: tenders and bids read, flags written, screens skipped."""

    tenders: int = 0
    bids: int = 0
    flags: int = 0
    skipped: dict = field(default_factory=lambda: dict(SKIPPED))
    failed: list = field(default_factory=list)


def _opened_tenders():
    from bidding.opening.selectors import opened_tender_ids
    from bidding.tenders.selectors import tenders

    return tenders().filter(pk__in=opened_tender_ids()).order_by("pk")


def platform_rows(report: MarketReport | None = None) -> list[dict]:
    """One row per announced bid of every opened tender. ``bidder`` is the bidder's
    credit code (what flags name as subjects); a tender whose rows cannot be read is
    logged and left out, and the others are screened."""
    from .screening import tender_rows

    rows: list[dict] = []
    for tender in _opened_tenders():
        try:
            bids = tender_rows(tender)
            winner, disqualified, reasons = tender_outcome(tender)
        except Exception:  # noqa: BLE001 - one unreadable tender must not stop the market
            log.exception("reading tender %s for the market screens failed", tender.pk)
            if report is not None:
                report.failed.append(tender.pk)
            continue
        for r in bids:
            bid = str(r["bid"])
            rows.append({
                "tender": tender.pk, "tender_reference": tender.reference,
                "bid": r["bid"], "bidder": r["credit_code"],
                "bidder_name": r.get("bidder_name") or r["credit_code"],
                "amount": r["amount"],
                "estimate": float(tender.estimate) if tender.estimate else None,
                "max_price": float(tender.max_price) if tender.max_price else None,
                "date": tender.deadline, "published": tender.published_at,
                "deadline": tender.deadline,
                "winner": None if winner is None else int(bid == winner),
                "disqualified": disqualified.get(bid),
                "rejection_reason": reasons.get(bid, ""),
            })
    return rows


def tender_outcome(tender) -> tuple[str | None, dict[str, int], dict[str, str]]:
    """The winning bid's public id (None before the award); per bid public id, 1 if the
    evaluation disqualified it, 0 if it qualified (bids not yet judged are absent); and
    the disqualified bids' rejection reasons."""
    from bidding.award.selectors import winner_public_id
    from bidding.evaluation.selectors import qualification_outcomes

    disq, reasons = {}, {}
    for pid, ok, reason in qualification_outcomes(tender.pk):
        disq[pid] = int(not ok)
        if not ok:
            reasons[pid] = reason
    return winner_public_id(tender.pk), disq, reasons


def run_market_screens(rows: Iterable[dict]) -> list[ScreenResult]:
    """The fired network and Cardinal screens of the rows, each with its ``tender``."""
    rows = list(rows)
    # The outcomes are known on some tenders only: the screens that do not need them
    # see none (a tender not yet awarded is no loss).
    market = Market.from_rows({k: v for k, v in r.items() if k not in OUTCOMES}
                              for r in rows)
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
    out += outcome_screens(rows)
    out += winner_screens(rows)
    if market.has("bidder"):
        screened = cross_tender_screening(market)
        for ts in screened.tenders.values():
            out.extend(ts.results)
    return [r for r in out if r.fired]


def outcome_screens(rows: list[dict]) -> list[ScreenResult]:
    """The Cardinal indicators needing a winner or disqualifications, each over the
    sub-market of tenders where every bid's needed outcome is known (fences included)."""
    known: dict = {}
    for r in rows:
        k = known.setdefault(r["tender"], {o: True for o in OUTCOMES})
        for o in OUTCOMES:
            k[o] = k[o] and r.get(o) is not None
    out: list[ScreenResult] = []
    subs: dict = {}
    for code in OUTCOME_SCREENS:
        needs = tuple(o for o in OUTCOMES if o in cardinal.NEEDS[code])
        if needs not in subs:
            keep = {t for t, k in known.items() if all(k[o] for o in needs)}
            sub = Market.from_rows(r for r in rows if r["tender"] in keep)
            subs[needs] = (sub, cardinal.market_fences(sub) if sub.tenders else None)
        sub, fences = subs[needs]
        if not sub.tenders or not sub.has(*cardinal.NEEDS[code]):
            continue
        for tender, bids in sub.tenders.items():
            r = cardinal.INDICATORS[code](bids, fences)
            r.tender = tender
            if r.fired and "disqualified" in needs:
                # The evaluation's reasons, so the supervisor can judge the rejections.
                r.evidence["rejections"] = [
                    {"bidder": b.get("bidder"), "bidder_name": b.get("bidder_name"),
                     "amount": b["amount"], "reason": b.get("rejection_reason", "")}
                    for b in bids if b.get("disqualified")]
            out.append(r)
    return out


def winner_screens(rows: list[dict]) -> list[ScreenResult]:
    """Bid rotation and perennial losers over the sub-market of awarded tenders (every
    bid's ``winner`` known): wins and losses are counted there only, so a tender still
    being evaluated is no loss. Co-bidding groups are found in that sub-market too
    (rotation is a finding only within a group); their own flags come from the whole
    market (``run_market_screens``), so only the winner screens' results are kept."""
    known: dict = {}
    for r in rows:
        known[r["tender"]] = known.get(r["tender"], True) and r.get("winner") is not None
    awarded = {t for t, k in known.items() if k}
    sub = Market.from_rows({k: v for k, v in r.items() if k != "disqualified"}
                           for r in rows if r["tender"] in awarded)
    if not sub.tenders or not sub.has("bidder", "winner"):
        return []
    screened = cross_tender_screening(sub)
    return [r for ts in screened.tenders.values() for r in ts.results
            if r.code in WINNER_SCREENS]


def _subjects(result: ScreenResult, bids: list[dict]) -> list[str]:
    """Credit codes the finding names: a group's members, or the bidders of the bids
    its evidence lists (every bidder of the tender when it lists none)."""
    ev = result.evidence or {}
    if result.code == "perennial_loser" and ev.get("bidder"):
        return [str(ev["bidder"])]
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
             report.bids, report.flags, ", ".join(sorted(SKIPPED)) or "none")
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
