from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = _("Supervision")

    def ready(self) -> None:
        from bidding.opening.signals import bid_rejected_unopenable, opening_closed

        from .receivers import flag_unopenable_bid, screen_market_later, screen_tender

        bid_rejected_unopenable.connect(flag_unopenable_bid, dispatch_uid="flag_unopenable_bid")
        opening_closed.connect(screen_tender, dispatch_uid="screen_tender_after_opening")
        # After the per-tender screening (connected first): the market screens, queued
        # once the opening commits (not a clock job: they read every opened bid).
        opening_closed.connect(screen_market_later, dispatch_uid="screen_market_after_opening")

        from bidding.evaluation.signals import score_outlier_recorded

        from .evaluation_receivers import flag_score_outlier

        score_outlier_recorded.connect(flag_score_outlier, dispatch_uid="flag_score_outlier")

        # The evaluation completed (candidates) and the award (awarded): the expert
        # screens and the Cardinal flags that need disqualifications or the winner.
        from bidding.tenders.lifecycle import register_hook
        from bidding.tenders.selectors import TenderStatus

        from .receivers import after_award, after_evaluation

        register_hook(TenderStatus.CANDIDATES, after_evaluation)
        register_hook(TenderStatus.AWARDED, after_award)

        # Cases (立案): open cases past their decision deadline are flagged by the clock,
        # and a bidder debarred by a penalty decision cannot start a bid.
        from bidding.bids.services import register_bidder_guard
        from core import clock

        from .cases import cases_flag_overdue, debarred_bidder_guard

        clock.register_job("supervision.cases_overdue", cases_flag_overdue, order=80)
        register_bidder_guard(debarred_bidder_guard)
