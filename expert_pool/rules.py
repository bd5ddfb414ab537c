"""The expert pool's part in the tender lifecycle and the clock, through their registries
(the tender stage never imports the pool):

* evaluation cannot start until the committee is drawn, confirmed and pledged
  (Law 37: the committee evaluates; Reg 46: drawn at random);
* when the award is issued, the draw's secret is revealed so anyone can recompute it;
* the clock times out unanswered seats and calls the next backup.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from core import clock

from .models import Draw

S = Tender.Status


def committee_ready(tender: Tender, now) -> str:
    """Guard on opened -> evaluation: a complete committee from a draw."""
    if Draw.objects.filter(tender=tender, status=Draw.Status.COMPLETE).exists():
        return ""
    return _("The evaluation committee has not been drawn and confirmed yet (Law 37, Reg 46).")


def reveal_after_award(*, tender: Tender, previous: str, reason: str, now) -> None:
    from .draw import draw_reveal

    for draw in Draw.objects.filter(tender=tender).exclude(status=Draw.Status.AWAITING_INPUT):
        draw_reveal(draw=draw, now=now)


def install() -> None:
    """Called from ``ExpertPoolConfig.ready()``."""
    from . import services

    lifecycle.register_guard(S.OPENED, S.EVALUATION, committee_ready)
    lifecycle.register_hook(S.AWARDED, reveal_after_award)
    clock.register_job("expert_pool.confirmations",
                       lambda now: services.confirmation_tick(now=now), order=40)
