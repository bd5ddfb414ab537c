"""Members score at once without queueing on the committee, and that costs nothing in
safety: a replacement racing a member's submission waits for it and voids it too (Reg 48).
Real row locks: PostgreSQL only (SQLite serialises every writer anyway)."""

import threading

import pytest
from django.db import close_old_connections, connection

from bidding.evaluation import services
from bidding.evaluation.models import Score
from tests.bidding.evaluation.helpers import score_entries
from tests.bidding.evaluation.room_helpers import seed_specialties
from tests.bidding.evaluation.test_services import _at_technical

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.fixture(autouse=True)
def _specialties():
    seed_specialties()  # an earlier transactional test's flush removed them


def _in_thread(fn, errors):
    def run():
        try:
            fn()
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            close_old_connections()
    t = threading.Thread(target=run)
    t.start()
    return t


def test_a_replacement_racing_a_submission_voids_it_too(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    committee, users, _b, backups = _at_technical(backups_confirmed=1)
    leaving = committee.members.get(user=users[4])
    entries = score_entries(committee, "technical")
    in_submission, replace_started = threading.Event(), threading.Event()
    real_audit = services.audit_record

    def slow_audit(**kw):
        if kw.get("action") == "evaluation.sheet_submitted":
            in_submission.set()  # holding the member's row from here to the commit
            replace_started.wait(timeout=10)
        return real_audit(**kw)

    monkeypatch.setattr(services, "audit_record", slow_audit)
    errors: list = []
    submit = _in_thread(lambda: services.sheet_submit(
        committee=committee, user=users[4], stage="technical", entries=entries), errors)
    assert in_submission.wait(timeout=10)

    def replace():
        replace_started.set()
        services.member_replace(committee=committee, user=committee.tender.created_by,
                                member=leaving, reason="回避", replacement_seat=backups[0])
    replacing = _in_thread(replace, errors)
    submit.join(timeout=30)
    replacing.join(timeout=30)
    assert not submit.is_alive() and not replacing.is_alive() and not errors, errors
    technical = Score.objects.filter(member=leaving, stage="technical")
    assert technical.exists()
    assert not technical.filter(void=False).exists()


def test_members_submitting_at_once_all_land():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    committee, users, *_ = _at_technical()
    entries = score_entries(committee, "technical")
    errors: list = []
    threads = [_in_thread(lambda u=u: services.sheet_submit(
        committee=committee, user=u, stage="technical", entries=entries), errors)
        for u in users]
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert all(not t.is_alive() for t in threads)
    assert committee.members.filter(sheets__stage="technical",
                                    sheets__submitted_at__isnull=False).count() == len(users)
