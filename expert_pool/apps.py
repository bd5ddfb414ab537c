from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExpertPoolConfig(AppConfig):
    """The expert pool (评标专家库) and the verifiable committee draws."""

    name = "expert_pool"
    verbose_name = _("Expert pool")

    def ready(self) -> None:
        from bidding.tenders.pages import register_tender_link

        from . import notifications, pages, rules  # noqa: F401  (notifications: kinds)

        rules.install()
        register_tender_link("expert_pool.draw", pages.draw_link, order=25)
