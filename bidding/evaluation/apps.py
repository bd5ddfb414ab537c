from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationConfig(AppConfig):
    """Stage 4: the evaluation (评标): the committee, its stages, scores and report."""

    name = "bidding.evaluation"
    label = "evaluation"
    verbose_name = _("Evaluation")
    audit_namespace = "bidding"

    def ready(self) -> None:
        from bidding.tenders.pages import register_tender_link
        from core import clock

        from . import declared, notifications, pages, realtime, services  # noqa: F401

        # Publication refuses price formula parameters the evaluation could not use.
        declared.register()

        # Reg 53: members silent past the signing time are deemed to agree.
        clock.register_job("evaluation.report_deadline",
                           lambda now: services.report_deadline_tick(now=now), order=40)
        # The room's websocket: every progress change goes to the room's group.
        realtime.connect_receivers()
        # The tender page links to the room for those who may enter it (after the
        # opening hall, order 30, before the award page, order 50).
        register_tender_link("evaluation.room", pages.room_link, order=40)
