"""Supervision reacts to what the stages announce (signals); no stage imports it."""

from __future__ import annotations

from django.utils import timezone

from .models import Flag


def flag_unopenable_bid(sender, *, item, tender, proof, **kwargs) -> None:
    """A bid rejected at the opening because its bidder sealed it so nobody could open
    it: record the proof for the supervisor (inside the rejecting transaction)."""
    bidder = item.bid.bidder
    Flag.objects.get_or_create(
        kind=Flag.Kind.UNOPENABLE_BID,
        tender_id=tender.pk,
        subjects=[bidder.credit_code],
        defaults={
            "severity": Flag.Severity.HIGH,
            "tender_reference": tender.reference,
            "evidence": {"bid_sha256": item.bid.sha256, "bidder": bidder.name,
                         "proof": proof},
            "explanation_zh": (
                f"{bidder.name}的投标文件在托管人联合解密时无法打开：托管人重建的开标密钥已与公布的"
                "公钥核对一致，仍无法解开，只能是投标人加密时所致。该投标人可能意图在看到他人报价"
                "后再决定是否解密（选择性开标）。该投标已被拒绝，证据见下。"),
            "explanation_en": (
                f"The bid of {bidder.name} could not be opened by the custodians although the "
                "key they rebuilt matched the published public key, so only its bidder can "
                "have sealed it that way, perhaps to decide after seeing rivals' prices "
                "whether to open it (selective opening). The bid was rejected; the proof "
                "is attached."),
            "raised_at": timezone.now(),
        },
    )


# The screens need numpy, scipy and scikit-learn (about 90 MiB and half a second to
# import): they are imported when an opening closes, in the process that closes it, not
# by every web process at start-up.


def screen_tender(sender, **kwargs) -> None:
    """After an opening closes: screen that tender (supervision.screening)."""
    from .screening import on_opening_closed

    on_opening_closed(sender, **kwargs)


def screen_market_later(sender, **kwargs) -> None:
    """After an opening closes: queue the cross-tender screens (supervision.market)."""
    from .market import on_opening_closed

    on_opening_closed(sender, **kwargs)


def after_evaluation(*, tender, previous=None, reason="", now=None, **kwargs) -> None:
    """Lifecycle hook on ``candidates`` (the evaluation completed): once the move
    commits, queue the expert screens (the committee's scores now stand) and the market
    screens (the evaluation's disqualifications are known)."""
    from django.db import transaction

    transaction.on_commit(lambda: _queue("screen_experts", "screen_market"))


def after_award(*, tender, previous=None, reason="", now=None, **kwargs) -> None:
    """Lifecycle hook on ``awarded``: once the move commits, queue the market screens
    (the winner is known: Cardinal R024, R025, R035, R058)."""
    from django.db import transaction

    transaction.on_commit(lambda: _queue("screen_market"))


def _queue(*names: str) -> None:
    """Queue supervision's tasks; a missing broker or a failing task is logged, never
    raised into the stage that moved the tender."""
    import logging

    from . import tasks

    for name in names:
        try:
            getattr(tasks, name).delay()
        except Exception:  # noqa: BLE001 - the tender's move stands whatever supervision does
            logging.getLogger(__name__).exception("could not queue supervision.%s", name)
