"""Screening one tender after its opening, and the queue's risk scores.

The screens (supervision/screens) run on row dicts; here the platform's opened bids become
rows (``bid_row``), each fired screen becomes a Flag, and every screened tender's risk
score is recomputed, because the unsupervised score ranks a tender among all the others.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from .extract import extract_file
from .models import Flag, RiskScore
from .screens import score as engine
from .screens.documents import screen_identical_rare_strings, screen_near_duplicate_documents
from .screens.identity import (
    SAME_VALUE_FIELDS,
    screen_identical_unit_prices,
    screen_other_bidder_name,
    screen_same_value,
)
from .screens.platform import bid_row
from .screens.price import PRICE_SCREENS
from .screens.result import LOW, ScreenResult, raised

log = logging.getLogger(__name__)


def _json(value):
    """JSON-ready (numpy numbers and NaN made plain) for the JSON fields."""

    def default(o):
        try:
            return float(o)
        except (TypeError, ValueError):
            return str(o)

    text = json.dumps(value, default=default, ensure_ascii=False)
    return json.loads(text.replace("NaN", "null"))


def tender_rows(tender) -> list[dict]:
    """The tender's opened bids whose prices were announced, as screen rows."""
    from bidding.bids.selectors import bonds_of_tender
    from bidding.opening.selectors import decrypted_openings

    items = decrypted_openings(tender, announced_only=True)
    bonds = {b.bidder_id: b for b in bonds_of_tender(tender)}
    max_price = float(tender.max_price) if getattr(tender, "max_price", None) else None
    rows = []
    for item in items:
        sheet = dict(item.price_sheet or {})
        total = sheet.get("total", sheet.get("total_price"))
        try:
            amount = float(total)
        except (TypeError, ValueError):
            continue  # no price to screen; the opening record says why
        sheet["total"] = amount
        extra = {"credit_code": item.bid.bidder.credit_code}
        if max_price:
            extra["max_price"] = max_price
        rows.append(bid_row(item.bid, bond=bonds.get(item.bid.bidder_id), sheet=sheet,
                            **extra))
    return rows


def run_screens(rows: list[dict]) -> list[ScreenResult]:
    """The per-tender screens the platform's rows allow: price screens on the announced
    prices, identical prices, hugging the maximum price, shared values, unit prices."""
    if not rows:
        return []
    out = []
    has_cap = any(r.get("max_price") or r.get("estimate") for r in rows)
    for fn in PRICE_SCREENS:
        if fn.__name__ == "screen_hugging_cap" and not has_cap:
            continue
        out.append(fn(rows))
    for field in SAME_VALUE_FIELDS:
        if any(r.get(field) not in (None, "") for r in rows):
            out.append(screen_same_value(rows, field))
    if any(r.get("unit_prices") for r in rows):
        out.append(screen_identical_unit_prices(rows))
    return out


# The flag raised for a bid whose decrypted file gave no text: a supervisor must know
# that the document screens did not see it. It says nothing about collusion, so it does
# not count in the risk score (market_screening leaves it out).
TEXT_NOT_EXTRACTED = "text_not_extracted"


def document_rows(tender) -> tuple[list[dict], list[dict]]:
    """The tender's decrypted bids as screen rows carrying the text of their bid file
    (read through ``bidding.opening.selectors.open_bid_document``, audited), and one
    entry per bid whose text could not be extracted (bid, bidder, credit code, reason):
    none is skipped silently."""
    from bidding.opening.at_rest import DocumentUnavailable
    from bidding.opening.selectors import decrypted_openings, open_bid_document
    from core.platform_keys import PlatformKeyUnavailable
    from crypto.errors import CryptoError

    items = decrypted_openings(tender)
    rows, failed = [], []
    for item in items:
        code = item.bid.bidder.credit_code
        # The bidder is named by its credit code (not its row id) so that the screens'
        # evidence, which names bidders, maps to the flag's subjects.
        row = bid_row(item.bid, credit_code=code, bidder=code)
        if not item.document:
            reason = "no decrypted file is stored for this bid"
        else:
            try:
                with open_bid_document(item, user="supervision",
                                       purpose="supervision.screening") as fh:
                    got = extract_file(fh)
            except (OSError, CryptoError, DocumentUnavailable, PlatformKeyUnavailable) as exc:
                # A missing, unreadable or tampered file is this bid's reason.
                reason = f"the decrypted file could not be opened: {exc}"
            else:
                reason = got.error
                if not reason and not got.text.strip():
                    reason = f"the {got.kind.upper()} file holds no text"
        if reason:
            failed.append({"bid": row["bid"], "bidder": row["bidder_name"],
                           "credit_code": row["credit_code"], "reason": reason})
            continue
        row["text"] = got.text
        row["text_kind"] = got.kind
        row["text_truncated"] = got.truncated
        rows.append(row)
    return rows, failed


def run_document_screens(rows: list[dict]) -> list[ScreenResult]:
    """Near-duplicate documents, identical rare strings, another bidder's name inside a
    bid, over the bids whose text was extracted."""
    if len(rows) < 2:
        return []
    return [screen_near_duplicate_documents(rows), screen_identical_rare_strings(rows),
            screen_other_bidder_name(rows)]


def text_not_extracted(failed: list[dict]) -> ScreenResult | None:
    """One low-severity finding naming every bid whose text could not be extracted."""
    if not failed:
        return None
    listing = "; ".join(f"{f['bidder']} ({f['bid']}): {f['reason']}" for f in failed)
    return raised(TEXT_NOT_EXTRACTED, LOW, float(len(failed)),
                  f"以下投标文件无法提取文本，文件类筛查未覆盖：{listing}。",
                  f"Text could not be extracted from these bid files, so the document "
                  f"screens did not cover them: {listing}.", bids=failed)


def _subjects(evidence, by_bid: dict[str, str]) -> list[str]:
    """Credit codes of the bidders whose bids the evidence names."""
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

    walk(evidence)
    return sorted(found)


def screen_tender_after_opening(*, tender, now=None) -> RiskScore:
    """Screen one opened tender: replace its screen flags with the screens that fire,
    store its screen values, and recompute every tender's risk score. Idempotent."""
    now = now or timezone.now()
    rows = tender_rows(tender)
    results = run_screens(rows)
    by_bid = {str(r["bid"]): r["credit_code"] for r in rows}
    features = engine._price_features(rows, results) if rows else {}
    try:
        results += _document_results(tender, by_bid)
    except Exception:  # noqa: BLE001 - a document failure must not lose the price flags
        log.exception("document screens of tender %s failed", tender.pk)
    with transaction.atomic():
        # The tender's own screens only: the market and expert screens (market.py,
        # expert_screening.py) are replaced by their own runs, and the evaluation's
        # outlying scores are recorded once, by the evaluation.
        from .evaluation_receivers import SCREEN as EVALUATION_OUTLIER
        from .expert_screening import CODES as EXPERT_CODES
        from .market import MARKET_CODES

        Flag.objects.filter(tender_id=tender.pk, kind=Flag.Kind.SCREEN).exclude(
            screen__in=(*MARKET_CODES, *EXPERT_CODES, EVALUATION_OUTLIER)).delete()
        for r in results:
            if not r.fired:
                continue
            Flag.objects.create(
                kind=Flag.Kind.SCREEN, screen=r.code, severity=r.severity,
                tender_id=tender.pk, tender_reference=tender.reference,
                subjects=_subjects(r.evidence, by_bid), evidence=_json(r.evidence),
                explanation_zh=r.explanation_zh, explanation_en=r.explanation_en,
                raised_at=now)
        risk, _ = RiskScore.objects.update_or_create(
            tender_id=tender.pk,
            defaults={
                "tender_reference": tender.reference, "tender_title": tender.title[:300],
                "features": _json(features),
                "prices": sorted(float(r["amount"]) for r in rows),
                "max_price": float(tender.max_price) if tender.max_price else None,
                "computed_at": now,
            })
        rescore()
    risk.refresh_from_db()
    return risk


def _document_results(tender, by_bid: dict[str, str]) -> list[ScreenResult]:
    """The document screens' results, and the text-not-extracted finding (``by_bid`` is
    completed with the bids seen here, for the flags' subjects)."""
    docs, failed = document_rows(tender)
    for r in docs:
        by_bid.setdefault(str(r["bid"]), r["credit_code"])
        by_bid.setdefault(r["credit_code"], r["credit_code"])
    for f in failed:
        by_bid.setdefault(str(f["bid"]), f["credit_code"])
    out = run_document_screens(docs)
    missing = text_not_extracted(failed)
    return out + ([missing] if missing else [])


def market_screening(risks: Iterable[RiskScore] | None = None) -> engine.MarketScreening:
    """The stored screen values and flags of every screened tender, as the engine's
    MarketScreening (so that the score functions run unchanged on the platform)."""
    risks = list(risks if risks is not None else RiskScore.objects.all())
    fired: dict[int, list[ScreenResult]] = {r.tender_id: [] for r in risks}
    for f in Flag.objects.filter(tender_id__in=list(fired)).exclude(screen=TEXT_NOT_EXTRACTED):
        code = f.screen or f.kind
        fired[f.tender_id].append(ScreenResult(code, True, f.severity, None, {}, "", ""))
    tenders = {}
    for r in risks:
        ts = engine.TenderScreening(r.tender_id)
        ts.features = {k: (math.nan if v is None else float(v))
                       for k, v in (r.features or {}).items() if k in engine.FEATURES}
        ts.results = fired[r.tender_id]
        tenders[r.tender_id] = ts
    return engine.MarketScreening(tenders, [])


def rescore() -> None:
    """Recompute every tender's unsupervised score (ranks are relative to all tenders),
    and its learned score when a trained model is active."""
    risks = list(RiskScore.objects.all())
    if not risks:
        return
    screening = market_screening(risks)
    scores = engine.unsupervised_scores(screening)
    learned = learned_scores_for(screening)
    for r in risks:
        r.score = scores[r.tender_id]
        r.learned_score = learned.get(r.tender_id) if learned else None
    RiskScore.objects.bulk_update(risks, ["score", "learned_score"])


def learned_scores_for(screening) -> dict:
    """The active learned model's scores, or {} while none is trained."""
    from .learning import active_model_scores

    return active_model_scores(screening)


def on_opening_closed(sender, *, tender, session=None, **kwargs) -> None:
    """Receiver of ``opening_closed``: screening must never break an opening, so a
    failure is logged and the opening goes on."""
    try:
        screen_tender_after_opening(tender=tender)
    except Exception:  # noqa: BLE001 - isolate the opening from a screening failure
        log.exception("screening tender %s after its opening failed", tender.pk)
