"""The evaluation's services: forming, electing, scoring, locking, ranking, replacing,
clarifying, signing, and every refusal."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import AuditEvent
from bidding.evaluation import rules, selectors, services
from bidding.evaluation.models import (
    EvaluatedBid,
    EvaluationReport,
    Member,
    ReportSignature,
    Score,
    ScoreOutlier,
    Stage,
)
from bidding.evaluation.signals import evaluation_progress
from bidding.opening.models import BidOpening
from bidding.tenders.models import Tender
from crypto import signing
from tests import factories
from tests.bidding.evaluation.helpers import (
    elect,
    formed,
    keys,
    qualification_entries,
    run_stage,
    score_entries,
    to_report,
)

pytestmark = pytest.mark.django_db
S = Tender.Status


def _code(exc) -> str:
    return next(e.code for errs in exc.value.error_dict.values() for e in errs)


# --- forming ------------------------------------------------------------------------


def test_forming_the_committee_seats_the_draw_and_starts_the_evaluation():
    committee, users, _bidders, _b = formed(experts=5)
    tender = committee.tender
    tender.refresh_from_db()
    assert tender.status == S.EVALUATION
    assert sorted(m.user_id for m in committee.members.all()) == sorted(u.pk for u in users)
    assert committee.bids.count() == 5
    assert sorted(committee.bids.values_list("code", flat=True)) == ["01", "02", "03", "04",
                                                                       "05"]
    event = AuditEvent.objects.filter(action="evaluation.committee_formed").get()
    assert event.object_id == str(committee.pk)


def test_code_numbers_are_recomputable_from_the_seed():
    committee, *_ = formed()
    seed = bytes.fromhex(committee.code_seed)
    ids = [str(b.bid.public_id) for b in committee.bids.all()]
    expected = rules.bid_codes(seed, ids)
    assert {str(b.bid.public_id): b.code for b in committee.bids.all()} == expected


def test_representatives_of_the_tenderer_sit_with_the_experts():
    committee, users, *_ = formed(experts=4, reps=1)
    kinds = sorted(committee.members.values_list("kind", flat=True))
    assert kinds == ["expert"] * 4 + ["tenderer_rep"]


def test_forming_needs_the_number_of_representatives_the_draw_left():
    tender, _ = factories.opened_tender()
    factories.complete_draw(tender, experts=4, reps=1)
    with pytest.raises(ValidationError) as exc:
        services.committee_form(tender=tender, user=tender.created_by, tenderer_reps=[])
    assert _code(exc) == "tenderer_reps_count"


def test_a_representative_from_another_organisation_is_refused():
    tender, _ = factories.opened_tender()
    factories.complete_draw(tender, experts=4, reps=1)
    with pytest.raises(ValidationError) as exc:
        services.committee_form(tender=tender, user=tender.created_by,
                                tenderer_reps=[factories.tenderer()])
    assert _code(exc) == "tenderer_rep_invalid"


def test_law_37_is_checked_again_when_forming():
    tender, _ = factories.opened_tender()
    factories.complete_draw(tender, experts=4)  # four members: fewer than five, even
    with pytest.raises(ValidationError) as exc:
        services.committee_form(tender=tender, user=tender.created_by)
    assert _code(exc) == "committee_size"


def test_forming_without_a_completed_draw_is_refused():
    tender, _ = factories.opened_tender()
    with pytest.raises(ValidationError) as exc:
        services.committee_form(tender=tender, user=tender.created_by)
    assert _code(exc) == "draw_not_complete"


def test_forming_twice_is_refused():
    committee, *_ = formed()
    with pytest.raises(ValidationError) as exc:
        services.committee_form(tender=committee.tender, user=committee.tender.created_by)
    assert _code(exc) == "committee_exists"


def test_forming_before_the_opening_closed_is_refused():
    tender = factories.published_tender()
    factories.complete_draw(tender)
    with pytest.raises(ValidationError) as exc:
        services.committee_form(tender=tender, user=tender.created_by)
    assert _code(exc) == "not_opened"


def test_a_bidder_cannot_form_the_committee():
    tender, bidders = factories.opened_tender()
    factories.complete_draw(tender)
    with pytest.raises(PermissionDenied):
        services.committee_form(tender=tender, user=bidders[0])


# --- chair ----------------------------------------------------------------------------


def test_a_majority_of_members_elects_the_chair_and_every_vote_is_kept():
    committee, users, *_ = formed()
    target = committee.members.get(user=users[2])
    for u in users[:2]:
        services.chair_vote(committee=committee, user=u, candidate=target)
    committee.refresh_from_db()
    assert committee.chair_id is None and committee.stage == Stage.CHAIR
    services.chair_vote(committee=committee, user=users[3], candidate=target)
    committee.refresh_from_db()
    assert committee.chair_id == target.pk and committee.stage == Stage.QUALIFICATION
    assert committee.votes.count() == 3


def test_a_member_votes_once():
    committee, users, *_ = formed()
    target = committee.members.get(user=users[0])
    services.chair_vote(committee=committee, user=users[1], candidate=target)
    with pytest.raises(ValidationError) as exc:
        services.chair_vote(committee=committee, user=users[1], candidate=target)
    assert _code(exc) == "already_voted"


def test_a_non_member_cannot_vote():
    committee, users, *_ = formed()
    with pytest.raises(PermissionDenied):
        services.chair_vote(committee=committee, user=factories.expert(),
                            candidate=committee.members.first())


# --- sheets -------------------------------------------------------------------------------


def test_scoring_before_qualification_is_locked_is_refused_as_out_of_order():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(committee=committee, user=users[0], stage="technical",
                                  entries={})
    assert _code(exc) == "stage_not_open"


def test_a_draft_is_kept_and_resumed_but_not_locked():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    k = keys(committee, "qualification")[0]
    services.sheet_save_draft(committee=committee, user=users[0], stage="qualification",
                              entries={k: {"criteria": {"1": {"passed": True}}}})
    member = committee.members.get(user=users[0])
    view = selectors.sheet_view(member, "qualification")
    assert view["entries"][k]["criteria"]["1"]["passed"] is True
    assert view["submitted_at"] is None
    services.sheet_save_draft(committee=committee, user=users[0], stage="qualification",
                              entries={k: {"criteria": {"1": {"passed": False,
                                                             "reason": "无"}}}})


def test_submitting_an_incomplete_sheet_is_refused():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    entries = qualification_entries(committee)
    entries.pop(next(iter(entries)))
    with pytest.raises(ValidationError) as exc:
        services.sheet_submit(committee=committee, user=users[0], stage="qualification",
                              entries=entries)
    assert _code(exc) == "sheet_incomplete"


def test_failing_a_bid_without_a_reason_is_refused():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    entries = qualification_entries(committee)
    k = next(iter(entries))
    entries[k]["criteria"]["1"] = {"passed": False, "reason": " "}
    with pytest.raises(ValidationError) as exc:
        services.sheet_submit(committee=committee, user=users[0], stage="qualification",
                              entries=entries)
    assert _code(exc) == "reason_required"


def test_citing_a_ground_that_reg_51_does_not_list_is_refused():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    entries = qualification_entries(committee)
    k = next(iter(entries))
    entries[k]["rejections"] = [{"code": "too_expensive_looking"}]
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(committee=committee, user=users[0], stage="qualification",
                                  entries=entries)
    assert _code(exc) == "unknown_rejection"


def _at_technical(**kw):
    committee, users, bidders, backups = formed(**kw)
    committee = elect(committee, users)
    committee = run_stage(committee, users, "qualification")
    return committee, users, bidders, backups


@pytest.mark.parametrize("value", ["30.01", "-1", "31"])
def test_a_score_out_of_range_is_refused(value):
    committee, users, *_ = _at_technical()
    entries = score_entries(committee, "technical")
    k = next(iter(entries))
    entries[k]["3"] = value  # criterion 3: at most 30
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(committee=committee, user=users[0], stage="technical",
                                  entries=entries)
    assert _code(exc) == "score_out_of_range"


def test_a_score_with_three_decimals_or_not_a_number_is_refused():
    committee, users, *_ = _at_technical()
    entries = score_entries(committee, "technical")
    k = next(iter(entries))
    entries[k]["3"] = "10.005"
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(committee=committee, user=users[0], stage="technical",
                                  entries=entries)
    assert _code(exc) == "score_precision"
    entries[k]["3"] = "ten"
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(committee=committee, user=users[0], stage="technical",
                                  entries=entries)
    assert _code(exc) == "score_not_a_number"


def test_a_criterion_the_tender_did_not_declare_is_refused():
    committee, users, *_ = _at_technical()
    entries = score_entries(committee, "technical")
    entries[next(iter(entries))]["5"] = "10"  # criterion 5 is commercial
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(committee=committee, user=users[0], stage="technical",
                                  entries=entries)
    assert _code(exc) == "unknown_criterion"


def test_a_submitted_sheet_is_locked_for_its_member():
    committee, users, *_ = _at_technical()
    entries = score_entries(committee, "technical")
    services.sheet_submit(committee=committee, user=users[0], stage="technical",
                          entries=entries)
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(committee=committee, user=users[0], stage="technical",
                                  entries=entries)
    assert _code(exc) == "stage_locked"


def test_a_score_after_the_lock_is_refused():
    committee, users, *_ = _at_technical()
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(committee=committee, user=users[0], stage="qualification",
                                  entries={})
    assert _code(exc) == "stage_locked"


def test_a_non_member_cannot_score():
    committee, users, *_ = _at_technical()
    with pytest.raises(PermissionDenied):
        services.sheet_save_draft(committee=committee, user=factories.expert(),
                                  stage="technical", entries={})


def test_no_member_sees_another_members_scores_before_submitting_their_own():
    committee, users, *_ = _at_technical()
    services.sheet_submit(committee=committee, user=users[0], stage="technical",
                          entries=score_entries(committee, "technical"))
    second = committee.members.get(user=users[1])
    with pytest.raises(PermissionDenied):
        selectors.stage_scores(committee, second, "technical")
    first = committee.members.get(user=users[0])
    assert selectors.stage_scores(committee, first, "technical")
    services.sheet_submit(committee=committee, user=users[1], stage="technical",
                          entries=score_entries(committee, "technical"))
    rows = selectors.stage_scores(committee, second, "technical")
    assert {r["member"] for r in rows} == {"M1", "M2"}


def test_only_the_chair_locks_and_only_when_every_member_submitted():
    committee, users, *_ = formed()
    committee = elect(committee, users, chair_index=0)
    for u in users[:4]:
        services.sheet_submit(committee=committee, user=u, stage="qualification",
                              entries=qualification_entries(committee))
    with pytest.raises(PermissionDenied):
        services.stage_lock(committee=committee, user=users[1], stage="qualification")
    with pytest.raises(ValidationError) as exc:
        services.stage_lock(committee=committee, user=users[0], stage="qualification")
    assert _code(exc) == "stage_incomplete"


def test_a_bid_fails_qualification_when_a_majority_fails_it_with_who_said_what():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    k_fail, k_tie = keys(committee, "qualification")[:2]

    def entries_for(u):
        i = users.index(u)
        fail = {k_fail} if i < 3 else set()  # three of five: a majority
        if i < 2:
            fail.add(k_tie)  # two of five: not a majority
        return qualification_entries(committee, fail=fail)

    run_stage(committee, users, "qualification", entries_for=entries_for)
    failed = EvaluatedBid.objects.get(pk=int(k_fail[1:]))
    passed = EvaluatedBid.objects.get(pk=int(k_tie[1:]))
    assert failed.qualified is False and "M1" in failed.rejection_reason
    assert passed.qualified is True
    assert Score.objects.filter(evaluated_bid=failed, passed=False).count() == 3 * 2


def test_a_cited_reg_51_ground_counts_as_failing():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    k = keys(committee, "qualification")[0]

    def entries_for(u):
        e = qualification_entries(committee)
        if users.index(u) < 3:
            e[k]["rejections"] = [{"code": "two_prices", "reason": "两份报价"}]
        return e

    run_stage(committee, users, "qualification", entries_for=entries_for)
    eb = EvaluatedBid.objects.get(pk=int(k[1:]))
    assert eb.qualified is False
    assert rules.REJECTION_ZH["two_prices"] in eb.rejection_reason


def test_every_bid_rejected_fails_the_tender():
    committee, users, *_ = formed()
    committee = elect(committee, users)
    all_keys = set(keys(committee, "qualification"))
    run_stage(committee, users, "qualification",
              entries_for=lambda u: qualification_entries(committee, fail=all_keys))
    committee.tender.refresh_from_db()
    assert committee.stage == Stage.FAILED
    assert committee.tender.status == S.FAILED


# --- aggregation, outliers, ranking ---------------------------------------------------


def test_aggregation_rules():
    values = [Decimal(v) for v in ("10", "20", "21", "22", "30")]
    assert rules.aggregate(values, "mean") == Decimal("20.60")
    assert rules.aggregate(values, "trimmed_mean") == Decimal("21.00")
    # fewer than five scores: the trimmed mean falls back to the mean
    assert rules.aggregate(values[:4], "trimmed_mean") == Decimal("18.25")
    assert rules.aggregate([Decimal("1"), Decimal("2"), Decimal("2")], "mean") == Decimal(
        "1.67")


def test_outlier_rule_is_strictly_more_than_thirty_percent_of_the_maximum():
    others = [Decimal("20"), Decimal("20"), Decimal("20")]
    assert not rules.is_outlier(Decimal("11"), others, Decimal("30"))  # 9 = 30 %
    assert rules.is_outlier(Decimal("10.99"), others, Decimal("30"))


def test_outliers_are_shown_to_the_chair_and_recorded_with_a_supervision_flag():
    from supervision.models import Flag

    committee, users, *_ = _at_technical()
    k = keys(committee, "technical")[0]

    def entries_for(u):
        e = score_entries(committee, "technical", value="20")
        if u == users[4]:
            e[k]["3"] = "2"  # far below the others' 20 on a 30-point criterion
        return e

    for u in users:
        services.sheet_submit(committee=committee, user=u, stage="technical",
                              entries=entries_for(u))
    chair = committee.chair
    live = selectors.aggregation(committee, chair, "technical")
    assert [(o["member"], o["criterion"]) for o in live["outliers"]] == [("M5", 3)]
    with pytest.raises(PermissionDenied):
        selectors.aggregation(committee, committee.members.get(user=users[1]), "technical")
    services.stage_lock(committee=committee, user=chair.user, stage="technical")
    outlier = ScoreOutlier.objects.get()
    assert outlier.value == Decimal("2.00") and outlier.others_mean == Decimal("20.00")
    flag = Flag.objects.get(tender_id=committee.tender_id, screen="evaluation_outlier")
    assert flag.evidence["member"] == "M5"


def test_the_price_score_ranking_and_candidates_follow_the_tender():
    committee, users, *_ = _at_technical()
    committee = run_stage(committee, users, "technical")
    committee = run_stage(committee, users, "commercial")
    assert committee.stage == Stage.REPORT
    report = EvaluationReport.objects.get(tender=committee.tender)
    result = services.price_result(committee)
    bids = list(committee.bids.filter(qualified=True))
    for eb in bids:
        assert eb.price_score == result.scores[eb.code]
        assert eb.total == eb.price_score + eb.technical + eb.commercial
    ranked = sorted(bids, key=lambda b: b.rank)
    assert [b.total for b in ranked] == sorted((b.total for b in bids), reverse=True)
    assert len(report.candidates) == 3
    assert [c["rank"] for c in report.candidates] == [1, 2, 3]
    assert report.candidates[0]["bid"] == str(ranked[0].bid.public_id)
    assert report.candidates[0]["score"] == str(ranked[0].total)
    assert report.candidates[0]["price"] == str(ranked[0].price)
    assert len(report.sha256) == 64 and report.pdf


def test_unranked_candidates_carry_no_rank():
    committee, users, *_ = formed(candidates_ranked=False, candidate_count=2)
    committee = to_report(committee, users)
    report = EvaluationReport.objects.get(tender=committee.tender)
    assert len(report.candidates) == 2 and all(c["rank"] is None for c in report.candidates)


def test_lowest_price_method_ranks_by_evaluated_price():
    committee, users, *_ = formed(evaluation_method="lowest_price")
    committee = to_report(committee, users)
    report = EvaluationReport.objects.get(tender=committee.tender)
    prices = [Decimal(c["price"]) for c in report.candidates]
    assert prices == sorted(prices) and prices[0] == Decimal("9300000.00")
    assert all(c["score"] is None for c in report.candidates)


def test_a_bid_above_the_maximum_price_is_rejected_when_the_price_is_scored():
    committee, users, *_ = formed(prices=("9500000.00", "9300000.00", "9900000.00"))
    committee = to_report(committee, users)
    above = committee.bids.get(price=Decimal("9900000.00"))
    assert above.qualified is False and "最高投标限价" in above.rejection_reason


# --- 暗标 -------------------------------------------------------------------------------


def test_anonymous_technical_bids_show_codes_only_until_the_technical_lock():
    committee, users, *_ = _at_technical(anonymous_technical=True)
    view = selectors.bids_view(committee, "technical")
    names = [b.bid.bidder.name for b in committee.bids.all()]
    assert all(set(row) == {"key", "code"} for row in view)
    assert not any(name in str(view) for name in names)
    qual = selectors.bids_view(committee, "qualification")
    assert all("code" not in row for row in qual)  # no link from names to codes
    committee = run_stage(committee, users, "technical")
    view = selectors.bids_view(committee, "technical")
    assert {row["bidder"] for row in view} <= set(names)
    event = AuditEvent.objects.filter(action="evaluation.stage_locked").last()
    assert event is not None and committee.codes_revealed_at is not None


# --- replacement ----------------------------------------------------------------------


def test_a_replaced_members_scores_are_void_and_the_replacement_scores_every_stage():
    committee, users, _b, backups = _at_technical(backups_confirmed=1)
    replaced = committee.members.get(user=users[4])
    new = services.member_replace(committee=committee, user=committee.tender.created_by,
                                  member=replaced, reason="回避：与投标人有利害关系",
                                  replacement_seat=backups[0])
    replaced.refresh_from_db()
    assert replaced.void and not replaced.active and replaced.replaced_by == new
    assert Score.objects.filter(member=replaced).count() > 0
    assert not Score.objects.filter(member=replaced, void=False).exists()
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(committee=committee, user=users[4], stage="technical",
                                  entries={})
    assert _code(exc) == "member_replaced"
    # The replacement must score qualification again before technical can be locked.
    members = users[:4]
    for u in members:
        services.sheet_submit(committee=committee, user=u, stage="technical",
                              entries=score_entries(committee, "technical"))
    newcomer = backups[0].expert.user
    services.sheet_submit(committee=committee, user=newcomer, stage="technical",
                          entries=score_entries(committee, "technical"))
    with pytest.raises(ValidationError) as exc:
        services.stage_lock(committee=committee, user=committee.chair.user, stage="technical")
    assert _code(exc) == "stage_incomplete"
    services.sheet_submit(committee=committee, user=newcomer, stage="qualification",
                          entries=qualification_entries(committee))
    services.stage_lock(committee=committee, user=committee.chair.user, stage="technical")


def _failing(committee, users, failers, target):
    def entries(u):
        return qualification_entries(committee, fail=(target,) if u in failers else ())
    return entries


def test_a_replacements_verdicts_that_let_a_bid_in_reopen_the_scoring_stages_for_it():
    """rules.REQUALIFICATION: M1-M3 fail one bid (3 of 5: rejected). After the technical
    lock M3 is replaced; the replacement passes it, so it qualifies. Every member who had
    submitted a scoring stage scores that bid (only it: their other scores stand), the
    committee goes back to the technical stage, and the bid is ranked in the end."""
    committee, users, _b, backups = formed(backups_confirmed=1)
    committee = elect(committee, users)
    target = keys(committee, "qualification")[0]
    eb = EvaluatedBid.objects.get(pk=int(target[1:]))
    committee = run_stage(committee, users, "qualification",
                          entries_for=_failing(committee, users, users[:3], target))
    eb.refresh_from_db()
    assert eb.qualified is False
    committee = run_stage(committee, users, "technical")
    assert committee.stage == Stage.COMMERCIAL
    for u in users[:2]:
        services.sheet_submit(committee=committee, user=u, stage="commercial",
                              entries=score_entries(committee, "commercial"))
    new = services.member_replace(committee=committee, user=committee.tender.created_by,
                                  member=committee.members.get(user=users[2]),
                                  reason="回避", replacement_seat=backups[0])
    newcomer = new.user
    services.sheet_submit(committee=committee, user=newcomer, stage="qualification",
                          entries=qualification_entries(committee))
    eb.refresh_from_db()
    committee.refresh_from_db()
    assert eb.qualified is True and eb.rejection_reason == ""
    assert committee.stage == Stage.TECHNICAL
    reopened = {r.stage: r for r in committee.reopenings.all()}
    assert set(reopened) == {"technical", "commercial"}
    assert reopened["technical"].bids == [eb.code] and reopened["technical"].cause == new
    labels = {u: committee.members.get(user=u).label for u in users}
    assert sorted(reopened["technical"].members) == sorted(
        labels[u] for u in users if u != users[2])
    assert sorted(reopened["commercial"].members) == sorted(labels[u] for u in users[:2])
    event = AuditEvent.objects.filter(action="evaluation.qualification_resettled").last()
    assert event is not None and "technical, commercial" in event.summary
    # A reopened member may not revise a bid they scored already ...
    member = users[0]
    old_key = next(k for k in keys(committee, "technical") if k != eb.code)
    changed = score_entries(committee, "technical", value="1.00")
    with pytest.raises(ValidationError) as exc:
        services.sheet_save_draft(committee=committee, user=member, stage="technical",
                                  entries={old_key: changed[old_key]})
    assert _code(exc) == "score_fixed"
    # ... nor submit before the new bid is scored; they add that bid only.
    with pytest.raises(ValidationError) as exc:
        services.sheet_submit(committee=committee, user=member, stage="technical",
                              entries={})
    assert _code(exc) == "sheet_incomplete"
    full = score_entries(committee, "technical")
    before = Score.objects.filter(member__user=member, stage="technical").count()
    for u in users:
        if u == users[2]:
            continue
        services.sheet_submit(committee=committee, user=u, stage="technical",
                              entries={eb.code: full[eb.code]})
    criteria = services.stage_criteria(committee.tender, "technical")
    assert Score.objects.filter(member__user=member, stage="technical").count() \
        == before + len(criteria)
    with pytest.raises(ValidationError) as exc:
        services.stage_lock(committee=committee, user=committee.chair.user, stage="technical")
    assert _code(exc) == "stage_incomplete"  # the replacement's technical sheet is due
    services.sheet_submit(committee=committee, user=newcomer, stage="technical", entries=full)
    services.stage_lock(committee=committee, user=committee.chair.user, stage="technical")
    committee.refresh_from_db()
    assert committee.stage == Stage.COMMERCIAL
    comm = score_entries(committee, "commercial")
    key = services.bid_key(eb, "commercial")
    for u in [*users[:2]]:
        services.sheet_submit(committee=committee, user=u, stage="commercial",
                              entries={key: comm[key]})
    for u in [*users[3:], newcomer]:
        services.sheet_submit(committee=committee, user=u, stage="commercial", entries=comm)
    services.stage_lock(committee=committee, user=committee.chair.user, stage="commercial")
    committee.refresh_from_db()
    eb.refresh_from_db()
    assert committee.stage == Stage.REPORT
    assert eb.rank is not None and eb.technical is not None
    valid = Score.objects.filter(evaluated_bid=eb, stage="technical", void=False,
                                 member__active=True)
    assert valid.values("member").distinct().count() == 5
    from bidding.evaluation.pdf.report import report_data

    stated = report_data(EvaluationReport.objects.get(tender=committee.tender)).reopenings
    assert sorted(r[0] for r in stated) == ["商务评分", "技术评分"]
    assert all(r[1] == eb.code and r[4] == new.label for r in stated)


def test_a_replacement_whose_verdicts_change_nothing_reopens_nothing():
    committee, users, _b, backups = formed(backups_confirmed=1)
    committee = elect(committee, users)
    committee = run_stage(committee, users, "qualification")
    committee = run_stage(committee, users, "technical")
    services.member_replace(committee=committee, user=committee.tender.created_by,
                            member=committee.members.get(user=users[4]), reason="病",
                            replacement_seat=backups[0])
    services.sheet_submit(committee=committee, user=backups[0].expert.user,
                          stage="qualification", entries=qualification_entries(committee))
    committee.refresh_from_db()
    assert committee.stage == Stage.COMMERCIAL and not committee.reopenings.exists()
    assert not AuditEvent.objects.filter(action="evaluation.qualification_resettled").exists()


def test_a_bid_the_replacement_tips_into_rejection_drops_out_of_scoring():
    """Two of five fail a bid (it passes); the replacement of a member who passed it fails
    it too: it no longer qualifies, leaves the later stages and the unsubmitted drafts,
    and nothing is reopened."""
    committee, users, _b, backups = formed(backups_confirmed=1)
    committee = elect(committee, users)
    target = keys(committee, "qualification")[0]
    eb = EvaluatedBid.objects.get(pk=int(target[1:]))
    committee = run_stage(committee, users, "qualification",
                          entries_for=_failing(committee, users, users[:2], target))
    services.sheet_save_draft(committee=committee, user=users[0], stage="technical",
                              entries=score_entries(committee, "technical"))
    assert eb.code in services.Sheet.objects.get(member__user=users[0],
                                                 stage="technical").draft
    services.member_replace(committee=committee, user=committee.tender.created_by,
                            member=committee.members.get(user=users[4]), reason="病",
                            replacement_seat=backups[0])
    services.sheet_submit(committee=committee, user=backups[0].expert.user,
                          stage="qualification",
                          entries=qualification_entries(committee, fail=(target,)))
    eb.refresh_from_db()
    committee.refresh_from_db()
    assert eb.qualified is False and "资质不符" in eb.rejection_reason
    assert committee.stage == Stage.TECHNICAL and not committee.reopenings.exists()
    assert eb.code not in keys(committee, "technical")
    draft = services.Sheet.objects.get(member__user=users[0], stage="technical").draft
    assert eb.code not in draft and len(draft) == len(keys(committee, "technical"))


def test_a_replacement_must_be_a_confirmed_backup_of_the_draw():
    committee, users, _b, backups = _at_technical()  # the backup never confirmed
    with pytest.raises(ValidationError) as exc:
        services.member_replace(committee=committee, user=committee.tender.created_by,
                                member=committee.members.get(user=users[4]), reason="病",
                                replacement_seat=backups[0])
    assert _code(exc) == "replacement_invalid"


def test_calling_the_next_backup_uses_the_draw():
    committee, users, _b, backups = _at_technical()
    seat = services.replacement_call(committee=committee, user=committee.tender.created_by,
                                     member=committee.members.get(user=users[4]))
    assert seat.pk == backups[0].pk
    seat.refresh_from_db()
    assert seat.status == "called"


def test_replacing_the_chair_opens_a_new_election():
    committee, users, _b, backups = _at_technical(backups_confirmed=1)
    services.member_replace(committee=committee, user=committee.tender.created_by,
                            member=committee.chair, reason="身体原因",
                            replacement_seat=backups[0])
    committee.refresh_from_db()
    assert committee.chair_id is None and committee.chair_round == 2
    elect(committee, users[1:])
    committee.refresh_from_db()
    assert committee.chair is not None and committee.chair.user == users[1]


# --- clarifications -------------------------------------------------------------------


def test_a_clarification_is_answered_in_time_and_changes_no_price_or_score():
    committee, users, bidders, _ = _at_technical()
    eb = committee.bids.filter(qualified=True).first()
    bidder = next(u for u in bidders if u.organisation_id == eb.bid.bidder_id)
    sheet_before = BidOpening.objects.get(bid=eb.bid).price_sheet
    scores_before = list(Score.objects.values_list("pk", "value", "passed"))
    item = services.clarification_request(
        committee=committee, user=committee.chair.user, bid_key_=eb.code,
        question="请说明工期安排", deadline=timezone.now() + timedelta(hours=2))
    answered = services.clarification_answer(
        clarification=item, user=bidder, answer="工期 280 天，报价改为 1 元",
        attachment=SimpleUploadedFile("说明.pdf", b"%PDF-1.4 x"))
    assert answered.answer == "工期 280 天，报价改为 1 元" and len(answered.attachment_sha256) == 64
    eb.refresh_from_db()
    assert BidOpening.objects.get(bid=eb.bid).price_sheet == sheet_before
    assert list(Score.objects.values_list("pk", "value", "passed")) == scores_before
    assert eb.price == Decimal(sheet_before["total_price"])


def test_a_late_answer_is_refused():
    committee, users, bidders, _ = _at_technical()
    eb = committee.bids.filter(qualified=True).first()
    bidder = next(u for u in bidders if u.organisation_id == eb.bid.bidder_id)
    item = services.clarification_request(
        committee=committee, user=committee.chair.user, bid_key_=eb.code,
        question="请说明", deadline=timezone.now() + timedelta(hours=1))
    with pytest.raises(ValidationError) as exc:
        services.clarification_answer(clarification=item, user=bidder, answer="迟",
                                      now=timezone.now() + timedelta(hours=2))
    assert _code(exc) == "clarification_late"


def test_only_the_bidder_asked_answers_and_only_the_chair_asks():
    committee, users, bidders, _ = _at_technical()
    eb = committee.bids.filter(qualified=True).first()
    other = next(u for u in bidders if u.organisation_id != eb.bid.bidder_id)
    with pytest.raises(PermissionDenied):
        services.clarification_request(
            committee=committee, user=users[1] if committee.chair.user != users[1] else users[2],
            bid_key_=eb.code, question="?", deadline=timezone.now() + timedelta(hours=1))
    item = services.clarification_request(
        committee=committee, user=committee.chair.user, bid_key_=eb.code, question="?",
        deadline=timezone.now() + timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        services.clarification_answer(clarification=item, user=other, answer="我来答")


def test_a_clarification_deadline_too_soon_is_refused():
    committee, users, *_ = _at_technical()
    eb = committee.bids.filter(qualified=True).first()
    with pytest.raises(ValidationError) as exc:
        services.clarification_request(
            committee=committee, user=committee.chair.user, bid_key_=eb.code, question="?",
            deadline=timezone.now() + timedelta(minutes=5))
    assert _code(exc) == "deadline_too_soon"


# --- signatures -----------------------------------------------------------------------


def _sign(report, user):
    key = factories.signing_key_for(user)
    return base64.b64encode(signing.sign(key, signing.REPORT,
                                         services.report_message(report))).decode()


def test_every_member_signs_then_the_report_stands_and_candidates_are_published():
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    report = EvaluationReport.objects.get(tender=committee.tender)
    for u in users[:3]:
        services.report_sign(report=report, user=u, signature_b64=_sign(report, u))
    services.report_sign(report=report, user=users[3], signature_b64=_sign(report, users[3]),
                         dissent="我认为第一名的技术方案不可行")
    services.report_refuse(report=report, user=users[4])  # no reasons: agrees (Reg 53)
    report.refresh_from_db()
    committee.tender.refresh_from_db()
    assert report.completed_at is not None and report.final_pdf
    assert committee.tender.status == S.CANDIDATES
    kinds = sorted(report.signatures.values_list("kind", flat=True))
    assert kinds == ["deemed", "dissent", "signed", "signed", "signed"]
    assert [c.bid.public_id for c in selectors.recommended_candidates(committee.tender)] \
        == [__import__("uuid").UUID(c["bid"]) for c in report.candidates]


def test_a_bad_signature_is_refused():
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    report = EvaluationReport.objects.get(tender=committee.tender)
    factories.signing_key_for(users[0])
    forged = _sign(report, users[1])
    with pytest.raises(ValidationError) as exc:
        services.report_sign(report=report, user=users[0], signature_b64=forged)
    assert _code(exc) == "bad_signature"


def test_a_signature_under_another_label_is_refused():
    """The report is signed under its own label (crypto.signing.REPORT): the same
    message signed as a generic record does not count."""
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    report = EvaluationReport.objects.get(tender=committee.tender)
    key = factories.signing_key_for(users[0])
    as_record = base64.b64encode(signing.sign(key, signing.RECORD,
                                              services.report_message(report))).decode()
    with pytest.raises(ValidationError) as exc:
        services.report_sign(report=report, user=users[0], signature_b64=as_record)
    assert _code(exc) == "bad_signature"
    assert services.REPORT_LABEL == signing.REPORT == b"ggzy-evaluation-report-v1\x00"
    services.report_sign(report=report, user=users[0], signature_b64=_sign(report, users[0]))


def test_signing_twice_is_refused_and_a_non_member_cannot_sign():
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    report = EvaluationReport.objects.get(tender=committee.tender)
    services.report_refuse(report=report, user=users[0], dissent="不同意")
    with pytest.raises(ValidationError) as exc:
        services.report_refuse(report=report, user=users[0])
    assert _code(exc) == "already_signed"
    with pytest.raises(PermissionDenied):
        services.report_refuse(report=report, user=factories.expert())


def test_silence_past_the_signing_time_is_agreement():
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    report = EvaluationReport.objects.get(tender=committee.tender)
    services.report_refuse(report=report, user=users[0], dissent="保留意见")
    assert services.report_deadline_tick(now=report.sign_until - timedelta(seconds=1)) == 0
    assert services.report_deadline_tick(now=report.sign_until + timedelta(seconds=1)) == 1
    report.refresh_from_db()
    assert report.completed_at is not None
    assert report.signatures.filter(kind=ReportSignature.Kind.DEEMED).count() == 4


def test_the_chair_closing_deems_the_rest_to_agree():
    committee, users, *_ = formed()
    committee = to_report(committee, users)
    report = EvaluationReport.objects.get(tender=committee.tender)
    with pytest.raises(PermissionDenied):
        services.report_close(report=report, user=users[1])
    services.report_close(report=report, user=committee.chair.user)
    report.refresh_from_db()
    assert report.completed_at is not None


# --- progress -------------------------------------------------------------------------


def test_progress_names_labels_and_counts_and_no_scores(django_capture_on_commit_callbacks):
    committee, users, *_ = formed()
    committee = elect(committee, users)
    seen = []

    def listen(sender, committee, stage, kind, **kw):
        seen.append((stage, kind))

    evaluation_progress.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.sheet_save_draft(committee=committee, user=users[0], stage="qualification",
                                      entries={})
            services.sheet_submit(committee=committee, user=users[1], stage="qualification",
                                  entries=qualification_entries(committee))
    finally:
        evaluation_progress.disconnect(listen)
    assert seen == [("qualification", "draft_saved"), ("qualification", "submitted")]
    p = selectors.progress(committee)
    assert p["counts"]["qualification"] == {"submitted": 1, "drafts": 1, "active": 5}
    assert p["members"][1]["stages"]["qualification"] == "submitted"
    assert "passed" not in str(p) and users[0].username not in str(p)


def test_members_of_a_committee_are_distinct_people():
    committee, users, *_ = formed()
    assert Member.objects.filter(committee=committee).values("user").distinct().count() == 5
