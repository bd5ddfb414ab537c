"""``manage.py load_demo``: the later stages a newcomer can look at, built through the
services, and the command stays idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.services import audit_verify
from bidding import demo
from bidding.award.models import AwardDecision, Notice
from bidding.evaluation.models import Committee, EvaluationReport, ReportSignature
from bidding.tenders.models import Tender
from expert_pool.models import Expert

pytestmark = pytest.mark.django_db
S = Tender.Status


@pytest.fixture
def demo_dirs(settings, tmp_path, monkeypatch):
    # A run against PostgreSQL sets DATABASE_URL, which the command takes for a production
    # host (tests/core/test_deploy.py covers that refusal).
    monkeypatch.setenv("GGZY_ALLOW_DEMO", "1")
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"


def _load() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_load_demo_builds_the_later_stages_and_says_whom_to_sign_in_as(demo_dirs):
    output = _load()
    by_stage = {}
    for status in (S.EVALUATION, S.CANDIDATES, S.AWARDED):
        (tender,) = Tender.objects.filter(status=status)
        by_stage[status] = tender
        assert tender.reference in output

    # Under evaluation: the demo experts and the tenderer's representative sit on the
    # committee, expert1 chairs, the technical stage is open.
    committee = Committee.objects.get(tender=by_stage[S.EVALUATION])
    assert committee.stage == "technical" and committee.chair.user.username == "expert1"
    assert sorted(m.user.username for m in committee.members.all()) == [
        "expert1", "expert2", "expert3", "expert4", "tenderrep"]
    assert not EvaluationReport.objects.filter(tender=by_stage[S.EVALUATION]).exists()

    # In publicity now: the report stands, signed by every member with a key.
    report = EvaluationReport.objects.get(tender=by_stage[S.CANDIDATES])
    assert report.completed_at is not None and len(report.candidates) == 3
    assert set(report.signatures.values_list("kind", flat=True)) == {
        ReportSignature.Kind.SIGNED}
    assert report.signatures.count() == 5
    publicity = by_stage[S.CANDIDATES].publicity
    assert publicity.published_at < timezone.now() < publicity.ends_at

    # Awarded: one award notice to the winner, a result notice to every other bidder.
    awarded = by_stage[S.AWARDED]
    d = AwardDecision.objects.get(tender=awarded)
    notices = Notice.objects.filter(tender=awarded)
    assert notices.count() == awarded.bids.filter(status="submitted").count() == 4
    assert [n.organisation for n in notices if n.kind == "award"] == [d.winner.bidder]
    assert {n.issued_at for n in notices} == {d.notices_at}
    assert d.notices_at < timezone.now()

    # The committees were drawn from the demo experts; the seeded pool came after.
    assert Expert.objects.count() > 200
    assert audit_verify().ok

    # The output names the accounts for each stage.
    for stage, accounts in demo.STAGE_ACCOUNTS.items():
        line = f"accounts: {', '.join(accounts)}"
        assert line in output, stage
    assert "expert1" in demo.STAGE_ACCOUNTS["evaluation"]

    # Idempotent: a second run changes nothing.
    tenders = Tender.objects.count()
    assert "already loaded" in _load()
    assert Tender.objects.count() == tenders
