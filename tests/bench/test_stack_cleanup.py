"""bench/_stack.py: no server outlives the benchmark that started it, whether the
benchmark ends normally, is interrupted (Ctrl-C, SIGTERM, SIGHUP), hits its hard
timeout, or is killed outright. Each test runs a tiny "benchmark" in a child process
that starts, through ``Stack.spawn``, a dummy server which itself forks a worker (as
``uvicorn --workers`` does), and checks that both are gone afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BENCH = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {root!r})
    from bench._stack import Stack

    SERVER = (
        "import os, subprocess, sys, time\\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\\n"
        "print(os.getpid(), worker.pid, flush=True)\\n"
        "time.sleep(120)\\n"
    )
    with Stack("cleanup-test", postgres=False, redis=False, timeout={timeout}) as stack:
        server = stack.spawn("dummy", [sys.executable, "-c", SERVER])
        for _ in range(200):
            text = server.log.read_text()
            if text.strip():
                break
            time.sleep(0.05)
        leader, worker = (int(p) for p in text.split())
        print(json.dumps({{"leader": leader, "worker": worker}}), flush=True)
        {body}
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in {"Z", "X"}  # a zombie has stopped running


def _gone(pids, within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def _default_signals() -> None:
    """The bench as an operator starts it from a terminal. A test run started under
    ``nohup`` ignores SIGHUP, and the stack rightly keeps an ignored signal ignored."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _start(body: str = "time.sleep(120)", timeout: str = "None"):
    script = BENCH.format(root=str(ROOT), timeout=timeout, body=body)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_signals)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail(f"the bench script did not start: {proc.stderr.read()[-2000:]}")
    pids = json.loads(line)
    assert _alive(pids["leader"]) and _alive(pids["worker"])
    return proc, [pids["leader"], pids["worker"]]


def _finish(proc) -> tuple[int, str]:
    try:
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_an_interrupted_benchmark_stops_the_server_and_its_workers(sig):
    proc, pids = _start()
    proc.send_signal(sig)
    code, err = _finish(proc)
    assert code != 0
    assert _gone(pids), err


def test_a_benchmark_past_its_hard_timeout_stops_its_servers_and_says_so():
    proc, pids = _start(timeout="1.0")
    code, err = _finish(proc)
    assert code != 0
    assert "hard timeout" in err
    assert _gone(pids)


def test_a_benchmark_that_ends_normally_stops_its_servers():
    # The body waits for the test's go-ahead (stdin closed by ``communicate``), so the
    # server is checked alive before the benchmark ends and stops it.
    proc, pids = _start(body="sys.stdin.readline()")
    code, err = _finish(proc)
    assert code == 0, err
    assert _gone(pids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_a_killed_benchmark_still_takes_its_server_down():
    proc, pids = _start()
    os.kill(proc.pid, signal.SIGKILL)
    _finish(proc)
    # The kernel signals the server (the group leader) when its parent dies; its own
    # workers are its business (uvicorn stops them on SIGTERM).
    assert _gone(pids[:1])
    for pid in pids[1:]:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
