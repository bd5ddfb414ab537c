from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpeningConfig(AppConfig):
    """Stage 3: the online opening hall (不见面开标) and its signed record."""

    name = "bidding.opening"
    label = "opening"
    verbose_name = _("Opening")
    audit_namespace = "bidding"

    def ready(self) -> None:
        from bidding.tenders.pages import register_tender_link

        from . import notifications, pages, rules  # noqa: F401  (notifications: kinds)

        rules.install()
        register_tender_link("opening.hall", pages.hall_link, order=30)
