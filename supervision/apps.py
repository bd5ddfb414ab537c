from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = _("Supervision")

    def ready(self) -> None:
        from bidding.opening.signals import bid_rejected_unopenable, opening_closed

        from .receivers import flag_unopenable_bid
        from .screening import on_opening_closed

        bid_rejected_unopenable.connect(flag_unopenable_bid, dispatch_uid="flag_unopenable_bid")
        opening_closed.connect(on_opening_closed, dispatch_uid="screen_tender_after_opening")
        # After the per-tender screening (connected first): the market screens, queued
        # once the opening commits (not a clock job: they read every opened bid).
        from .market import on_opening_closed as screen_market_later

        opening_closed.connect(screen_market_later, dispatch_uid="screen_market_after_opening")
