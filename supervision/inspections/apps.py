from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    """Double-random inspections (双随机一公开), spot checks of evaluations, filings (备案),
    and the shared supervision matters, registers, checklists and plans."""

    name = "supervision.inspections"
    label = "inspections"
    verbose_name = _("Inspections and filings")
