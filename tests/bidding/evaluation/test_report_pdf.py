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
