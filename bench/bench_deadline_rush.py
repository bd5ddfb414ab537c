"""Benchmark: a deadline rush on the production stack.

``python bench/bench_deadline_rush.py`` or ``make bench ONLY=rush``;
``BENCH_RUSH_BIDDERS=1000`` for the 1,000-bidder run. A throw-away stack runs on
PostgreSQL (a fresh database ``ggzy_bench_<BENCH_RUSH_NAME>``, default
``ggzy_bench_rush``), Redis at ``BENCH_RUSH_REDIS_URL`` (default db 13, so it does not
flush the other benchmarks' db 14; channel layer and Celery broker),
``BENCH_RUSH_WORKERS`` uvicorn processes (default 2, each on its
own loopback port; the client sends each request to the next one in turn, as a load
balancer would, so one submission's requests land on different processes) and one
Celery worker, which closes bidding at the deadline from the task that publication
scheduled.

Setup (a child process with the stack's environment, through the services as
``tests/factories.py`` does): 3 custodians with keys, a tenderer, a tender whose
deadline is ``BENCH_RUSH_LEAD_S`` (default 120, more for more bidders) seconds away,
published "as of" 21
days before it; ``BENCH_RUSH_BIDDERS`` (default 300) bidder organisations, each with
a registered bid key (private keys stay in that process's memory), an API token,
the documents obtained, and its envelope (64-256 KiB of plaintext, sizes varied)
and price sheet sealed in advance.

The rush: ``BENCH_RUSH_FIRE_BEFORE_S`` (default 45, at most 60) seconds before the
deadline every bidder submits at once (``BENCH_RUSH_SPREAD_S`` > 0 spreads the
arrivals over that many seconds instead; keep them inside ``BENCH_RUSH_FIRE_BEFORE_S``,
or the late ones are refused, as they must be). ``BENCH_RUSH_PROTOCOL`` says how:
``single`` (default) sends the bid in one request, ``POST /api/tenders/{id}/bids/``
with the envelope and the price sheet as multipart parts, as ``ggzy-bid submit`` does
for an envelope of up to 8 MiB (every one here is); ``resumable`` starts the upload,
PUTs its chunk(s) and completes it. Eleven extra probes race the deadline:
completions sent 5 ms, 50 ms, 0.5 s and 2 s after it, a chunk sent 0.1 s after it,
an upload started 0.2 s after it, and one-request bids sent 5 ms and 0.5 s after it
(all must be refused), and two completions sent 5 ms before and exactly at it and a
one-request bid sent 5 ms before it (either outcome is fine, as long as nothing is
accepted at or after the deadline).

A client that gets a 5xx or a broken connection sends the same request again, as a
bidder's tool would, up to ``BENCH_RUSH_RETRIES`` times (default 3; 0 shows the raw
first answers); the retries are counted and printed, with the exceptions found in the
servers' logs. The late probes are never retried: their first answer counts.

Afterwards the database is the judge. Printed: accepted (bids submitted), lost (the
client holds a 201 and a receipt but there is no such submitted bid, or its digest,
the receipt's or the stored file's differs from the envelope sent: must be 0),
phantom (a bid the client was not told about), accepted late (``submitted_at`` at or
after the deadline: must be 0), refusals after the deadline, throughput, p50/p95/max
latency of a whole submission, errors by status, every receipt's signature checked
against the platform key, the tender's state, and ``manage.py verify_audit``.

The profile printed with it: every 50 ms during the rush a thread samples
``pg_stat_activity`` for the stack's database (each backend's state, wait event and
statement), so the table shows what the database waited on (a row lock, and on which
statement) and how long transactions stayed open waiting for the web processes; and
each submission's steps (the one request, or start, chunks, complete) are timed at the
client.

Last, one verdict row: bidders, in, lost, late, p50/p95/p99, submissions a second, the
target (issue 16: p95 <= 3 s with 300 bidders; with any other number every bidder in
before the deadline, 0 lost and 0 late), MET or MISSED, the machine's load average
before and after the rush (a shared machine: read every figure with it) and
``verify_audit``'s result.
``BENCH_RUSH_TIMEOUT_S`` (default 480 s for 300 bidders, more for more) is a hard limit
on the whole run: past it the run stops and the stack stops every process it started.

``BENCH_ASGI_APP`` (see ``bench/_stack.py``) serves another ASGI callable instead of
``tradecentre.asgi:application``, e.g. a wrapper that tries a fix before it is made.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import itertools
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench._stack as _stack  # noqa: E402
from bench._stack import (  # noqa: E402
    MIB,
    Stack,
    django_setup,
    percentile,
    print_table,
    publishable_tender,
)

#: The target (issue 16): with 300 bidders at once, p95 of a whole submission <= 3 s.
TARGET_P95_S = 3.0
TARGET_BIDDERS = 300

#: (name, seconds after the deadline the request is sent, what is sent late)
PROBES = [
    ("late complete +5ms", 0.005, "complete"),
    ("late complete +50ms", 0.05, "complete"),
    ("late complete +0.5s", 0.5, "complete"),
    ("late complete +2s", 2.0, "complete"),
    ("late chunk +0.1s", 0.1, "chunk"),
    ("late start +0.2s", 0.2, "start"),
    ("race complete -5ms", -0.005, "complete"),
    ("race complete 0ms", 0.0, "complete"),
    ("late submit +5ms", 0.005, "submit"),
    ("late submit +0.5s", 0.5, "submit"),
    ("race submit -5ms", -0.005, "submit"),
]
#: How the rush's bidders send: ``single`` (one multipart request, ``POST
#: /api/tenders/{id}/bids/``, what ``ggzy-bid submit`` does for an envelope of at most
#: one chunk, as every one here is) or ``resumable`` (start, chunk(s), complete).
PROTOCOLS = ("single", "resumable")


# --- child process: setup and report (Django, the stack's environment) -----------------


def _setup(cfg_path: str, out_path: str) -> None:
    cfg = json.loads(Path(cfg_path).read_text())
    django_setup()
    from datetime import timedelta

    from django.test.utils import override_settings
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from bidding.tenders import services
    from core import platform_keys
    from tests import factories

    started = time.perf_counter()
    platform_keys.signing_key()  # made here once, before several servers could race for it
    total = cfg["bidders"] + len(PROBES)
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        factories.ensure_custodians(3)
        tenderer = factories.tenderer()
        users = [factories.bidder_with_key() for _ in range(total)]
    tokens = [Token.objects.create(user=u).key for u in users]
    people_s = time.perf_counter() - started

    deadline = timezone.now() + timedelta(seconds=cfg["lead_s"])
    tender, obtain_at = publishable_tender(tenderer, deadline)
    for user in users:
        services.document_obtain(user=user, tender=tender, now=obtain_at)
    rng = random.Random(cfg["seed"])
    out_dir = Path(cfg["dir"])
    bidders = []
    for i, (user, token) in enumerate(zip(users, tokens, strict=True)):
        plaintext = os.urandom(rng.randint(64, 256) * 1024)
        blob = factories.seal_for(tender, user, plaintext)
        sheet = factories.price_sheet_for(tender, user, total_price=f"{9_000_000 + i * 917}.00")
        path = out_dir / f"bid-{i:04d}.ggzy"
        path.write_bytes(blob)
        bidders.append({"i": i, "token": token, "path": str(path), "size": len(blob),
                        "sha256": hashlib.sha256(blob).hexdigest(),
                        "price_sheet": base64.b64encode(sheet).decode()})
    Path(out_path).write_text(json.dumps({
        "tender": tender.pk, "reference": tender.reference,
        "deadline": deadline.isoformat(), "deadline_epoch": deadline.timestamp(),
        "people_s": people_s, "tender_s": time.perf_counter() - started - people_s,
        "bidders": bidders,
    }))


def _report(in_path: str, out_path: str) -> None:
    """Compare what clients were told with what the database and the store hold."""
    data = json.loads(Path(in_path).read_text())
    django_setup()
    from django.core.files.storage import default_storage

    from bidding.bids.models import Bid
    from bidding.tenders.models import Tender
    from core import platform_keys
    from crypto import receipts

    tender = Tender.objects.get(pk=data["tender"])
    bids = {str(b.public_id): b for b in Bid.objects.filter(tender=tender)}
    verify_key = platform_keys.verify_key()
    lost, bad_receipts, told = [], [], set()
    for sub in data["submissions"]:
        if sub["status"] != 201:
            continue
        bid_id = sub["bid"]["bid_id"]
        told.add(bid_id)
        bid = bids.get(bid_id)
        problem = None
        if bid is None:
            problem = "no bid row"
        elif bid.status != Bid.Status.SUBMITTED:
            problem = f"bid is {bid.status}"
        elif bid.sha256 != sub["sha256"] or bid.receipt.get("sha256") != sub["sha256"]:
            problem = "digest differs"
        elif sub["bid"]["receipt"].get("sha256") != sub["sha256"]:
            problem = "client's receipt digest differs"
        else:
            h = hashlib.sha256()
            with default_storage.open(bid.envelope.name, "rb") as fh:
                for block in iter(lambda: fh.read(1024 * 1024), b""):
                    h.update(block)
            if h.hexdigest() != sub["sha256"]:
                problem = "stored file differs"
        if problem:
            lost.append({"bidder": sub["i"], "problem": problem})
        try:
            receipts.receipt_verify(sub["bid"]["receipt"], verify_key)
        except Exception as exc:  # noqa: BLE001 - any failure is a bad receipt
            bad_receipts.append({"bidder": sub["i"], "error": repr(exc)})
    submitted = [b for b in bids.values() if b.status == Bid.Status.SUBMITTED]
    late = [b for b in bids.values() if b.submitted_at >= tender.deadline]
    Path(out_path).write_text(json.dumps({
        "accepted": len(submitted),
        "bid_rows": len(bids),
        "lost": lost,
        "phantom": sorted(set(bids) - told),
        "accepted_late": [str(b.public_id) for b in late],
        "last_submitted_before_deadline_ms": round(
            (tender.deadline - max(b.submitted_at for b in bids.values())).total_seconds()
            * 1000, 1) if bids else None,
        "bad_receipts": bad_receipts,
        "receipts_checked": len(told),
        "tender_status": tender.status,
    }))


# --- the client ------------------------------------------------------------------------


RETRYABLE = {0, 500, 502, 503, 504}


class _Client:
    def __init__(self, session, urls: list[str], retries: int):
        self.session = session
        self.next_url = itertools.cycle(urls).__next__
        self.retries = retries
        self.retried: Counter = Counter()  # first answers that were retried, by kind
        self.rng = random.Random(11)

    async def call(self, method: str, path: str, token: str, *, kind: str = "",
                   retry: bool = False, **kw) -> tuple[int, dict, float]:
        """(status, JSON body, wall time the response arrived); status 0 on a network
        error. With ``retry``, a 5xx or network error is retried (a real client does),
        up to ``retries`` times, each time on the next server."""
        headers = {"Authorization": f"Token {token}", **kw.pop("headers", {})}
        attempt = 0
        while True:
            status, body, at = await self._once(method, path, headers, kw)
            if not retry or status not in RETRYABLE or attempt >= self.retries:
                return status, body, at
            attempt += 1
            code = (body.get("error") or {}).get("code") or ""
            self.retried[f"{kind} {status} {code}".strip()] += 1
            await asyncio.sleep(self.rng.uniform(0.02, 0.2))

    async def _once(self, method, path, headers, kw) -> tuple[int, dict, float]:
        if callable(kw.get("data")):  # a multipart body is built afresh for each attempt
            kw = {**kw, "data": kw["data"]()}
        try:
            async with self.session.request(method, self.next_url() + path, headers=headers,
                                            **kw) as resp:
                raw = await resp.read()
                status = resp.status
        except Exception as exc:  # noqa: BLE001 - reported as status 0
            return 0, {"error": {"code": type(exc).__name__, "message": str(exc)}}, time.time()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"error": {"code": "not_json", "message": raw[:200].decode(errors="replace")}}
        return status, body, time.time()


async def _sleep_until(epoch: float) -> None:
    delay = epoch - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _start(client: _Client, tender: int, b: dict, retry: bool = True):
    return await client.call(
        "POST", f"/api/tenders/{tender}/bids/uploads/", b["token"], kind="start", retry=retry,
        json={"size": b["size"], "price_sheet": b["price_sheet"],
              "claims": {"tool": "bench_deadline_rush", "machine_fingerprint": f"bench-{b['i']}"}})


async def _chunks(client: _Client, b: dict, state: dict, retry: bool = True):
    size = state["chunk_size"]
    status, body, at = 200, state, time.time()
    for index in range(state["chunk_count"]):
        piece = b["blob"][index * size:(index + 1) * size]
        status, body, at = await client.call(
            "PUT", f"/api/bids/uploads/{state['upload_id']}/chunks/{index}/", b["token"],
            kind="chunk", retry=retry, data=piece,
            headers={"Content-Type": "application/octet-stream",
                     "X-Chunk-SHA256": hashlib.sha256(piece).hexdigest()})
        if status == 409 and retry and (body.get("error") or {}).get("code") == "chunk_duplicate":
            status = 200  # an attempt whose answer was lost had stored it; go on
        if status != 200:
            break
    return status, body, at


async def _complete(client: _Client, b: dict, upload_id: str, tender: int, retry: bool = True):
    status, body, at = await client.call(
        "POST", f"/api/bids/uploads/{upload_id}/complete/", b["token"], kind="complete",
        retry=retry)
    if status == 409 and retry and (body.get("error") or {}).get("code") == "upload_closed":
        # An attempt whose answer was lost had completed it: fetch the bid and receipt.
        st, mine, at = await client.call("GET", f"/api/tenders/{tender}/bids/mine/",
                                         b["token"], kind="mine", retry=True)
        if st == 200 and mine.get("current") and mine["current"]["sha256"] == b["sha256"]:
            return 201, mine["current"], at
    return status, body, at


def _form(b: dict):
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("envelope", b["blob"], filename="bid.ggzy",
                   content_type="application/octet-stream")
    form.add_field("price_sheet", base64.b64decode(b["price_sheet"]), filename="price.ggzy",
                   content_type="application/octet-stream")
    form.add_field("claims", json.dumps({"tool": "bench_deadline_rush",
                                         "machine_fingerprint": f"bench-{b['i']}"}))
    form.add_field("sha256", b["sha256"])
    return form


async def _single(client: _Client, tender: int, b: dict, retry: bool = True):
    """The bid in one request. A retried attempt whose first answer was lost may have
    been submitted: the retry then supersedes it, and the receipt held is the latest."""
    return await client.call("POST", f"/api/tenders/{tender}/bids/", b["token"],
                             kind="submit", retry=retry, data=lambda: _form(b))


async def _submit(client: _Client, tender: int, b: dict, at: float,
                  protocol: str = "single") -> dict:
    """One whole submission, started at wall time ``at``."""
    await _sleep_until(at)
    t0 = time.time()
    out = {"i": b["i"], "sha256": b["sha256"], "t0": t0}
    if protocol == "single":
        status, body, t = await _single(client, tender, b)
        step, steps = "submit", {"submit": t - t0}
    else:
        status, body, t = await _start(client, tender, b)
        step, steps = "start", {"start": t - t0}
    if protocol != "single" and status == 201:
        mark = t
        status, body, t = await _chunks(client, b, body)
        step, steps["chunk"] = "chunk", t - mark
        if status == 200:
            mark = t
            status, body, t = await _complete(client, b, body["upload_id"], tender)
            step, steps["complete"] = "complete", t - mark
    out.update(status=status, step=step, t1=t, latency=t - t0, steps=steps,
               code=(body.get("error") or {}).get("code") if status >= 300 or not status else None,
               bid=body if status == 201 else None)
    return out


async def _probe(client: _Client, tender: int, b: dict, deadline: float, name: str,
                 offset: float, late_step: str) -> dict:
    """Prepare before the deadline, then send ``late_step`` at deadline + offset."""
    out = {"probe": name, "offset": offset, "late_step": late_step, "i": b["i"],
           "sha256": b["sha256"]}
    state = None
    if late_step not in ("start", "submit"):
        status, state, _ = await _start(client, tender, b, retry=True)
        if status != 201:
            return {**out, "status": status, "sent": None, "note": f"start failed: {state}"}
        if late_step == "complete":
            status, body, _ = await _chunks(client, b, state, retry=True)
            if status != 200:
                return {**out, "status": status, "sent": None, "note": f"chunk failed: {body}"}
    await _sleep_until(deadline + offset)
    sent = time.time()
    # The late request itself is sent once: its first answer is what counts.
    if late_step == "submit":
        status, body, t = await _single(client, tender, b, retry=False)
    elif late_step == "start":
        status, body, t = await _start(client, tender, b, retry=False)
    elif late_step == "chunk":
        status, body, t = await _chunks(client, b, state, retry=False)
    else:
        status, body, t = await _complete(client, b, state["upload_id"], tender, retry=False)
    return {**out, "status": status, "sent": sent, "answered": t,
            "code": (body.get("error") or {}).get("code"),
            "bid": body if status == 201 else None}


async def _rush(urls: list[str], setup: dict, fire_at: float, spread: float,
                retries: int, protocol: str) -> tuple[list, list, Counter]:
    import aiohttp

    tender, deadline = setup["tender"], setup["deadline_epoch"]
    n = len(setup["bidders"]) - len(PROBES)
    rush, probes = setup["bidders"][:n], setup["bidders"][n:]
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=150)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        client = _Client(session, urls, retries)
        rng = random.Random(7)
        starts = [fire_at + (rng.uniform(0, spread) if spread else 0) for _ in rush]
        probe_tasks = [asyncio.create_task(_probe(client, tender, b, deadline, *p))
                       for b, p in zip(probes, PROBES, strict=True)]
        rush_tasks = [asyncio.create_task(_submit(client, tender, b, at, protocol))
                      for b, at in zip(rush, starts, strict=True)]
        results = await asyncio.gather(*rush_tasks)
        probe_results = await asyncio.gather(*probe_tasks)
    return results, probe_results, client.retried


# --- the profile: what the database's backends wait on during the rush --------------------


class _WaitSampler:
    """Samples ``pg_stat_activity`` for the stack's database every ``interval`` seconds
    in a thread: per backend, its state, wait event and statement. The summary says
    where the time goes while the rush runs: waiting for a lock (which statement),
    running, or idle in a transaction waiting for the web process (``ClientRead``)."""

    def __init__(self, db_name: str, interval: float = 0.05):
        import threading

        self.db_name, self.interval = db_name, interval
        self.samples = 0
        self.seen: Counter = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="wait-sampler")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        import re

        import psycopg

        try:
            conn = psycopg.connect(_stack.PG_ADMIN, autocommit=True, connect_timeout=10)
        except Exception as exc:  # noqa: BLE001 - the profile is optional
            print(f"(wait sampler off: {exc})", flush=True)
            return
        with conn:
            while not self._stop.wait(self.interval):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", [self.db_name]).fetchall()
                self.samples += 1
                for state, wtype, wevent, query in rows:
                    if state == "idle":
                        continue
                    what = re.sub(r"\s+", " ", query or "").strip()
                    what = re.sub(r'SELECT "[^"]+"\."[^"]+", .*? FROM', "SELECT … FROM", what)
                    key = (state, f"{wtype}:{wevent}" if wtype else "running", what[:70])
                    self.seen[key] += 1

    def report(self, top: int = 8) -> list[dict]:
        """The commonest (state, wait, statement), as mean backends per sample."""
        n = max(1, self.samples)
        return [{"backends_avg": round(c / n, 2), "state": st, "wait": w, "statement": q}
                for (st, w, q), c in self.seen.most_common(top)]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- main --------------------------------------------------------------------------------


def main() -> list[dict]:
    n = int(os.environ.get("BENCH_RUSH_BIDDERS", "300"))
    workers = int(os.environ.get("BENCH_RUSH_WORKERS", "2"))
    # Setup seals every bidder's envelope after the deadline is fixed: more time for more.
    lead = float(os.environ.get("BENCH_RUSH_LEAD_S", str(120 + max(0, n - 300) * 0.2)))
    fire_before = min(60.0, float(os.environ.get("BENCH_RUSH_FIRE_BEFORE_S", "45")))
    spread = float(os.environ.get("BENCH_RUSH_SPREAD_S", "0"))
    celery = os.environ.get("BENCH_RUSH_CELERY", "1") == "1"
    retries = int(os.environ.get("BENCH_RUSH_RETRIES", "3"))
    protocol = os.environ.get("BENCH_RUSH_PROTOCOL", "single")
    if protocol not in PROTOCOLS:
        raise SystemExit(f"BENCH_RUSH_PROTOCOL must be one of {', '.join(PROTOCOLS)}")
    # Its own database and Redis db, so it runs beside other benchmarks and helpers.
    name = os.environ.get("BENCH_RUSH_NAME", "rush")
    _stack.REDIS_URL = os.environ.get("BENCH_RUSH_REDIS_URL", "redis://127.0.0.1:6379/13")
    # A hard limit on the whole run (setup included); the stack stops what it started.
    limit = float(os.environ.get("BENCH_RUSH_TIMEOUT_S", str(480 + max(0, n - 300) * 0.6)))

    def _timeout(signum, frame):
        raise TimeoutError(f"bench_deadline_rush: over its {limit:.0f} s limit")

    import signal

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(int(limit))
    try:
        return _main(n, workers, lead, fire_before, spread, celery, retries, name, protocol)
    finally:
        signal.alarm(0)


def _main(n, workers, lead, fire_before, spread, celery, retries, name,
          protocol) -> list[dict]:
    rows: list[dict] = []
    with Stack(name, postgres=True, redis=True) as stack:
        t_setup = time.perf_counter()
        stack.manage("migrate", "--noinput", timeout=600)
        env_dir = stack.dir / "envelopes"
        env_dir.mkdir()
        cfg = stack.dir / "cfg.json"
        cfg.write_text(json.dumps({"bidders": n, "lead_s": lead, "seed": 42, "dir": str(env_dir)}))
        setup_path = stack.dir / "setup.json"
        stack.python("-m", "bench.bench_deadline_rush", "--setup", str(cfg), str(setup_path),
                     timeout=1800)
        setup = json.loads(setup_path.read_text())
        for b in setup["bidders"]:
            b["blob"] = Path(b["path"]).read_bytes()
        servers = [stack.start_uvicorn(f"web{k}") for k in range(workers)]
        if celery:
            stack.start_celery()
        setup_s = time.perf_counter() - t_setup
        deadline = setup["deadline_epoch"]
        fire_at = deadline - fire_before
        if time.time() > fire_at - 1:
            # Setup ran long: fire now, still inside the last 60 s if at all possible.
            fire_at = time.time() + 1
        left = deadline - fire_at
        print(f"setup {setup_s:.1f} s (people {setup['people_s']:.1f} s, tender + "
              f"{n + len(PROBES)} documents/seals {setup['tender_s']:.1f} s); rush fires "
              f"{left:.1f} s before the deadline ({setup['deadline']}), "
              f"{'all at once' if not spread else f'spread over {spread:.0f} s'}, "
              f"protocol {protocol}; "
              f"{workers} uvicorn processes, Celery worker {'on' if celery else 'off'}",
              flush=True)
        rss_before = [s.rss() for s in servers]
        gc.collect()
        gc.disable()  # the load generator's own pauses would show up as server latency
        load_before = _load()
        try:
            with _WaitSampler(stack.db_name) as sampler:
                results, probes, retried = asyncio.run(
                    _rush([s.url for s in servers], setup, fire_at, spread, retries, protocol))
        finally:
            gc.enable()
        load_after = _load()
        # Let the Celery worker close bidding (its task is due at the deadline).
        wait_until = max(deadline + 3, time.time())
        while time.time() < wait_until:
            time.sleep(0.2)
        peaks = [s.peak_rss() for s in servers]
        server_errors = sum((s.exceptions() for s in servers), Counter())
        report_in = stack.dir / "report-in.json"
        report_out = stack.dir / "report-out.json"
        report_in.write_text(json.dumps({
            "tender": setup["tender"],
            "submissions": [{k: v for k, v in r.items() if k in ("i", "status", "bid", "sha256")}
                            for r in results + probes if r.get("status") is not None],
        }))
        stack.python("-m", "bench.bench_deadline_rush", "--report", str(report_in),
                     str(report_out), timeout=600)
        report = json.loads(report_out.read_text())
        audit = stack.manage("verify_audit", timeout=600).strip()

    ok = [r for r in results if r["status"] == 201]
    lat = [r["latency"] for r in ok]
    p95 = percentile(lat, 95) if lat else float("inf")
    span = (max(r["t1"] for r in ok) - min(r["t0"] for r in results)) if ok else float("nan")
    last_ok_before = (deadline - max(r["t1"] for r in ok)) if ok else float("nan")
    errors = Counter(f"{r['step']} {r['status']} {r.get('code') or ''}".strip()
                     for r in results if r["status"] != 201)
    late_probes = [p for p in probes if p["offset"] > 0]
    refused_late = [p for p in late_probes if 400 <= p["status"] < 500]
    race = [p for p in probes if p["offset"] <= 0]
    row = {
        "bidders": n,
        "protocol": protocol,
        "workers": workers,
        "accepted": report["accepted"],
        "rush_201": len(ok),
        "not_accepted": n - len(ok),
        "retried_5xx": sum(retried.values()),
        "lost": len(report["lost"]),
        "phantom": len(report["phantom"]),
        "accepted_late": len(report["accepted_late"]),
        "refused_after_deadline": f"{len(refused_late)}/{len(late_probes)}",
        "throughput_sub/s": round(len(ok) / span, 1) if ok else 0,
        "p50_s": round(percentile(lat, 50), 3) if lat else None,
        "p95_s": round(percentile(lat, 95), 3) if lat else None,
        "p99_s": round(percentile(lat, 99), 3) if lat else None,
        "max_s": round(max(lat), 3) if lat else None,
        "receipts_ok": f"{report['receipts_checked'] - len(report['bad_receipts'])}"
                       f"/{report['receipts_checked']}",
        "verify_audit": audit.split(",")[0],
    }
    rows.append(row)
    print_table(rows)
    # Where the time of a submission went, step by step (client-side, p50 / p95).
    steps = {}
    for step in ("submit", "start", "chunk", "complete"):
        values = [r["steps"][step] for r in ok if step in r.get("steps", {})]
        if values:
            steps[step] = (f"{percentile(values, 50):.3f} / {percentile(values, 95):.3f} s")
    print("per step, p50 / p95: " + ", ".join(f"{k} {v}" for k, v in steps.items()))
    print(f"what the database's backends did during the rush ({sampler.samples} samples of "
          "pg_stat_activity, mean backends per sample; 'idle in transaction' + "
          "Client:ClientRead = holding a transaction open while the web process runs):")
    print_table(sampler.report())
    print(f"rush: {len(results)} submissions in {span:.2f} s; last accepted submission "
          f"finished {last_ok_before:.1f} s before the deadline; latest submitted_at "
          f"{report['last_submitted_before_deadline_ms']} ms before it; "
          f"tender now '{report['tender_status']}'")
    print("server processes: resident before "
          + ", ".join(f"{r / MIB:.0f}" for r in rss_before) + " MiB; peak (VmHWM) "
          + ", ".join(f"{p / MIB:.0f}" for p in peaks) + " MiB")
    if retried:
        print("answers retried by the client (5xx or network error; the request was sent "
              "again): " + ", ".join(f"{k} x{v}" for k, v in retried.most_common()))
    if server_errors:
        print("exceptions in the servers' logs: " + "; ".join(
            f"{k} x{v}" for k, v in server_errors.most_common(6)))
    if errors:
        print("rush submissions not accepted in the end: "
              + ", ".join(f"{k} x{v}" for k, v in errors.most_common()))
    print_table([{"probe": p["probe"], "sent_vs_deadline_ms":
                  round((p["sent"] - deadline) * 1000, 1) if p.get("sent") else "",
                  "status": p["status"], "code": p.get("code") or p.get("note", "")}
                 for p in probes])
    for p in race:
        if p["status"] == 201 and p["sent"] >= deadline:
            print(f"NOTE: {p['probe']} was sent after the deadline and accepted "
                  "(see accepted_late: the server's own clock decides)")
    if report["lost"] or report["accepted_late"] or report["bad_receipts"] or report["phantom"]:
        keys = ("lost", "accepted_late", "bad_receipts", "phantom")
        print("PROBLEMS:", json.dumps({k: report[k] for k in keys})[:2000])
    fails = []
    if len(ok) < n:
        fails.append(f"only {len(ok)} of {n} bidders got their bid in before the deadline")
    if report["lost"]:
        fails.append("lost > 0")
    if report["accepted_late"]:
        fails.append("accepted late > 0")
    if len(refused_late) != len(late_probes):
        fails.append("a request after the deadline was not refused")
    if report["bad_receipts"]:
        fails.append("a receipt failed verification")
    if not audit.startswith("OK"):
        fails.append("verify_audit did not print OK")
    print("checks: " + ("all passed" if not fails else "FAILED: " + "; ".join(fails)))
    if n == TARGET_BIDDERS:
        target = f"p95 <= {TARGET_P95_S:g} s, 0 lost, 0 late"
        met = not fails and p95 <= TARGET_P95_S
    else:
        target = "all in, 0 lost, 0 late (p95 printed)"
        met = not fails
    verdict = {
        "bidders": n, "protocol": protocol, "in": report["accepted"], "lost": len(report["lost"]),
        "late": len(report["accepted_late"]), "p50_s": row["p50_s"], "p95_s": row["p95_s"],
        "p99_s": row["p99_s"], "sub/s": row["throughput_sub/s"], "target": target,
        "result": "MET" if met else "MISSED",
        "load (1/5/15 min) before / after": f"{load_before} / {load_after}",
        "verify_audit": row["verify_audit"],
    }
    rows.append(verdict)
    print(f"verify_audit (after the run): {audit}")
    print()
    print_table([verdict])
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        _setup(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--report":
        _report(sys.argv[2], sys.argv[3])
    else:
        main()
