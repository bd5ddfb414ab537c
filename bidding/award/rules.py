"""What the award stage adds to the lifecycle and the clock (called from ready())."""

from __future__ import annotations

from core import clock


def install() -> None:
    from . import deadlines, price_round, publicity

    publicity.install()
    clock.register_job("award.objections",
                       lambda now: publicity.objections_tick(now=now), order=50)
    clock.register_job("award.deadlines",
                       lambda now: deadlines.deadlines_tick(now=now), order=51)
    clock.register_job("award.price_round",
                       lambda now: price_round.price_round_tick(now=now), order=52)
