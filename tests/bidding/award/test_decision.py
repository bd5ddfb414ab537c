"""The award decision: direct award (Reg 55) and the committee's methods (评定分离)."""

import subprocess
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from bidding.award import decision
from bidding.award.models import AwardDecision, Lottery, Notice, VoteRound
from bidding.tenders.models import Tender
from tests import factories
from tests.bidding.award.helpers import after_publicity, code, separate_tender

pytestmark = pytest.mark.django_db
S = Tender.Status


def _pdf_text(field) -> str:
    field.open("rb")
    data = field.read()
    field.close()
    assert b"/Sig" in data  # signed by the platform
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


def _ids(bids):
    return [str(b.public_id) for b in bids]


# ---------------------------------------------------------------- direct award


def test_direct_award_goes_to_the_first_ranked_candidate_after_publicity():
    tender, users, bids = factories.candidates_tender()
    d = decision.award_direct(user=tender.created_by, tender=tender, now=after_publicity(tender))
    tender.refresh_from_db()
    assert tender.status == S.AWARDED
    assert d.winner == bids[0] and d.method == "first_ranked"
    assert d.contract_due - d.notices_at == timedelta(days=30)
    assert d.report_due - d.notices_at == timedelta(days=15)
    text = _pdf_text(d.report)
    assert bids[0].bidder.name in text and "9,500,000.00" in text


def test_direct_award_of_unranked_candidates_is_refused():
    tender, _u, _b = factories.candidates_tender(ranked=False)
    with pytest.raises(ValidationError) as exc:
        decision.award_direct(user=tender.created_by, tender=tender,
                              now=after_publicity(tender))
    assert code(exc) == "unranked"


def test_direct_award_by_someone_else_is_refused():
    tender, users, _b = factories.candidates_tender()
    with pytest.raises(PermissionDenied):
        decision.award_direct(user=users[0], tender=tender, now=after_publicity(tender))


def test_direct_award_on_a_committee_tender_is_refused():
    tender, _u, _b = factories.candidates_tender(award_method="separate", decision_method="vote",
                                                 committee_mode="appointed", committee_size=3,
                                                 vote_mode="direct")
    with pytest.raises(ValidationError) as exc:
        decision.award_direct(user=tender.created_by, tender=tender,
                              now=after_publicity(tender))
    assert code(exc) == "wrong_method"


def test_committee_start_on_a_direct_award_tender_is_refused():
    tender, _u, _b = factories.candidates_tender()
    with pytest.raises(ValidationError) as exc:
        decision.award_start(user=tender.created_by, tender=tender, now=after_publicity(tender))
    assert code(exc) == "wrong_method"


def test_committee_start_before_publicity_ends_is_refused():
    tender, _u, _b = factories.candidates_tender(award_method="separate", decision_method="vote",
                                                 committee_mode="appointed", committee_size=3)
    with pytest.raises(ValidationError) as exc:
        decision.award_start(user=tender.created_by, tender=tender,
                             now=tender.publicity.ends_at - timedelta(seconds=1))
    assert code(exc) == "publicity_running"


# ---------------------------------------------------------------- notices


def test_notices_go_to_every_bidder_at_the_same_time():
    tender, users, bids = factories.candidates_tender(n_candidates=3, n_bids=4)
    d = decision.award_direct(user=tender.created_by, tender=tender, now=after_publicity(tender))
    notices = list(Notice.objects.filter(tender=tender))
    assert len(notices) == 4
    assert {n.issued_at for n in notices} == {d.notices_at}
    award = [n for n in notices if n.kind == "award"]
    assert [n.organisation for n in award] == [bids[0].bidder]
    text = _pdf_text(award[0].pdf)
    assert "中标通知书" in text and bids[0].bidder.name in text
    other = next(n for n in notices if n.organisation == bids[3].bidder)
    assert other.kind == "result"
    text = _pdf_text(other.pdf)
    assert "中标结果通知书" in text and bids[0].bidder.name in text


def test_notice_pdf_escapes_markup_in_names():
    tender, users, bids = factories.candidates_tender()
    org = bids[1].bidder
    org.name = "<b>恶意</b>&<img src='/etc/passwd'/>公司"
    org.save()
    decision.award_direct(user=tender.created_by, tender=tender, now=after_publicity(tender))
    n = Notice.objects.get(tender=tender, organisation=org)
    assert "<b>恶意</b>&<img src='/etc/passwd'/>公司" in _pdf_text(n.pdf).replace("\n", "")


def test_notices_before_a_decision_are_refused():
    tender, *_rest, now = separate_tender("lottery")
    with pytest.raises(ValidationError) as exc:
        decision.notices_issue(user=tender.created_by, tender=tender, now=now)
    assert code(exc) == "not_decided"


# ---------------------------------------------------------------- wrong method, non-member


@pytest.mark.parametrize("declared", ["vote", "lottery", "deliberation"])
def test_a_method_other_than_the_declared_one_is_refused(declared):
    tender, users, bids, members, now = separate_tender(declared, vote_mode="direct")
    attempts = {
        "vote": lambda: decision.vote_cast(user=members[0], tender=tender,
                                           choice=_ids(bids)[0], now=now),
        "lottery": lambda: decision.lottery_commit(user=tender.created_by, tender=tender,
                                                   round_name="福彩3D 2026001", now=now),
        "deliberation": lambda: decision.opinion_record(user=members[0], tender=tender,
                                                        text="x", preferred=_ids(bids)[0],
                                                        now=now),
        "price_competition": lambda: decision.price_competition_start(
            user=tender.created_by, tender=tender, now=now),
    }
    for method, attempt in attempts.items():
        if method == declared:
            continue
        with pytest.raises(ValidationError) as exc:
            attempt()
        assert code(exc) == "wrong_method", method


def test_a_non_member_cannot_vote():
    tender, users, bids, members, now = separate_tender("vote", vote_mode="direct")
    with pytest.raises(PermissionDenied):
        decision.vote_cast(user=users[0], tender=tender, choice=_ids(bids)[0], now=now)
    with pytest.raises(PermissionDenied):
        decision.vote_cast(user=tender.created_by, tender=tender, choice=_ids(bids)[0], now=now)


# ---------------------------------------------------------------- vote


def test_direct_vote_most_votes_wins_and_ballots_are_published_after_the_round():
    tender, users, bids, members, now = separate_tender("vote", vote_mode="direct")
    ids = _ids(bids)
    decision.vote_cast(user=members[0], tender=tender, choice=ids[1], now=now)
    rnd = VoteRound.objects.get(tender=tender)
    assert rnd.result == {}  # secret until the round closes
    decision.vote_cast(user=members[1], tender=tender, choice=ids[1], now=now)
    with pytest.raises(ValidationError) as exc:
        decision.vote_cast(user=members[1], tender=tender, choice=ids[0], now=now)
    assert code(exc) == "already_voted"
    decision.vote_cast(user=members[2], tender=tender, choice=ids[0], now=now)
    d = AwardDecision.objects.get(tender=tender)
    assert d.winner == bids[1] and d.method == "vote:direct"
    assert [b["choice"] for b in d.record["rounds"][0]["ballots"]] == [ids[1], ids[1], ids[0]]
    text = _pdf_text(d.report)
    assert "定标委员1" in text and bids[1].bidder.name in text
    decision.notices_issue(user=tender.created_by, tender=tender, now=now)
    tender.refresh_from_db()
    assert tender.status == S.AWARDED


def test_a_vote_for_a_non_candidate_is_refused():
    tender, users, bids, members, now = separate_tender("vote", vote_mode="direct",
                                                        n_candidates=2)
    with pytest.raises(ValidationError) as exc:
        decision.vote_cast(user=members[0], tender=tender, choice=str(bids[2].public_id),
                           now=now)
    assert code(exc) == "not_a_candidate"


def test_tally_ties_are_broken_by_the_report_order():
    out = decision.tally(["a", "b", "c"], ["c", "b", "a"], members=3, mode="direct")
    assert out["winner"] == "a" and out["tie_broken"]
    out = decision.tally(["a", "b", "c"], ["c", "b", "a"], members=3, mode="elimination")
    assert out["outcome"] == "eliminated" and out["eliminated"] == "c" and out["tie_broken"]
    out = decision.tally(["a", "b", "c"], ["b", "b", "a"], members=3, mode="elimination")
    assert out["outcome"] == "winner" and out["winner"] == "b"
    out = decision.tally(["a", "b", "c"], ["c", "c", "a"], members=3, mode="shortlist")
    assert out["shortlist"] == ["c", "a"] and not out["tie_broken"]
    out = decision.tally(["a", "b", "c", "d"], ["d", "c", "b", "d", "a"], members=5,
                         mode="shortlist")
    assert out["shortlist"] == ["d", "a"] and out["tie_broken"]


def test_elimination_drops_the_fewest_until_one_has_a_majority():
    tender, users, bids, members, now = separate_tender("vote", vote_mode="elimination",
                                                        size=5)
    ids = _ids(bids)
    # Round 1: 2 / 2 / 1: nobody has a majority; the third is dropped.
    for m, c in zip(members, [ids[0], ids[0], ids[1], ids[1], ids[2]], strict=True):
        decision.vote_cast(user=m, tender=tender, choice=c, now=now)
    rounds = list(VoteRound.objects.filter(tender=tender))
    assert rounds[0].result["eliminated"] == ids[2]
    assert rounds[1].candidates == ids[:2] and rounds[1].closed_at is None
    with pytest.raises(ValidationError) as exc:
        decision.vote_cast(user=members[0], tender=tender, choice=ids[2], now=now)
    assert code(exc) == "not_a_candidate"
    for m, c in zip(members, [ids[1], ids[0], ids[1], ids[1], ids[0]], strict=True):
        decision.vote_cast(user=m, tender=tender, choice=c, now=now)
    d = AwardDecision.objects.get(tender=tender)
    assert d.winner == bids[1] and len(d.record["rounds"]) == 2


# ---------------------------------------------------------------- lottery


def test_lottery_is_reproducible_and_never_rerun():
    tender, users, bids, members, now = separate_tender("lottery")
    supervisor = factories.supervisor()
    lot = decision.lottery_commit(user=tender.created_by, tender=tender,
                                  round_name="福彩3D 2026330", now=now)
    commit_event = AuditEvent.objects.get(action="award.lottery_committed")
    with pytest.raises(ValidationError) as exc:
        decision.lottery_commit(user=tender.created_by, tender=tender, round_name="again",
                                now=now)
    assert code(exc) == "lottery_rerun"
    with pytest.raises(PermissionDenied):
        decision.lottery_draw(user=tender.created_by, tender=tender, value="123", now=now)
    decision.lottery_draw(user=supervisor, tender=tender, value="4 7 1", now=now)
    with pytest.raises(ValidationError) as exc:
        decision.lottery_draw(user=supervisor, tender=tender, value="999", now=now)
    assert code(exc) == "lottery_rerun"
    lot.refresh_from_db()
    assert AuditEvent.objects.get(action="award.lottery_drawn").seq > commit_event.seq
    assert decision.verify_lottery(lot).ok
    d = AwardDecision.objects.get(tender=tender)
    assert str(d.winner.public_id) == lot.result and lot.result in _ids(bids)
    assert d.record["lottery"]["secret"] == bytes(lot.secret).hex()


def test_lottery_verification_fails_on_tampered_inputs():
    tender, users, bids, members, now = separate_tender("lottery")
    lot = decision.lottery_commit(user=tender.created_by, tender=tender, round_name="R1",
                                  now=now)
    decision.lottery_draw(user=factories.supervisor(), tender=tender, value="42", now=now)
    lot.refresh_from_db()
    other = next(i for i in lot.candidates if i != lot.result)
    for field, value in [("result", other), ("public_input", "external-v1;R1=43"),
                         ("secret", bytes(32)), ("params", {**lot.params, "v": 2}),
                         ("candidates", lot.candidates[:-1])]:
        fresh = Lottery.objects.get(pk=lot.pk)
        setattr(fresh, field, value)
        assert not decision.verify_lottery(fresh).ok, field


def test_vote_then_lottery_draws_among_the_top_two():
    tender, users, bids, members, now = separate_tender("vote_then_lottery")
    ids = _ids(bids)
    with pytest.raises(ValidationError) as exc:
        decision.lottery_commit(user=tender.created_by, tender=tender, round_name="R", now=now)
    assert code(exc) == "vote_first"
    for m, c in zip(members, [ids[2], ids[2], ids[1]], strict=True):
        decision.vote_cast(user=m, tender=tender, choice=c, now=now)
    with pytest.raises(ValidationError) as exc:
        decision.vote_cast(user=members[0], tender=tender, choice=ids[2], now=now)
    assert code(exc) == "vote_over"
    lot = decision.lottery_commit(user=tender.created_by, tender=tender, round_name="R",
                                  now=now)
    assert lot.candidates == sorted([ids[2], ids[1]])
    decision.lottery_draw(user=factories.supervisor(), tender=tender, value="7", now=now)
    d = AwardDecision.objects.get(tender=tender)
    assert str(d.winner.public_id) in (ids[1], ids[2])
    assert d.record["rounds"][0]["outcome"] == "shortlist" and d.record["lottery"]


# ---------------------------------------------------------------- deliberation


def test_deliberation_records_every_opinion_and_the_chair_decides_with_a_reason():
    tender, users, bids, members, now = separate_tender("deliberation")
    ids = _ids(bids)
    decision.opinion_record(user=members[1], tender=tender, text="报价最低", preferred=ids[2],
                            now=now)
    with pytest.raises(ValidationError) as exc:
        decision.opinion_record(user=members[1], tender=tender, text="again", preferred=ids[0],
                                now=now)
    assert code(exc) == "already_recorded"
    with pytest.raises(ValidationError) as exc:
        decision.deliberation_decide(user=members[0], tender=tender, winner=ids[2],
                                     reason="r", now=now)
    assert code(exc) == "opinions_missing"
    decision.opinion_record(user=members[0], tender=tender, text="业绩最好", preferred=ids[0],
                            now=now)
    decision.opinion_record(user=members[2], tender=tender, text="同意委员2", preferred=ids[2],
                            now=now)
    with pytest.raises(ValidationError) as exc:
        decision.deliberation_decide(user=members[1], tender=tender, winner=ids[2],
                                     reason="r", now=now)
    assert code(exc) == "not_chair"
    with pytest.raises(ValidationError) as exc:
        decision.deliberation_decide(user=members[0], tender=tender, winner=ids[2], reason=" ",
                                     now=now)
    assert code(exc) == "required"
    d = decision.deliberation_decide(user=members[0], tender=tender, winner=ids[2],
                                     reason="多数意见认为报价最低且满足要求", now=now)
    assert d.winner == bids[2]
    assert [o["text"] for o in d.record["opinions"]] == ["业绩最好", "报价最低", "同意委员2"]
    text = _pdf_text(d.report)
    assert "多数意见认为报价最低且满足要求" in text and "业绩最好" in text
    with pytest.raises(ValidationError) as exc:
        decision.deliberation_decide(user=members[0], tender=tender, winner=ids[0],
                                     reason="again", now=now)
    assert code(exc) == "already_decided"
