from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BiddingConfig(AppConfig):
    """The procedure as a whole, above its stages: the workspace page that gathers
    every stage's items for a user, the demo, and the schema history from before the
    stages had apps of their own (``migrations/``: the tables were made here and kept
    their names when their models moved to ``tenders``, ``bids`` and ``opening``)."""

    name = "bidding"
    verbose_name = _("Bidding")
