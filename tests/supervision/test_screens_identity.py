"""Identity and document screens on one tender: the same value on several bidders'
bids, another bidder's name, identical unit prices, related companies, near-duplicate
documents and identical rare strings."""

import random

import pytest

from supervision.screens import documents, identity


def test_the_same_bond_payer_account_on_two_bidders_fires_high():
    bids = [{"bid": 1, "bidder": "A", "payer_account": "6222 0000 1111"},
            {"bid": 2, "bidder": "B", "payer_account": "622200001111"},
            {"bid": 3, "bidder": "C", "payer_account": "6222 9999 0000"}]
    r = identity.screen_same_value(bids, "payer_account")
    assert r.fired and r.severity == "high"
    assert r.evidence["groups"][0]["bids"] == [1, 2]
    assert "bond payer account" in r.explanation_en and "保证金" in r.explanation_zh


@pytest.mark.parametrize("field", sorted(identity.SAME_VALUE_FIELDS))
def test_every_identity_field_fires_on_two_bidders_and_not_on_one(field):
    value = "13800138000" if field == "phone" else "Shared-Value-1"
    two = [{"bid": 1, "bidder": "A", field: value}, {"bid": 2, "bidder": "B", field: value}]
    assert identity.screen_same_value(two, field).fired
    # The same bidder's two bids (a resubmission) share values innocently.
    one = [{"bid": 1, "bidder": "A", field: value}, {"bid": 2, "bidder": "A", field: value}]
    assert not identity.screen_same_value(one, field).fired
    different = [{"bid": 1, "bidder": "A", field: value},
                 {"bid": 2, "bidder": "B", field: "13900139000" if field == "phone" else "x"}]
    assert not identity.screen_same_value(different, field).fired


def test_same_values_runs_only_the_fields_present():
    bids = [{"bid": 1, "bidder": "A", "email": "x@a.cn"}, {"bid": 2, "bidder": "B"}]
    assert [r.code for r in identity.screen_same_values(bids)] == ["same_email"]


def test_related_companies_fire_on_one_legal_representative():
    bids = [{"bid": 1, "bidder": "A", "legal_rep": "张三"},
            {"bid": 2, "bidder": "B", "legal_rep": "张三"}]
    r = identity.screen_related_companies(bids)
    assert r.fired and r.code == "related_companies" and "legal representative" in r.explanation_en
    bids[1]["legal_rep"] = "李四"
    assert not identity.screen_related_companies(bids).fired


def test_another_bidders_name_inside_a_bid_fires():
    bids = [{"bid": 1, "bidder": "A", "bidder_name": "华东建设有限公司", "text": "本公司承诺……"},
            {"bid": 2, "bidder": "B", "bidder_name": "江南路桥集团",
             "text": "投标人：华东建设有限公司\n（盖章）"}]
    r = identity.screen_other_bidder_name(bids)
    assert r.fired and r.evidence["hits"][0]["bid"] == 2
    assert r.evidence["hits"][0]["of_bidder"] == "A"


def test_a_bid_naming_only_itself_does_not_fire():
    bids = [{"bid": 1, "bidder": "A", "bidder_name": "华东建设有限公司",
             "text": "华东建设有限公司"},
            {"bid": 2, "bidder": "B", "bidder_name": "江南路桥集团", "text": "江南路桥集团"}]
    assert not identity.screen_other_bidder_name(bids).fired


def sheet(prices):
    return {f"item{i}": p for i, p in enumerate(prices)}


def test_identical_unit_prices_fire_but_tenderer_fixed_items_do_not_count():
    fixed = [500.0, 800.0]  # provisional sums every bidder copies
    bids = [{"bid": 1, "bidder": "A", "unit_prices": sheet([10.5, 22.1, 33.3, 47.0] + fixed)},
            {"bid": 2, "bidder": "B", "unit_prices": sheet([10.5, 22.1, 33.3, 49.0] + fixed)},
            {"bid": 3, "bidder": "C", "unit_prices": sheet([11.0, 20.0, 35.0, 45.0] + fixed)}]
    r = identity.screen_identical_unit_prices(bids)
    assert r.fired and r.evidence["pairs"][0]["bidders"] == ["A", "B"]
    assert r.evidence["pairs"][0]["share"] == pytest.approx(0.75)
    bids[1]["unit_prices"] = sheet([10.0, 22.0, 33.0, 49.0] + fixed)
    assert not identity.screen_identical_unit_prices(bids).fired


def words(n, seed):
    rng = random.Random(seed)
    return " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta",
                                "theta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi"])
                    + str(rng.randrange(1000)) for _ in range(n))


def test_near_duplicate_documents_fire_on_a_copy_with_few_changes():
    base = words(3000, 1)
    copy = base.replace("alpha", "ALPHA ").replace("beta1", "b")
    bids = [{"bid": 1, "bidder": "A", "text": base}, {"bid": 2, "bidder": "B", "text": copy},
            {"bid": 3, "bidder": "C", "text": words(3000, 2)}]
    r = documents.screen_near_duplicate_documents(bids)
    assert r.fired and r.evidence["pairs"][0]["bids"] == [1, 2]
    assert all(3 not in p["bids"] for p in r.evidence["pairs"])


def test_independent_documents_are_not_near_duplicates():
    bids = [{"bid": i, "bidder": f"F{i}", "text": words(3000, i)} for i in range(4)]
    assert not documents.screen_near_duplicate_documents(bids).fired


def test_minhash_estimate_tracks_exact_jaccard():
    a, b = words(5000, 3), words(5000, 4)
    mixed = a[: len(a) // 2] + b[len(b) // 2:]
    fa = documents.shingle_fingerprints(documents.normalise(a))
    fm = documents.shingle_fingerprints(documents.normalise(mixed))
    exact = len(set(fa.tolist()) & set(fm.tolist())) / len(set(fa.tolist()) | set(fm.tolist()))
    est = documents.minhash_of(fa).jaccard(documents.minhash_of(fm))
    assert est == pytest.approx(exact, abs=0.12)


def test_a_shared_typo_sentence_fires_as_a_rare_string():
    typo = "我公司将严格按照施工图纸和规范要求精心施工确保工期质两达标"
    bids = [{"bid": i, "bidder": f"F{i}", "text": f"第{i}号投标文件，独立编制的内容{i}。" * 3}
            for i in range(6)]
    bids[1]["text"] += typo + "。"
    bids[4]["text"] += typo + "。"
    r = documents.screen_identical_rare_strings(bids)
    assert r.fired and r.evidence["pairs"][0]["bidders"] == ["F1", "F4"]


def test_boilerplate_copied_by_everyone_is_not_a_rare_string():
    common = "投标人应当按照招标文件的要求编制投标文件并对其真实性负责"
    bids = [{"bid": i, "bidder": f"F{i}", "text": common + f"。独立内容第{i}号不同的文字描述段落。"}
            for i in range(6)]
    assert not documents.screen_identical_rare_strings(bids).fired
    two = bids[:2]  # in only two bids, but it is the tender's own text
    assert not documents.screen_identical_rare_strings(two, common_text=common).fired


def test_platform_bids_map_to_rows_and_a_shared_machine_is_found():
    from types import SimpleNamespace

    from supervision.screens.platform import bid_row

    def bid(pk, bidder, fingerprint):
        return SimpleNamespace(
            pk=pk, tender_id=7, bidder_id=bidder, bidder=SimpleNamespace(name=f"公司{bidder}"),
            claims={"machine_fingerprint": fingerprint, "file_author": f"user{bidder}"},
            upload_ip="10.0.0.1", user_agent="ggzy-bid/1", bidder_key_fingerprint=f"k{bidder}")

    rows = [bid_row(bid(1, 11, "abc"), bond=SimpleNamespace(payer_account="6222"),
                    sheet={"total": 100.0, "phone": "13800138000"}),
            bid_row(bid(2, 12, "abc"), sheet={"total": 101.0}, winner=1)]
    assert rows[0]["fingerprint"] == "abc" and rows[0]["payer_account"] == "6222"
    assert rows[0]["amount"] == 100.0 and rows[1]["winner"] == 1
    fired = {r.code for r in identity.screen_same_values(rows) if r.fired}
    assert fired == {"same_fingerprint", "same_upload_ip", "same_device"}



def test_normalising_lowers_case_and_collapses_white_space():
    assert documents.normalise("  Ab\t\n 中文  X ") == "ab 中文 x".encode()
    assert documents.normalised_text("A\r\nB") == "a b"
