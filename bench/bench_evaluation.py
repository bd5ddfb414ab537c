"""Benchmark: a committee of 9 evaluating 60 bids on 40 criteria, every member scoring at
once over the real API.

``python bench/bench_evaluation.py`` or ``make bench ONLY=evaluation``. A throw-away stack
(``bench/_stack.py``): PostgreSQL (a fresh database ``ggzy_bench_evaluation``), Redis db 14
(the channel layer the room's progress broadcasts go through) and two uvicorn processes on
their own loopback ports. Member i talks to process i mod 2.

Setup (a child process with the stack's environment; rows made directly, as
``tests/factories.py`` does, since the opening and the draw have their own benchmarks):
a tender declaring ``BENCH_EVAL_CRITERIA`` (40) criteria — 5 qualification, the rest
split 5:2 between technical and commercial —, ``BENCH_EVAL_BIDS`` (60) opened bids, a
completed draw of 7 experts plus 2 tenderer's representatives (``BENCH_EVAL_MEMBERS``, 9),
the committee formed (the service) and its chair elected; each member gets an API token.
The API requires the second factor, so before scoring every member enrols an authenticator
(``POST /api/auth/2fa/enrol/``), confirms it and verifies the token
(``POST /api/auth/2fa/verify/``) with codes computed by ``accounts.totp`` in this process.

Measured, over HTTP only (a thread per member, persistent connections, all members
released together by a barrier at the start of each stage):

* ``draft PUT``: ``PUT sheets/<stage>/`` of the member's whole sheet for the stage (every
  bid, every criterion); each member saves it ``BENCH_EVAL_DRAFTS`` (3) times, as the
  room's autosave does, then
* ``submit POST``: ``POST sheets/<stage>/submit/`` (the saved draft: checked complete,
  scores written, the sheet locked for the member);
* ``aggregation GET``: the chair's ``GET stages/<stage>/aggregation/`` once every sheet
  is in (``BENCH_EVAL_AGG`` (10) times per scoring stage): committee scores per criterion
  and the live outliers;
* ``lock POST``: the chair's ``POST stages/<stage>/lock/`` (qualification settled by
  majority; scores aggregated, outliers recorded; after the last stage the price score,
  the ranking, the candidates and the report PDF drawn up and signed);
* ``report PDF``: rendering the full-size report (every score) in a child process,
  ``BENCH_EVAL_PDF`` (2) times, and its page count.

Every wait is bounded (socket timeouts, the barrier, the child processes), and the whole
run stops after ``BENCH_EVAL_TIMEOUT_S`` (600) seconds with a message saying where it was.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accounts import totp  # noqa: E402 - standard library only, no Django needed
from bench._stack import Stack, django_setup, percentile, print_table  # noqa: E402

QUALIFICATION = 5


def _criteria_split(total: int) -> tuple[int, int, int]:
    rest = max(2, total - QUALIFICATION)
    technical = max(1, round(rest * 5 / 7))
    return QUALIFICATION, technical, rest - technical


# --- child: setup (Django, the stack's environment) ----------------------------------------


def _setup(cfg_path: str, out_path: str) -> None:
    cfg = json.loads(Path(cfg_path).read_text())
    django_setup()
    from django.test.utils import override_settings
    from rest_framework.authtoken.models import Token

    from bidding.evaluation import services
    from bidding.tenders import services as tender_services
    from tests import factories

    started = time.perf_counter()
    q, t, c = _criteria_split(cfg["criteria"])
    C = tender_services.CriterionInput
    criteria = ([C(stage="qualification", name=f"资格条件{i + 1}", name_en=f"Qualification {i + 1}")
                 for i in range(q)]
                + [C(stage="technical", name=f"技术评分项{i + 1}", name_en=f"Technical {i + 1}",
                     max_score=Decimal("2.00")) for i in range(t)]
                + [C(stage="commercial", name=f"商务评分项{i + 1}", name_en=f"Commercial {i + 1}",
                     max_score=Decimal("2.00")) for i in range(c)])
    rng = random.Random(7)
    prices = [f"{rng.randint(8_800_000, 9_700_000)}.00" for _ in range(cfg["bids"])]
    reps = 2 if cfg["members"] >= 7 else 0
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        tender, _bidders = factories.opened_tender(prices=prices, criteria=criteria)
        _draw, experts, _backups = factories.complete_draw(
            tender, experts=cfg["members"] - reps, reps=reps, backups=0)
        rep_users = [factories.UserFactory(role="tenderer", organisation=tender.tenderer)
                     for _ in range(reps)]
    users = experts + rep_users
    committee = services.committee_form(tender=tender, user=tender.created_by,
                                        tenderer_reps=rep_users)
    chair = committee.members.get(user=users[0])
    for u in users:
        committee.refresh_from_db()
        if committee.chair_id:
            break
        services.chair_vote(committee=committee, user=u, candidate=chair)
    committee.refresh_from_db()
    assert committee.chair_id == chair.pk, "chair not elected"
    Path(out_path).write_text(json.dumps({
        "tender": tender.pk, "criteria": [q, t, c],
        "tokens": [Token.objects.create(user=u).key for u in users],
        "setup_s": round(time.perf_counter() - started, 1)}))


def _render(tender_pk: int, rounds: int, out_path: str) -> None:
    """Time the report PDF at full size (the stored report of the finished stages)."""
    django_setup()
    import io

    from pypdf import PdfReader

    from bidding.evaluation.models import EvaluationReport, Score
    from bidding.evaluation.pdf.report import evaluation_report_pdf

    report = EvaluationReport.objects.get(tender_id=tender_pk)
    times, size, pages = [], 0, 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        pdf = evaluation_report_pdf(report)
        times.append(time.perf_counter() - t0)
        size = len(pdf)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    Path(out_path).write_text(json.dumps({
        "times": times, "bytes": size, "pages": pages,
        "scores": Score.objects.filter(evaluated_bid__committee__tender_id=tender_pk).count()}))


# --- the members: HTTP clients ---------------------------------------------------------------


class Client:
    """One member's persistent HTTP/1.1 connection with their token."""

    def __init__(self, port: int, token: str, timeout: float):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method: str, path: str, body=None) -> tuple[float, dict]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                elapsed = time.perf_counter() - t0
                break
            except (ConnectionError, http.client.RemoteDisconnected, BrokenPipeError):
                # A keep-alive connection the server closed: reconnect once (not timed).
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=self.timeout)
                if attempt == 2:
                    raise
        if resp.status >= 400:
            raise RuntimeError(f"{method} {path} -> {resp.status}: {raw[:600]!r}")
        return elapsed, (json.loads(raw) if raw else {})

    def close(self):
        self.conn.close()


def _entries(room: dict, stage: str, member_index: int, rng: random.Random) -> dict:
    """A member's whole sheet for the room's stage: two bids failed by most members in
    the qualification review; scores spread around a per-bid level, a few far off."""
    out = {}
    for i, bid in enumerate(room["bids"]):
        if stage == "qualification":
            fail = i < 2 and member_index % 3 != 0
            out[bid["key"]] = {"rejections": [], "criteria": {
                str(c["number"]): ({"passed": False, "reason": f"第{c['number']}项不满足"}
                                   if fail else {"passed": True})
                for c in room["criteria"]}}
        else:
            level = 0.9 + (i % 10) * 0.09
            row = {}
            for c in room["criteria"]:
                top = float(c["max_score"])
                value = level + rng.uniform(-0.15, 0.15)
                if rng.random() < 0.004:
                    value = top - value  # an outlying score now and then
                row[str(c["number"])] = f"{max(0.0, min(top, value)):.2f}"
            out[bid["key"]] = row
    return out


def _run_members(cfg: dict, deadline: float) -> dict:
    base = f"/api/tenders/{cfg['tender']}/evaluation/"
    timeout = cfg["request_timeout"]
    clients = [Client(cfg["ports"][i % len(cfg["ports"])], tok, timeout)
               for i, tok in enumerate(cfg["tokens"])]
    chair = clients[0]
    n = len(clients)
    timings: dict[str, list[float]] = {"draft": [], "submit": [], "aggregation": [],
                                       "room": [], "verify": []}
    locks: dict[str, float] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("over the time limit")
        return remaining

    # The evaluation API requires the second factor: each member enrols an authenticator
    # through the API and verifies their token with TOTP codes computed here from the
    # secret /api/auth/2fa/enrol/ returned (as a member's authenticator app would).
    for i, cl in enumerate(clients):
        left()
        _t, enrolment = cl.call("POST", "/api/auth/2fa/enrol/", {})
        secret = totp.from_base32(enrolment["secret"])
        # The first code confirms the enrolment (one step back: the server accepts one step
        # either side), the current one verifies the token: two distinct, unused codes.
        cl.call("POST", "/api/auth/2fa/confirm/",
                {"code": totp.totp(secret, time.time() - totp.STEP)})
        took, status = cl.call("POST", "/api/auth/2fa/verify/",
                               {"code": totp.totp(secret, time.time())})
        if not status.get("verified"):
            raise RuntimeError(f"M{i + 1}: token not verified: {status}")
        timings["verify"].append(took)

    stages = ["qualification"] + [s for s, k in (("technical", cfg["criteria"][1]),
                                                  ("commercial", cfg["criteria"][2])) if k]
    for stage in stages:
        barrier = threading.Barrier(n)

        def member(i, stage=stage, barrier=barrier):
            cl, rng = clients[i], random.Random(1000 * i + len(stage))
            try:
                took, room = cl.call("GET", base)
                if room["stage"] != stage:
                    raise RuntimeError(f"room at {room['stage']}, expected {stage}")
                entries = _entries(room, stage, i, rng)
                barrier.wait(timeout=left())
                mine = []
                for _ in range(cfg["drafts"]):
                    mine.append(("draft", cl.call("PUT", f"{base}sheets/{stage}/",
                                                  {"entries": entries})[0]))
                mine.append(("submit", cl.call("POST", f"{base}sheets/{stage}/submit/", {})[0]))
                with lock:
                    timings["room"].append(took)
                    for kind, t in mine:
                        timings[kind].append(t)
            except Exception as exc:  # noqa: BLE001 - reported after the stage
                with lock:
                    errors.append(f"{stage} M{i + 1}: {exc!r}"[:800])
                barrier.abort()

        threads = [threading.Thread(target=member, args=(i,), daemon=True) for i in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=max(0.1, left()))
        if any(th.is_alive() for th in threads):
            raise TimeoutError(f"{stage}: members still scoring at the time limit")
        if errors:
            raise RuntimeError(f"{stage}: {len(errors)} member(s) failed: {errors[:3]}")
        if stage != "qualification":
            for _ in range(cfg["agg"]):
                took, agg = chair.call("GET", f"{base}stages/{stage}/aggregation/")
                timings["aggregation"].append(took)
            timings.setdefault("agg_rows", []).append(len(agg["rows"]))
            timings.setdefault("agg_outliers", []).append(len(agg["outliers"]))
        left()
        locks[stage], state = chair.call("POST", f"{base}stages/{stage}/lock/")
        locks[f"{stage}_next"] = state["stage"]
    for cl in clients:
        cl.close()
    return {"timings": timings, "locks": locks, "stages": stages}


# --- main ----------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def main() -> list[dict]:
    bids = int(os.environ.get("BENCH_EVAL_BIDS", "60"))
    n_criteria = int(os.environ.get("BENCH_EVAL_CRITERIA", "40"))
    members = int(os.environ.get("BENCH_EVAL_MEMBERS", "9"))
    drafts = int(os.environ.get("BENCH_EVAL_DRAFTS", "3"))
    agg = int(os.environ.get("BENCH_EVAL_AGG", "10"))
    pdf_rounds = int(os.environ.get("BENCH_EVAL_PDF", "2"))
    timeout = int(os.environ.get("BENCH_EVAL_TIMEOUT_S", "600"))
    started = time.monotonic()
    deadline = started + timeout
    load_before = os.getloadavg()
    where = ["starting"]

    def left() -> int:
        remaining = int(deadline - time.monotonic())
        if remaining <= 0:
            raise TimeoutError(f"bench_evaluation: over {timeout} s while {where[0]}")
        return remaining

    with Stack("evaluation", postgres=True, redis=True) as stack:
        where[0] = "migrating"
        t0 = time.perf_counter()
        stack.manage("migrate", "--noinput", timeout=min(600, left()))
        where[0] = "setting up the tender, bids and committee"
        cfg_path, setup_path = stack.dir / "setup-cfg.json", stack.dir / "setup.json"
        cfg_path.write_text(json.dumps({"bids": bids, "criteria": n_criteria,
                                        "members": members}))
        stack.python("-m", "bench.bench_evaluation", "--setup", str(cfg_path),
                     str(setup_path), timeout=left(),
                     extra_env={"CELERY_TASK_ALWAYS_EAGER": "true"})
        setup = json.loads(setup_path.read_text())
        where[0] = "starting uvicorn"
        servers = [stack.start_uvicorn(f"web{k}", ready_timeout=min(90, left()))
                   for k in range(2)]
        print(f"setup {time.perf_counter() - t0:.1f} s (data {setup['setup_s']} s); "
              f"{members} members, {bids} bids, criteria q/t/c {setup['criteria']}; "
              f"uvicorn x2 on ports {', '.join(str(s.port) for s in servers)}", flush=True)
        where[0] = "members scoring"
        result = _run_members({"tender": setup["tender"], "tokens": setup["tokens"],
                               "ports": [s.port for s in servers], "drafts": drafts,
                               "agg": agg, "criteria": setup["criteria"],
                               "request_timeout": min(120, left())}, deadline)
        exceptions = Counter()
        for s in servers:
            exceptions += s.exceptions()
        where[0] = "rendering the report PDF"
        pdf_path = stack.dir / "pdf.json"
        stack.python("-m", "bench.bench_evaluation", "--render", str(setup["tender"]),
                     str(pdf_rounds), str(pdf_path), timeout=left())
        pdf = json.loads(pdf_path.read_text())
        rss = [s.peak_rss() for s in servers]
    load_after = os.getloadavg()

    t = result["timings"]
    rows = []

    def row(name, values, note=""):
        rows.append({"measure": name, "n": len(values), "p50 ms": _ms(percentile(values, 50)),
                     "p95 ms": _ms(percentile(values, 95)), "max ms": _ms(max(values)),
                     "note": note})

    sheet_cells = bids * (setup["criteria"][1] + setup["criteria"][2])
    row("2FA verify POST (token, TOTP code)", t["verify"],
        f"{members} members, one after another, before scoring")
    row("room GET (stage, bids, criteria, own sheet)", t["room"])
    row("draft PUT (whole stage sheet)", t["draft"],
        f"{members} at once x {drafts} saves x {len(result['stages'])} stages")
    row("submit POST (checked, scores written)", t["submit"],
        f"{members} at once x {len(result['stages'])} stages")
    row("aggregation GET (chair)", t["aggregation"],
        f"{max(t.get('agg_rows', [0]))} cells, {sum(t.get('agg_outliers', [0]))} live outliers")
    for stage in result["stages"]:
        note = f"-> {result['locks'][stage + '_next']}"
        if result["locks"][stage + "_next"] == "report":
            note += " (price, ranking, report PDF drawn up)"
        row(f"lock POST {stage}", [result["locks"][stage]], note)
    row("report PDF render (full size)", pdf["times"],
        f"{pdf['scores']:,} scores, {pdf['pages']} pages, {pdf['bytes'] / 2**20:.1f} MiB")
    print(f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} before, "
          f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} after, on "
          f"{os.cpu_count()} cores (a loaded machine inflates every number); "
          f"{members} members x {bids} bids x {n_criteria} criteria "
          f"(at most {sheet_cells * members:,} scores in the scoring stages); "
          f"server peak RSS {', '.join(f'{r / 2**20:.0f}' for r in rss)} MiB; "
          f"server exceptions {sum(exceptions.values())}; "
          f"total {time.monotonic() - started:.0f} s")
    print_table(rows)
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("--setup", "--render"):
        # A hard stop for the child too: it must never hang the benchmark.
        signal.alarm(int(os.environ.get("BENCH_EVAL_TIMEOUT_S", "600")))
        if sys.argv[1] == "--setup":
            _setup(sys.argv[2], sys.argv[3])
        else:
            _render(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        try:
            main()
        except TimeoutError as exc:
            sys.exit(f"bench_evaluation: {exc}")
