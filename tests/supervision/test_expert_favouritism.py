"""One expert systematically favouring one bidder (screen_expert_favouritism, plain rows):
a favouring expert is flagged with the tenders, criteria and scores as evidence; fair
experts, an expert lenient to everyone, a favour that is not consistent, and pairs with
too little support are not."""

import random

from supervision.screens.experts import (
    FAVOUR_MIN_TENDERS,
    permutation_p,
    screen_expert_favouritism,
)

CRITERIA = (("1", 30.0), ("2", 20.0), ("3", 20.0))
EXPERTS = ("E1", "E2", "E3", "E4", "E5")


def evaluation(tender, bidders, *, bias=None, seed=0, noise=0.04):
    """Scores of five experts on each bidder and criterion: the bidder's quality plus
    noise; ``bias`` maps (expert, bidder) to a share of the maximum added."""
    rng = random.Random(f"{tender}-{seed}")
    rows = []
    for k, bidder in enumerate(bidders):
        quality = 0.5 + 0.08 * ((k * 7 + tender) % 5)
        for number, top in CRITERIA:
            for e in EXPERTS:
                share = quality + rng.gauss(0, noise) + (bias or {}).get((e, bidder), 0.0)
                value = round(min(top, max(0.0, share * top)), 2)
                rows.append({"tender": tender, "tender_reference": f"T-{tender}",
                             "member": f"{tender}-{e}", "expert": e, "bidder": bidder,
                             "bidder_name": f"name {bidder}", "bid": f"B{k + 1:02d}",
                             "criterion": number, "criterion_name": f"c{number}",
                             "max_score": top, "value": value})
    return rows


def market(n_tenders=4, bias=None, favoured="FAV", seed=0, bias_tenders=None):
    rows = []
    for t in range(1, n_tenders + 1):
        bidders = [favoured] + [f"B{t}-{j}" for j in range(4)]
        on = bias_tenders is None or t in bias_tenders
        rows += evaluation(t, bidders, bias=bias if on else None, seed=seed)
    return rows


def test_an_expert_who_keeps_scoring_one_bidder_higher_is_flagged():
    r = screen_expert_favouritism(market(bias={("E1", "FAV"): 0.25}))
    assert r.fired and r.code == "expert_favouritism"
    [pair] = r.evidence["pairs"]
    assert pair["expert"] == "E1" and pair["bidder"] == "FAV" and pair["support"] == 4
    assert pair["effect"] >= 0.2 and pair["p_value"] <= 0.01
    assert r.severity == "high"
    tender = pair["tenders"][0]
    assert tender["tender_reference"] == "T-1" and tender["bid"] == "B01"
    first = tender["criteria"][0]
    assert first["expert_score"] > first["others_mean"] and first["others"] == 4
    assert "E1" in r.explanation_en and "name FAV" in r.explanation_zh


def test_fair_experts_are_not_flagged():
    for seed in range(5):
        r = screen_expert_favouritism(market(seed=seed))
        assert not r.fired and r.evidence["tested"] == 5  # every expert with FAV


def test_an_expert_lenient_to_every_bidder_is_not_flagged():
    lenient = {("E2", b): 0.25 for t in range(1, 5) for b in ["FAV"] + [f"B{t}-{j}"
                                                                      for j in range(4)]}
    r = screen_expert_favouritism(market(bias=lenient))
    assert not r.fired


def test_too_little_support_is_not_flagged():
    assert FAVOUR_MIN_TENDERS == 3
    rows = market(n_tenders=FAVOUR_MIN_TENDERS - 1, bias={("E1", "FAV"): 0.4})
    r = screen_expert_favouritism(rows)
    assert not r.fired and r.evidence["tested"] == 0
    assert r.evidence["too_little_support"] > 0
    assert "3" in r.explanation_en


def test_a_favour_in_one_tender_only_is_not_systematic():
    r = screen_expert_favouritism(market(n_tenders=5, bias={("E1", "FAV"): 0.25},
                                         bias_tenders={1}))
    assert not r.fired


def test_void_scores_and_verdicts_without_value_are_ignored():
    rows = market(bias={("E1", "FAV"): 0.25})
    for r in rows:
        if r["expert"] == "E1":
            r["value"] = None
    assert not screen_expert_favouritism(rows).fired


def test_a_tenderers_representative_counts_among_the_others_but_is_not_screened():
    rows = market(bias={("E1", "FAV"): 0.25})
    for r in rows:
        if r["expert"] == "E1":
            r["expert"] = None
    r = screen_expert_favouritism(rows)
    assert not r.fired and r.evidence["tested"] == 4  # E2..E5 with FAV


def test_no_scores_is_quiet_with_a_reason():
    r = screen_expert_favouritism([])
    assert not r.fired and "no expert and bidder" in r.explanation_en


def test_the_permutation_p_value_is_exact_for_few_relabellings():
    # Two tenders of two bidders: four relabellings, the observed one is the largest.
    p, how = permutation_p(1.0, [[1.0, -1.0], [1.0, -1.0]])
    assert how == "exact" and p == 0.25
    p, how = permutation_p(0.5, [[0.5, -0.5, 0.0]] * 12, exact_limit=100, draws=999)
    assert how == 999 and 0 < p < 0.01
