"""Reference lists: regions, categories, procedure types, methods.

Region codes are administrative division codes (GB/T 2260). The list is the demo
province's; a trading centre replaces it with its own jurisdiction.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.TextChoices):
    FUZHOU = "350100", _("Fuzhou")
    GULOU = "350102", _("Gulou District, Fuzhou")
    TAIJIANG = "350103", _("Taijiang District, Fuzhou")
    CANGSHAN = "350104", _("Cangshan District, Fuzhou")
    MAWEI = "350105", _("Mawei District, Fuzhou")
    XIAMEN = "350200", _("Xiamen")
    PUTIAN = "350300", _("Putian")
    SANMING = "350400", _("Sanming")
    QUANZHOU = "350500", _("Quanzhou")
    ZHANGZHOU = "350600", _("Zhangzhou")
    NANPING = "350700", _("Nanping")
    LONGYAN = "350800", _("Longyan")
    NINGDE = "350900", _("Ningde")


class Category(models.TextChoices):
    # Works (工程建设), by trade.
    BUILDING = "works_building", _("Works: buildings")
    MUNICIPAL = "works_municipal", _("Works: municipal")
    TRANSPORT = "works_transport", _("Works: transport")
    WATER = "works_water", _("Works: water conservancy")
    GOODS = "goods", _("Goods")
    SERVICES = "services", _("Services")


class ProcedureType(models.TextChoices):
    OPEN = "open", _("Open tendering")
    INVITED = "invited", _("Invited tendering")


class EvaluationMethod(models.TextChoices):
    # 综合评估法
    COMPREHENSIVE = "comprehensive", _("Comprehensive scoring")
    # 经评审的最低投标价法
    LOWEST_PRICE = "lowest_price", _("Lowest evaluated price")


class PriceFormula(models.TextChoices):
    # benchmark = trimmed mean of valid bids x (1 + float); deduct k per % deviation
    BENCHMARK_DEVIATION = "benchmark_deviation", _("Benchmark price with deviation deductions")
    # lowest valid price gets full marks, others benchmark / bid x full
    LOWEST_FULL_MARKS = "lowest_full_marks", _("Lowest valid price gets full marks")


class AwardMethod(models.TextChoices):
    FIRST_RANKED = "first_ranked", _("First-ranked candidate")
    # 评定分离
    SEPARATE = "separate", _("Evaluation separate from award")


class ScoreAggregation(models.TextChoices):
    """How the committee's scores for one criterion become the bid's score (Reg 49: the
    tender documents say which)."""

    MEAN = "mean", _("Mean of the members' scores")
    # Drop the highest and the lowest member score, then average (needs at least 5 scores).
    TRIMMED_MEAN = "trimmed_mean", _("Mean without the highest and the lowest score")


class CriterionStage(models.TextChoices):
    """The stage of the evaluation a criterion belongs to, in the order they run."""

    # Pass or fail, with reasons (includes the mandatory rejections of Reg 51).
    QUALIFICATION = "qualification", _("Qualification review (pass or fail)")
    TECHNICAL = "technical", _("Technical scoring")
    COMMERCIAL = "commercial", _("Commercial scoring")


class AwardCommitteeMode(models.TextChoices):
    """How the tenderer's award committee (定标委员会) is formed, under 评定分离."""

    DRAWN = "drawn", _("Drawn at random from the tenderer's own pool")
    APPOINTED = "appointed", _("Appointed by the tenderer")


class VoteMode(models.TextChoices):
    # 直接票决: one round, most votes wins.
    DIRECT = "direct", _("Direct vote")
    # 逐轮淘汰: each round drops the candidate with fewest votes until one remains.
    ELIMINATION = "elimination", _("Round-by-round elimination")


class DecisionMethod(models.TextChoices):
    VOTE = "vote", _("Vote")
    LOTTERY = "lottery", _("Lottery")
    VOTE_THEN_LOTTERY = "vote_then_lottery", _("Vote, then lottery")
    PRICE_COMPETITION = "price_competition", _("Price competition")
    DELIBERATION = "deliberation", _("Collective deliberation")


class DecryptionFallback(models.TextChoices):
    """What happens to a bid its bidder fails to decrypt in the window (E-Rules 31)."""

    # The custodians open it with the threshold opening key.
    CUSTODIANS = "custodians", _("Custodians open it with the opening key")
    # It counts as revoked or withdrawn, by whose fault, and is not opened.
    NOT_OPENED = "not_opened", _("It is not opened (revoked or withdrawn, by fault)")


# Items every sealed price sheet states; a tender may ask for more (price_sheet_items).
STANDARD_PRICE_SHEET_ITEMS = [
    ("total_price", _("Total price (yuan)")),
    ("duration_days", _("Duration (days)")),
    ("quality", _("Quality target")),
    ("project_manager", _("Project manager")),
    ("project_manager_id", _("Project manager ID or certificate number")),
]


class AnnounceMode(models.TextChoices):
    """When the opening announces prices (唱标)."""

    # Each bid as soon as it is decrypted: a bidder who has seen rivals' prices can still
    # decide not to decrypt its own (selective opening). Only as an explicit choice.
    AS_DECRYPTED = "as_decrypted", _("Each bid as it is decrypted (allows selective opening)")
    # All bids together once the window and the custodians' time are over (default).
    AT_CLOSE = "at_close", _("All bids together after the window and the custodians' opening")
