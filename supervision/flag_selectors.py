"""Reads for the supervisor's queue: tenders ranked by risk, and one tender's flags."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce

from .models import Flag, RiskScore

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def ranked_tenders() -> QuerySet[RiskScore]:
    """Screened tenders, most suspicious first: the learned score where a trained model
    gave one, else the unsupervised score."""
    return RiskScore.objects.annotate(rank_score=Coalesce(F("learned_score"), F("score"))
                                      ).order_by("-rank_score", "-computed_at")


def flags_by_tender(tender_ids) -> dict[int, list[Flag]]:
    out: dict[int, list[Flag]] = {t: [] for t in tender_ids}
    for f in Flag.objects.filter(tender_id__in=list(tender_ids)):
        out.setdefault(f.tender_id, []).append(f)
    for flags in out.values():
        flags.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.screen or f.kind))
    return out


def tender_flags(tender_id: int) -> list[Flag]:
    return flags_by_tender([tender_id])[tender_id]


def flag_title(flag: Flag) -> str:
    """The screen's code for a screen flag, else the kind's label."""
    return flag.screen if flag.kind == Flag.Kind.SCREEN else str(flag.get_kind_display())


def explanation(flag: Flag, language: str | None) -> str:
    """The stored explanation in the interface language (Chinese, else English)."""
    return flag.explanation_zh if (language or "").startswith("zh") else flag.explanation_en
