from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    """Objections (异议) and complaints (投诉) on working-day clocks (Reg 60-62)."""

    name = "supervision.complaints"
    label = "complaints"
    verbose_name = _("Complaints")

    def ready(self) -> None:
        from . import notifications, rules  # noqa: F401  (notifications: kinds)

        rules.install()
