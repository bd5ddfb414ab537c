"""The clock runs every registered job in order, and one failure stops nothing else."""

import logging

import pytest

from core import clock


@pytest.fixture
def only_these_jobs(monkeypatch):
    """A clean registry for the test; the apps' real jobs come back afterwards."""
    monkeypatch.setattr(clock, "_jobs", {})


def test_jobs_run_in_their_order_with_the_same_now(only_these_jobs):
    seen = []
    clock.register_job("later", lambda now: seen.append(("later", now)), order=20)
    clock.register_job("first", lambda now: seen.append(("first", now)), order=10)
    report = clock.tick()
    assert [name for name, _ in seen] == ["first", "later"]
    assert seen[0][1] == seen[1][1]
    assert report.ran == ["first", "later"] and report.failed == []


def test_a_failing_job_is_logged_and_the_next_job_still_runs(only_these_jobs, caplog):
    ran = []

    def broken(now):
        raise RuntimeError("bad record")

    clock.register_job("broken", broken, order=10)
    clock.register_job("after", lambda now: ran.append(now), order=20)
    with caplog.at_level(logging.ERROR, logger="core.clock"):
        report = clock.tick()
    assert report.failed == ["broken"] and report.ran == ["after"]
    assert ran
    assert "clock job broken failed" in caplog.text


def test_registering_a_name_again_replaces_the_job(only_these_jobs):
    clock.register_job("job", lambda now: "old", order=10)
    clock.register_job("job", lambda now: "new", order=10)
    assert clock.tick().results == {"job": "new"}


def test_one_failing_object_does_not_stop_the_others(caplog):
    def step(object_id):
        if object_id == 2:
            raise ValueError("corrupt row")
        return object_id != 3

    with caplog.at_level(logging.ERROR, logger="core.clock"):
        done = clock.for_each([1, 2, 3, 4], step, what="tender")
    assert done == [1, 4]
    assert "tender 2 failed" in caplog.text


def test_every_stage_registers_its_clock_job_in_the_procedures_order():
    names = [job.name for job in clock.jobs()]
    assert names.index("tenders.close_bidding") < names.index("opening.tick")
    assert names[-1] == "audit.checkpoint"
