from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from core import clock

        from .services import audit_checkpoint

        # Last in every tick: sign the chain head after the other jobs' events.
        clock.register_job("audit.checkpoint", lambda now: audit_checkpoint(), order=90)
