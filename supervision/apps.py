from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = _("Supervision")

    def ready(self) -> None:
        from bidding.opening.signals import bid_rejected_unopenable

        from .receivers import flag_unopenable_bid

        bid_rejected_unopenable.connect(flag_unopenable_bid, dispatch_uid="flag_unopenable_bid")
