"""The evaluation report PDF: its content (pdftotext), hostile text printed literally,
the platform's signature, and the digest members sign."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from decimal import Decimal

import pytest

from bidding.evaluation import services
from bidding.evaluation.models import EvaluationReport
from bidding.tenders.services import CriterionInput
from tests.bidding.evaluation.helpers import elect, formed, qualification_entries, run_stage
from tests.conftest import require

pytestmark = pytest.mark.django_db

HOSTILE = 'A<B & <b>粗</b> <font name="x"> <img src="/etc/hostname"/>'


def _text(pdf: bytes, tmp_path) -> str:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    return re.sub(r"\s+", "", out)


def _criteria():
    return [
        CriterionInput(stage="qualification", name="资质证书"),
        CriterionInput(stage="technical", name=f"技术方案 {HOSTILE}", max_score=Decimal("40")),
        CriterionInput(stage="commercial", name="业绩", max_score=Decimal("30")),
    ]


def _reported(tmp_path):
    committee, users, *_ = formed(criteria=_criteria())
    committee = elect(committee, users)
    k = next(iter(qualification_entries(committee)))

    def qual(u):
        e = qualification_entries(committee)
        if users.index(u) == 0:
            e[k]["criteria"]["1"] = {"passed": False, "reason": f"证书过期 {HOSTILE}"}
        return e

    committee = run_stage(committee, users, "qualification", entries_for=qual)
    committee = run_stage(committee, users, "technical")
    committee = run_stage(committee, users, "commercial")
    return committee, users, EvaluationReport.objects.get(tender=committee.tender)


def test_the_report_states_members_scores_verdicts_working_and_candidates(tmp_path):
    committee, users, report = _reported(tmp_path)
    pdf = report.pdf.open("rb").read()
    assert hashlib.sha256(pdf).hexdigest() == report.sha256
    text = _text(pdf, tmp_path)
    hostile = re.sub(r"\s+", "", HOSTILE)
    assert "评标报告" in text and committee.tender.reference in text
    assert f"技术方案{hostile}" in text  # criterion name printed literally
    assert f"证书过期{hostile}" in text  # the failing reason, literally
    for m in committee.members.all():
        assert m.label in text
    for eb in committee.bids.filter(qualified=True):
        assert eb.bid.bidder.name in text and str(eb.total) in text
    first = services.price_result(committee).explanation[0]
    assert re.sub(r"\s+", "", first.zh) in text  # the price score working
    assert "推荐中标候选人" in text


def test_the_signed_copy_adds_signatures_and_dissent_literally(tmp_path):
    committee, users, report = _reported(tmp_path)
    for u in users[:4]:
        services.report_refuse(report=report, user=u)
    services.report_refuse(report=report, user=users[4], dissent=f"不同意排名 {HOSTILE}")
    report.refresh_from_db()
    text = _text(report.final_pdf.open("rb").read(), tmp_path)
    assert "不同意排名" + re.sub(r"\s+", "", HOSTILE) in text
    assert report.sha256 in text
    assert "视为同意" in text


def test_the_report_is_signed_by_the_platform(tmp_path):
    require(shutil.which("pdfsig") is not None, "pdfsig (poppler-utils) is not installed")
    _c, _u, report = _reported(tmp_path)
    path = tmp_path / "r.pdf"
    path.write_bytes(report.pdf.open("rb").read())
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature #1" in out


def _score(member: int, bid: int, criterion: int, top: Decimal) -> Decimal:
    """A distinct, reproducible score per member, bid and criterion."""
    return (top * Decimal(40 + (member * 7 + bid * 3 + criterion * 5) % 60) / 100).quantize(
        Decimal("0.01"))


def test_a_large_report_prints_every_score_in_per_criterion_matrices(tmp_path):
    """9 members x 20 bids x 10 criteria: each criterion is a table of bids by members
    with the committee's score; sampled rows read back in member order, the header is on
    every page that has score rows, and the page count stays small."""
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    from bidding.evaluation import rules
    from bidding.evaluation.models import Member
    from tests.bidding.evaluation.helpers import keys

    C = CriterionInput
    criteria = ([C(stage="qualification", name=f"资格{i}") for i in range(2)]
                + [C(stage="technical", name=f"技术项{i}", max_score=Decimal("10"))
                   for i in range(5)]
                + [C(stage="commercial", name=f"商务项{i}", max_score=Decimal("5"))
                   for i in range(3)])
    prices = [f"{9_000_000 + 10_000 * i}.00" for i in range(20)]
    committee, users, *_ = formed(experts=9, prices=prices, criteria=criteria)
    committee = elect(committee, users)
    committee = run_stage(committee, users, "qualification")
    tops = {c.number: c.max_score for c in committee.tender.criteria.all()}

    def scores(stage):
        def entries(u):
            m = users.index(u)
            return {k: {str(n): str(_score(m, b, n, tops[n])) for n in tops
                        if committee.tender.criteria.get(number=n).stage == stage}
                    for b, k in enumerate(keys(committee, stage))}
        return entries

    committee = run_stage(committee, users, "technical", entries_for=scores("technical"))
    committee = run_stage(committee, users, "commercial", entries_for=scores("commercial"))
    report = EvaluationReport.objects.get(tender=committee.tender)
    path = tmp_path / "large.pdf"
    path.write_bytes(report.pdf.open("rb").read())
    layout = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
                            capture_output=True, text=True, check=True).stdout
    pages = layout.split("\f")
    lines = [re.sub(r"\s+", " ", ln).strip() for ln in layout.splitlines()]
    members = list(Member.objects.filter(committee=committee).order_by("pk"))
    bids = {eb.code: eb for eb in committee.bids.all()}
    tech_keys = keys(committee, "technical")
    checked = 0
    for b in (0, 7, 19):
        code = tech_keys[b]
        for n in (3, 5, 7):  # technical criteria 3..7
            values = [_score(users.index(m.user), b, n, tops[n]) for m in members]
            agg = rules.aggregate(values, committee.tender.score_aggregation)
            row = " ".join([code, *(str(v) for v in values), str(agg)])
            assert row in lines, f"row {row!r} missing"
            checked += 1
    comm = keys(committee, "commercial")
    eb = next(e for e in bids.values() if f"b{e.pk}" == comm[4])
    values = [_score(users.index(m.user), 4, 9, tops[9]) for m in members]
    assert " ".join([eb.code, *(str(v) for v in values)]) in " ".join(lines)
    assert checked == 9
    # Every page with score rows repeats the table header.
    for page in pages:
        if re.search(r"^\s*\d{2}(\s+\d+\.\d\d){10}\s*$", page, re.M):
            assert "委员会得分" in page
    # 20 bids x 8 scored criteria x 9 members = 1,440 scores on a handful of pages.
    assert 3 <= len(pages) - 1 <= 20
