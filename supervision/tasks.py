"""Celery tasks of supervision (thin: the work is in supervision.learning)."""

from celery import shared_task


@shared_task(name="supervision.tasks.retrain_risk_model", ignore_result=True)
def retrain_risk_model() -> int:
    """Retrain the learned risk score on the decided cases (idempotent); returns the
    RiskModel row's id."""
    from .learning import retrain

    return retrain().pk
