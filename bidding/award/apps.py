from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AwardConfig(AppConfig):
    """Stage 5: the award (定标): the decision, publicity, notices and the contract."""

    name = "bidding.award"
    label = "award"
    verbose_name = _("Award")
    audit_namespace = "bidding"

    def ready(self) -> None:
        from bidding.opening.selectors import register_hall_state
        from bidding.tenders.pages import register_tender_link

        from . import notifications, pages, rules, selectors  # noqa: F401  (kinds)

        rules.install()
        # A (re)connecting hall client gets the price round's snapshot with the hall's.
        register_hall_state(selectors.price_round_hall_part)
        register_tender_link("award.page", pages.award_link, order=50)
