from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "core.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from core import clock

        from . import services

        # After the stages' jobs (10..85), before the audit checkpoint (90, last): whatever
        # this tick recorded is told in the same tick. (Notifications append no events.)
        clock.register_job("notifications.dispatch",
                           lambda now: services.dispatch_events(now=now), order=86)
        clock.register_job("notifications.schedules",
                           lambda now: services.run_schedules(now=now), order=87)
        clock.register_job("notifications.email",
                           lambda now: services.email_pending(now=now), order=88)
