"""After a real opening the decrypted bid files are read: near-duplicate documents,
shared rare sentences and another bidder's name inside a bid become flags, and a bid
whose file gives no text is named in a low-severity flag with the reason."""

from datetime import timedelta

import pytest
import time_machine

from bidding.opening import services as opening
from core import tasks
from supervision import screening
from supervision.models import Flag, RiskScore
from tests import factories
from tests.bidding.opening.test_hall_integrity import _decrypt, django_capture_on_commit
from tests.supervision.test_extract import make_docx

pytestmark = pytest.mark.django_db

SHARED = ("本公司郑重承诺：施工期间严格执行安全文明施工措施，设立专职安全员三名，"
          "每日班前讲话不少于十五分钟，并对进场工人逐一进行三级安全教育交底。"
          "混凝土浇筑采用分层连续浇注工艺，每层厚度控制在三十厘米以内，"
          "振捣棒插点间距不大于四十五厘米，确保密实无蜂窝麻面现象。")


def close_opening_with(make_plaintexts):
    """A real opening of three bids whose decrypted files are ``make_plaintexts(users)``,
    all decrypted and confirmed, so that the opening closes and screening runs."""
    tender = factories.published_tender(decryption_fallback="not_opened")
    users = [factories.bidder_with_key() for _ in range(3)]
    plaintexts = make_plaintexts(users)
    bids = [factories.submit_bid(tender, u, plaintext=p)
            for u, p in zip(users, plaintexts, strict=True)]
    with time_machine.travel(tender.deadline, tick=False):
        tasks.clock_tick()
    tender.refresh_from_db()
    session = tender.opening
    with time_machine.travel(session.window_ends_at - timedelta(minutes=1), tick=False):
        for bid, user in zip(bids, users, strict=True):
            _decrypt(tender, bid, user)
    with time_machine.travel(session.window_ends_at, tick=False):
        tasks.clock_tick()
    session.refresh_from_db()
    with time_machine.travel(session.confirm_until - timedelta(minutes=10), tick=False):
        for user in users[:-1]:
            opening.opening_confirm(user=user, tender=tender)
        with django_capture_on_commit():
            opening.opening_confirm(user=users[-1], tender=tender)
    tender.refresh_from_db()
    return tender, users, bids


def _flags(tender):
    return {f.screen: f for f in Flag.objects.filter(tender_id=tender.pk,
                                                     kind=Flag.Kind.SCREEN)}


def test_copied_docx_bids_and_another_bidders_name_are_flagged_after_the_opening():
    def plaintexts(users):
        a, b, c = (u.organisation.name for u in users)
        return [
            make_docx([f"投标人：{a}", SHARED], table=[["项目经理", "李四"]]),
            # The second bid was written from the first: it still carries its name.
            make_docx([f"投标人：{b}", SHARED, f"联系单位：{a}"]),
            make_docx([f"投标人：{c}", "我公司将按招标文件要求组织施工，工期三百天，"
                       "质量目标为合格，采用自有机械设备，不分包。"]),
        ]

    tender, users, bids = close_opening_with(plaintexts)
    flags = _flags(tender)
    first, second = users[0].organisation, users[1].organisation
    near = flags["near_duplicate_documents"]
    assert near.subjects == sorted([first.credit_code, second.credit_code])
    assert near.evidence["pairs"][0]["jaccard"] >= 0.5
    rare = flags["identical_rare_strings"]
    assert rare.subjects == near.subjects
    assert rare.evidence["pairs"][0]["bidders"] == near.subjects
    name = flags["other_bidder_name"]
    assert name.severity == "high"
    assert name.evidence["hits"] == [
        {**name.evidence["hits"][0], "bid": str(bids[1].public_id),
         "name_found": first.name.lower()}]
    assert name.subjects == sorted([first.credit_code, second.credit_code])
    assert name.evidence["hits"][0]["of_bidder"] == first.credit_code
    assert screening.TEXT_NOT_EXTRACTED not in flags


def test_different_bids_raise_no_document_flag():
    def plaintexts(users):
        return [make_docx([f"投标人：{u.organisation.name}", text]) for u, text in zip(users, [
            "我公司承诺工期三百天，采用自有设备，质量合格，项目经理常驻现场。",
            "本单位拟派技术负责人一名，施工方案以流水作业为主，雨季另行编制措施。",
            "投标报价已包含规费和税金，材料价格按当地造价信息执行，不另调整。",
        ], strict=True)]

    tender, _, _ = close_opening_with(plaintexts)
    flags = _flags(tender)
    assert not {"near_duplicate_documents", "identical_rare_strings", "other_bidder_name",
                screening.TEXT_NOT_EXTRACTED} & set(flags)


def test_a_bid_whose_file_gives_no_text_is_named_in_a_low_flag_with_the_reason():
    def plaintexts(users):
        return [make_docx([SHARED]), make_docx([SHARED, "另附说明。"]),
                b"%PDF-1.7\n not really a pdf"]

    tender, users, bids = close_opening_with(plaintexts)
    flags = _flags(tender)
    missing = flags[screening.TEXT_NOT_EXTRACTED]
    assert missing.severity == "low"
    assert missing.subjects == [users[2].organisation.credit_code]
    [entry] = missing.evidence["bids"]
    assert entry["bid"] == str(bids[2].public_id) and "PDF" in entry["reason"]
    assert users[2].organisation.name in missing.explanation_en
    # The other two were still screened.
    assert "near_duplicate_documents" in flags


def test_an_unreadable_file_does_not_count_in_the_risk_score():
    def plaintexts(users):
        return [b"\x00\x01binary", b"\x00\x02binary", b"\x00\x03binary"]

    tender, _, _ = close_opening_with(plaintexts)
    assert screening.TEXT_NOT_EXTRACTED in _flags(tender)
    [ts] = screening.market_screening(RiskScore.objects.all()).tenders.values()
    assert screening.TEXT_NOT_EXTRACTED not in {r.code for r in ts.results}
    assert {"identical_prices"} <= {r.code for r in ts.results}


def test_a_missing_decrypted_file_is_reported_not_skipped():
    def plaintexts(users):
        return [make_docx(["甲"]), make_docx(["乙"]), make_docx(["丙"])]

    tender, _, bids = close_opening_with(plaintexts)
    from bidding.opening.models import BidOpening

    item = BidOpening.objects.get(bid=bids[0])
    item.document.storage.delete(item.document.name)
    screening.screen_tender_after_opening(tender=tender)
    missing = _flags(tender)[screening.TEXT_NOT_EXTRACTED]
    reasons = {e["bid"]: e["reason"] for e in missing.evidence["bids"]}
    assert "could not be opened" in reasons[str(bids[0].public_id)]


def test_a_document_screen_failure_is_logged_and_the_price_flags_are_kept(monkeypatch,
                                                                         caplog):
    def boom(rows):
        raise RuntimeError("document screen broke")

    monkeypatch.setattr(screening, "run_document_screens", boom)
    tender, _, _ = close_opening_with(lambda users: [make_docx([SHARED])] * 3)
    assert "identical_prices" in _flags(tender)
    assert "document screens of tender" in caplog.text
