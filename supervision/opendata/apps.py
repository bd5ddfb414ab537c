from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpenDataConfig(AppConfig):
    """Open data: OCDS 1.1 release packages of tenders, awards and contracts."""

    name = "supervision.opendata"
    label = "opendata"
    verbose_name = _("Open data")
