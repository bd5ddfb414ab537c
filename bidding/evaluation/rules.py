"""The evaluation's rules in one place: who fails a bid, how scores aggregate, what an
outlier is, how code numbers are drawn, and the grounds of mandatory rejection (Reg 51).

Pure functions on plain values; services call them, tests check them directly.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from bidding.tenders.reference import ScoreAggregation
from core import statutory

POINTS = Decimal("0.01")


class Rejection(models.TextChoices):
    """Reg 51: the grounds on which the committee must reject a bid. A member cites these
    in the qualification review; each is a failing verdict."""

    NO_SEAL = "no_seal", _("Not sealed by the bidder and signed by its legal representative")
    CONSORTIUM_NO_AGREEMENT = "consortium_no_agreement", _(
        "Consortium bid without a joint bidding agreement")
    NOT_QUALIFIED = "not_qualified", _(
        "The bidder does not meet the qualifications the law or the tender documents set")
    TWO_PRICES = "two_prices", _(
        "Two or more different bids or prices from one bidder (alternatives not invited)")
    PRICE_BELOW_COST_OR_ABOVE_MAX = "price_below_cost_or_above_max", _(
        "Price below cost or above the maximum price")
    NOT_RESPONSIVE = "not_responsive", _(
        "Does not respond to the substantive requirements of the tender documents")
    COLLUSION_FRAUD_BRIBERY = "collusion_fraud_bribery", _(
        "Collusion, fraud, bribery or other unlawful acts")


# The wording of record (the report is in Chinese, Reg 51 items 1-7).
REJECTION_ZH = {
    Rejection.NO_SEAL: "投标文件未经投标单位盖章和单位负责人签字",
    Rejection.CONSORTIUM_NO_AGREEMENT: "投标联合体没有提交共同投标协议",
    Rejection.NOT_QUALIFIED: "投标人不符合国家或者招标文件规定的资格条件",
    Rejection.TWO_PRICES: (
        "同一投标人提交两个以上不同的投标文件或者投标报价（招标文件要求提交备选投标的除外）"),
    Rejection.PRICE_BELOW_COST_OR_ABOVE_MAX: "投标报价低于成本或者高于招标文件设定的最高投标限价",
    Rejection.NOT_RESPONSIVE: "投标文件没有对招标文件的实质性要求和条件作出响应",
    Rejection.COLLUSION_FRAUD_BRIBERY: "投标人有串通投标、弄虚作假、行贿等违法行为",
}


def fails_qualification(*, fail_votes: int, active_members: int) -> bool:
    """A bid fails the qualification review when a majority of the committee's active
    members fail it (on any criterion, or by citing a Reg 51 ground): more than half,
    so a tie passes. Replaced members do not count (Reg 48)."""
    return fail_votes * 2 > active_members


# Reg 48: a replaced member's conclusions are void and the replacement evaluates again.
# When the replacement joins after the qualification review was locked, the review is
# settled again as soon as every active member's qualification sheet is in (the
# replacement's verdicts counted, the replaced member's not), without waiting for the next
# lock. If that changes which bids qualify:
#   * a bid that no longer qualifies drops out of scoring; its scores stay on record,
#     unused;
#   * a bid that now qualifies must be scored by the whole committee like every other:
#     each scoring stage already reached is opened again for those bids only, for every
#     active member who had submitted it (a ``Reopening`` is recorded and audited), and
#     the committee goes back to the earliest such stage, which the chair locks again.
#     Scores already submitted stand (a member who has seen the others' scores does not
#     revise their own); members add the new bids only.
# Refusing the replacement's verdicts instead would let the void verdicts of the replaced
# member decide, which is what Reg 48 forbids. Under 暗标 the identities were revealed at
# the technical lock and cannot be hidden again: the new bids are scored knowing them; the
# reopening's audit event says so.
REQUALIFICATION = "resettle_then_reopen_for_new_bids"


def qualification_change(before: set, after: set) -> tuple[set, set]:
    """(bids that now qualify, bids that no longer do) between two settlements."""
    return set(after) - set(before), set(before) - set(after)


def elected(*, votes_for: int, active_members: int) -> bool:
    """The chair is elected by a majority of the active members: more than half."""
    return votes_for * 2 > active_members


def aggregate(values: Sequence[Decimal], method: str) -> Decimal:
    """One criterion's committee score from the members' scores, half up to 0.01.

    ``mean``: the arithmetic mean. ``trimmed_mean``: drop one highest and one lowest, then
    the mean of the rest; with fewer than ``EVALUATION_TRIMMED_MEAN_MIN_SCORES`` (5)
    scores it falls back to the plain mean (dropping two of three or four scores would
    leave too few to be fair).
    """
    if not values:
        raise ValueError("no scores to aggregate")
    ordered = sorted(values)
    if (method == ScoreAggregation.TRIMMED_MEAN
            and len(ordered) >= statutory.value("EVALUATION_TRIMMED_MEAN_MIN_SCORES")):
        ordered = ordered[1:-1]
    mean = sum(ordered, Decimal(0)) / len(ordered)
    return mean.quantize(POINTS, ROUND_HALF_UP)


def outlier_threshold(max_score: Decimal) -> Decimal:
    """How far from the others' mean a score may be before it is an outlier: a fraction
    (``EVALUATION_OUTLIER_FRACTION``, 30 % by default) of the criterion's maximum."""
    return (max_score * statutory.value("EVALUATION_OUTLIER_FRACTION")).quantize(
        POINTS, ROUND_HALF_UP)


def outlier_deviation(value: Decimal, others: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """(others' mean, |value − others' mean|), both to 0.01."""
    mean = (sum(others, Decimal(0)) / len(others)).quantize(POINTS, ROUND_HALF_UP)
    return mean, abs(value - mean).quantize(POINTS, ROUND_HALF_UP)


def is_outlier(value: Decimal, others: Sequence[Decimal], max_score: Decimal) -> bool:
    """A score is an outlier when it deviates from the mean of the other members' scores
    on the same bid and criterion by more than the threshold (strictly). Needs at least
    two other scores."""
    if len(others) < 2:
        return False
    return outlier_deviation(value, others)[1] > outlier_threshold(max_score)


def bid_codes(seed: bytes, bid_ids: Sequence[str]) -> dict[str, str]:
    """The code numbers (暗标编号) of the bids: order the bids by HMAC-SHA256(seed, bid id)
    and number them 01, 02 ... in that order. Anyone given the seed (revealed in the
    audit log once identities are revealed; its SHA-256 was logged when the committee
    formed) recomputes the same codes."""
    keyed = sorted(bid_ids, key=lambda b: hmac.new(seed, str(b).encode(), hashlib.sha256)
                   .digest())
    width = max(2, len(str(len(keyed))))
    return {b: f"{i:0{width}d}" for i, b in enumerate(keyed, start=1)}


def seed_commitment(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()
