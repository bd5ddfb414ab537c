"""A market: the bids of many tenders, grouped by tender, as plain dicts.

Row keys: ``tender`` and ``amount`` always; optionally ``bidder``, ``estimate``,
``max_price``, ``date`` (datetime.date) or ``year``, ``winner`` (0/1),
``disqualified`` (0/1), ``published`` and ``deadline`` (dates), ``buyer``,
``legal_rep``, the identity fields of identity.SAME_VALUE_FIELDS, ``text``,
``bidder_name`` and ``unit_prices``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Market:
    tenders: dict = field(default_factory=dict)
    columns: frozenset = frozenset()

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping]) -> Market:
        tenders: dict = defaultdict(list)
        cols: set[str] = set()
        for i, r in enumerate(rows):
            row = dict(r)
            row.setdefault("bid", i)
            tenders[row["tender"]].append(row)
            cols.update(k for k, v in row.items() if v not in (None, ""))
        return cls(dict(tenders), frozenset(cols))

    def has(self, *names: str) -> bool:
        return all(n in self.columns for n in names)

    def bidders(self, tender) -> list[str]:
        return [str(b["bidder"]) for b in self.tenders[tender] if b.get("bidder") not in (None, "")]

    def winners(self, tender) -> list[str]:
        return [str(b.get("bidder")) for b in self.tenders[tender] if _truthy(b.get("winner"))]


def _truthy(v) -> bool:
    if v in (None, ""):
        return False
    try:
        return float(v) != 0
    except (TypeError, ValueError):
        return str(v).strip().lower() in ("true", "yes", "y")


def iqr_fences(values, k: float = 1.5) -> tuple[float, float]:
    """Tukey's fences Q1 - k*IQR and Q3 + k*IQR (NaN-safe); (nan, nan) when empty."""
    v = np.asarray([x for x in values if x == x], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan")
    q1, q3 = np.percentile(v, [25, 75])
    return float(q1 - k * (q3 - q1)), float(q3 + k * (q3 - q1))
