from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BidsConfig(AppConfig):
    """Stage 2: sealed bids, resumable uploads, receipts, bonds."""

    name = "bidding.bids"
    label = "bids"
    verbose_name = _("Bids")
    audit_namespace = "bidding"

    def ready(self) -> None:
        from bidding.tenders.pages import register_tender_link
        from core import api_errors

        from . import notifications, pages, rules, services  # noqa: F401  (kinds)

        rules.install()
        register_tender_link("bids.bid", pages.bid_link, order=20)
        api_errors.register(
            services.UploadConflict,
            lambda exc: api_errors.ApiError(
                409, exc.code, str(exc),
                {"next_index": [exc.next_index]} if exc.next_index is not None else None),
        )
