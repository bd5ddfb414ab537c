"""Celery tasks of supervision (thin: the work is in supervision.learning)."""

from celery import shared_task


@shared_task(name="supervision.tasks.retrain_risk_model", ignore_result=True)
def retrain_risk_model() -> int:
    """Retrain the learned risk score on the decided cases (idempotent); returns the
    RiskModel row's id."""
    from .learning import retrain

    return retrain().pk


@shared_task(name="supervision.tasks.screen_market", ignore_result=True)
def screen_market() -> int | None:
    """Run the cross-tender and Cardinal screens over every opened tender and replace
    the market flags (idempotent); returns the number of flags, None when it failed
    (logged: a failing market screen must not break the opening that queued it)."""
    import logging

    from .market import screen_market as run

    try:
        return run().flags
    except Exception:  # noqa: BLE001 - isolate the caller; the next opening runs it again
        logging.getLogger(__name__).exception("the market screens failed")
        return None


@shared_task(name="supervision.tasks.screen_experts", ignore_result=True)
def screen_experts() -> int | None:
    """Run the expert screens (experts drawn again and again for the same tenderer, one
    expert favouring one bidder) over the platform and replace their flags (idempotent);
    returns the number of flags, None when it failed (logged)."""
    import logging

    from .expert_screening import screen_experts as run

    try:
        return run().flags
    except Exception:  # noqa: BLE001 - isolate the caller; the next evaluation runs it again
        logging.getLogger(__name__).exception("the expert screens failed")
        return None
