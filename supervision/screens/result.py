"""What every screen returns: one finding, with its evidence and a plain explanation.

The engine is plain Python (numpy, scipy, scikit-learn, datasketch, networkx) and runs
on row dicts, so the batch command, the benchmark and the platform's own bids share it.
The explanation pair is stored as data (Chinese and English), not through gettext: it
is part of the record a supervisor reviews, written once when the screen runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NONE, LOW, MEDIUM, HIGH = "none", "low", "medium", "high"
SEVERITY_RANK = {NONE: 0, LOW: 1, MEDIUM: 2, HIGH: 3}


@dataclass
class ScreenResult:
    """One screen's verdict on one tender (or one group of bidders).

    ``fired`` says whether the flag is raised; ``value`` is the screen's number (a price
    statistic, a share, a count), kept even when the flag is not raised so that the risk
    score can rank tenders on it; ``evidence`` names the bids and the values concerned.
    """

    code: str
    fired: bool
    severity: str = NONE
    value: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    explanation_zh: str = ""
    explanation_en: str = ""
    tender: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "fired": self.fired, "severity": self.severity,
            "value": self.value, "evidence": self.evidence, "tender": self.tender,
            "explanation_zh": self.explanation_zh, "explanation_en": self.explanation_en,
        }


def quiet(code: str, value: float | None = None, en: str = "", zh: str = "",
          **evidence: Any) -> ScreenResult:
    """A screen that ran and found nothing (or could not run: say why in ``en``/``zh``)."""
    return ScreenResult(code, False, NONE, value, dict(evidence), zh, en)


def raised(code: str, severity: str, value: float | None, zh: str, en: str,
           **evidence: Any) -> ScreenResult:
    return ScreenResult(code, True, severity, value, dict(evidence), zh, en)
