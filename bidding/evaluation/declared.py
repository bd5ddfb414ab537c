"""What the evaluation checks of a tender before it is published: the declared price
formula and its parameters must be usable (Reg 49: only what the documents state is used,
so a parameter the formula cannot read must be caught before bidders rely on it)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError

from bidding.tenders import lifecycle
from bidding.tenders.models import Tender

from . import formulas

S = Tender.Status


def price_formula_usable(tender: Tender, now: datetime) -> str:
    """Guard on draft -> published: the reason the declared price formula cannot run,
    or "" when it can."""
    try:
        formulas.check_declared(
            evaluation_method=tender.evaluation_method, price_formula=tender.price_formula,
            params=tender.price_formula_params, max_price=tender.max_price)
    except ValidationError as exc:
        return " ".join(str(m) for m in exc.messages)
    return ""


def register() -> None:
    lifecycle.register_guard(S.DRAFT, S.PUBLISHED, price_formula_usable)
