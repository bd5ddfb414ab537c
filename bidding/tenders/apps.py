from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TendersConfig(AppConfig):
    """Stage 1: the tender, its lots, documents, amendments, clarifications, the opening
    key's custody and the lifecycle that every later stage moves through."""

    name = "bidding.tenders"
    label = "tenders"
    verbose_name = _("Tenders")
    # Audit events keep the object names they had before the stages had apps of their
    # own ("bidding.tender"), like the tables (db_table), so the log reads as one.
    audit_namespace = "bidding"

    def ready(self) -> None:
        from core import api_errors, clock

        from . import lifecycle, notifications  # noqa: F401  (registers its kinds)

        clock.register_job("tenders.close_bidding",
                           lambda now: lifecycle.advance_by_clock(now=now), order=10)
        api_errors.register(
            lifecycle.TransitionNotAllowed,
            lambda exc: api_errors.ApiError(409, "transition_not_allowed", str(exc),
                                            {"status": [exc.current]}),
        )
