from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationConfig(AppConfig):
    """Stage 4: the evaluation (评标): the committee, its stages, scores and report."""

    name = "bidding.evaluation"
    label = "evaluation"
    verbose_name = _("Evaluation")
    audit_namespace = "bidding"
