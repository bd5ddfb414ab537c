"""Benchmark: opening-hall fan-out over websockets on the production stack.

``python bench/bench_hall_fanout.py`` or ``make bench ONLY=hall``. A throw-away stack
(``bench/_stack.py``): PostgreSQL (a fresh database ``ggzy_bench_hall``), Redis db 14
with the pub/sub channel layer, and two uvicorn processes on their own loopback ports.
Clients are spread over both processes (client i goes to process i mod 2), so every
broadcast crosses processes through Redis.

Setup (a child process with the stack's environment, through the services as
``tests/factories.py`` does): one public tender whose opening has started, with
``BENCH_HALL_REST_BIDS`` (default 20) sealed bids, each bidder with an API token and
its data keys already unwrapped with its own key; and ``BENCH_HALLS`` (default 200)
more public tenders in their openings: three real ones with three bids each, the rest
copies of those tender rows (a broadcast reads no rows; a watcher's connect reads the
tender).

The load generator is a separate process (``--load``, uvloop, its own
collector disabled while measuring, as TECH-NOTES says), holding every client. It
measures, for each broadcast, the time from just before the message is published to
the moment the LAST client has received it (one monotonic clock: all clients are in
that process):

1. **bare**: a tiny ``websockets`` server in its own process (``--bare``), the same
   number of clients, ``websockets.broadcast`` of the same JSON text (an ``hall.announce``
   event of the real shape, about 0.6 KB) sent to it over a control connection.
2. **hall, group_send**: ``BENCH_HALL_CLIENTS`` (default 1,000) anonymous watchers of
   the public hall; the load process publishes the same event into the group
   ``opening.<tender id>`` with channels-redis (``core.realtime.hall_message``,
   what ``broadcast_on_commit`` sends): the pure fan-out path
   (Redis -> each process -> each consumer's ``hall_event`` -> its socket).
3. **hall, REST decrypt**: the same clients; each bidder hands over its data keys with
   ``POST /api/tenders/{id}/opening/decrypt/``, so the price announcement is the
   real one (request, every GCM tag checked, commit, broadcast). Timed from just before
   the POST to the last client seeing that bidder's ``hall.announce``.
4. **50 halls x 30**: ``BENCH_HALLS`` halls of ``BENCH_HALL_SIZE`` (30) clients; each
   round publishes one event into every hall at once; every client counts what it got
   (lost must be 0), p50/p99 over (hall, round).

``BENCH_HALL_BROADCASTS`` (60) broadcasts are timed per case after 5 warm-up ones;
``BENCH_HALL_ROUNDS`` (20) rounds for the 50 halls. Targets (issue 5): hall p99 at most
3x bare and at most 1 s. ``BENCH_HALL_DEFLATE=0`` makes the clients not offer
permessage-deflate (browsers offer it, so it is on by default). Loopback only; every
wait is bounded; the stack's processes, database and Redis db are removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import (  # noqa: E402
    PY,
    Stack,
    django_setup,
    free_port,
    percentile,
    print_table,
)

WARMUP = 5


# --- child: setup (Django, the stack's environment) ---------------------------------------


def _setup(cfg_path: str, out_path: str) -> None:
    cfg = json.loads(Path(cfg_path).read_text())
    django_setup()
    import secrets
    import uuid
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import override_settings
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from bidding.tenders.models import Tender
    from core import platform_keys, tasks
    from tests import factories
    from tests.bidding.opening.test_services import data_keys

    started = time.perf_counter()
    platform_keys.signing_key()
    platform_keys.document_certificate()
    # Redis pub/sub channels ignore the database number: start tender ids at a random
    # point so another stack on the same Redis cannot share a hall's group.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('bidding_tender', 'id')")
        (sequence,) = cursor.fetchone()
        cursor.execute(f"ALTER SEQUENCE {sequence} RESTART WITH %s",
                       [secrets.randbelow(10**9) + 10**6])

    def opened_tender(n_bids: int):
        with override_settings(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            users = [factories.bidder_with_key() for _ in range(n_bids)]
        tender = factories.published_tender(announce_mode="as_decrypted", public_opening=True)
        bids = [factories.submit_bid(tender, u) for u in users]
        return tender, users, bids

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        factories.ensure_custodians(3)
    main_tender, users, bids = opened_tender(max(3, cfg["rest_bids"]))
    rest = [{"token": Token.objects.create(user=u).key, "credit_code": u.organisation.credit_code,
             **dict(zip(("bid_key", "price_sheet_key"), data_keys(b, u), strict=True))}
            for u, b in zip(users, bids, strict=True)]
    real = min(cfg["halls"], cfg.get("real_halls", 3))
    halls = [opened_tender(3)[0].pk for _ in range(real)]
    Tender.objects.filter(pk__in=[main_tender.pk, *halls]).update(
        deadline=timezone.now() - timedelta(seconds=1))
    tasks.clock_tick()
    opened = Tender.objects.filter(pk__in=[main_tender.pk, *halls],
                                   status=Tender.Status.OPENING).count()
    assert opened == 1 + len(halls), f"only {opened} openings started"
    # The other halls are copies of those tender rows (public, in their openings, no
    # bids of their own): a watcher's connect reads the tender, and a broadcast reads
    # nothing, so the fan-out is the same, and 200 halls set up in a second, not minutes.
    originals = list(Tender.objects.filter(pk__in=halls))
    copies = []
    for k in range(cfg["halls"] - real):
        copy = Tender.objects.get(pk=originals[k % len(originals)].pk)
        copy.pk = copy.id = None
        copy.public_id = uuid.uuid4()
        copy.reference = f"{copy.reference[:30]}-H{k}"
        copies.append(copy)
    halls += [t.pk for t in Tender.objects.bulk_create(copies)]
    Path(out_path).write_text(json.dumps({
        "tender": main_tender.pk, "rest": rest, "halls": halls,
        "setup_s": round(time.perf_counter() - started, 1)}))


# --- child: the bare websockets server ----------------------------------------------------


def _bare(port: int) -> None:
    """Clients connect to ``/``; whatever arrives on ``/trigger`` is broadcast to them."""
    from websockets.asyncio.server import broadcast, serve

    clients: set = set()

    async def handler(ws):
        if ws.request.path == "/trigger":
            async for message in ws:
                broadcast(clients, message)
            return
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async def run():
        async with serve(handler, "127.0.0.1", port, ping_interval=None, max_queue=None):
            await asyncio.Event().wait()

    _run_loop(run())


def _run_loop(coro):
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# --- child: the load generator ----------------------------------------------------------

def hall_message(event: dict) -> dict:  # replaced by core.realtime.hall_message (Django)
    return {"type": "hall.event", "event": event, "text": json.dumps(event)}


def announce_event(seq: int) -> dict:
    """A ``hall.announce`` event of the real shape and size, numbered."""
    return {
        "type": "hall.announce", "seq": seq,
        "bid": {"order": 1 + seq % 50, "bidder": "福建省测试建设工程有限公司",
                "credit_code": "91350100MA0000001X",
                "price_sheet": {"total_price": "9500000.00", "duration_days": 365,
                                "quality": "合格", "project_manager": "张三",
                                "project_manager_id": "闽135000000001"},
                "decrypted_by": "bidder",
                "sha256": "5d41402abc4b2a76b9719d911017c592" * 2,
                "announced_at": "2025-06-01T09:30:00.123456+08:00"},
        "counters": {"bids": 50, "decrypted": 1 + seq % 50, "pending": 49 - seq % 50,
                     "not_decrypted": 0, "announced": 1 + seq % 50},
    }


_SEQ = re.compile(r'"seq": (\d+|"probe")')
PROBE_TEXT = '"probe"'


class Fleet:
    """Many websocket clients; each message with a ``seq`` (or a REST announcement's
    credit code) has its arrival time noted per client."""

    def __init__(self, urls: list[str], deflate: bool):
        self.urls, self.deflate = urls, deflate
        self.conns: list = []
        self.tasks: list = []
        self.arrivals: dict[object, list[float]] = {}
        self.counts: list[int] = []
        self.expected = 0
        self.done = asyncio.Event()
        self.errors = 0
        self.dropped: list[str] = []
        self.closing = False

    async def connect(self, parallel: int = 40) -> None:
        from websockets.asyncio.client import connect

        gate = asyncio.Semaphore(parallel)
        self.conns = [None] * len(self.urls)
        self.counts = [0] * len(self.urls)

        async def one(i: int, url: str):
            origin = "http://" + url.split("/")[2]
            async with gate:
                for attempt in range(4):
                    try:
                        self.conns[i] = await connect(
                            url, origin=origin, open_timeout=30, close_timeout=5,
                            ping_interval=None, max_queue=None,
                            compression="deflate" if self.deflate else None)
                        return
                    except Exception:  # noqa: BLE001 - retried, then counted
                        await asyncio.sleep(0.2 * (attempt + 1))
                self.errors += 1

        await asyncio.wait_for(asyncio.gather(*(one(i, u) for i, u in enumerate(self.urls))),
                               300)
        if self.errors:
            raise RuntimeError(f"{self.errors} of {len(self.urls)} clients failed to connect")
        self.tasks = [asyncio.create_task(self._read(i, ws)) for i, ws in enumerate(self.conns)]

    async def _read(self, i: int, ws) -> None:
        loop_time = time.monotonic
        seq_in = _SEQ.search
        try:
            async for raw in ws:
                now = loop_time()
                # Only the number is needed: a regular expression, not a JSON parse, so
                # that 10,000 clients in one process measure the servers, not the parser.
                found = seq_in(raw)
                if found is not None:
                    key = found.group(1)
                    key = PROBE if key == PROBE_TEXT else int(key)
                elif '"hall.announce"' in raw:
                    key = json.loads(raw)["bid"]["credit_code"]
                else:
                    continue
                if key != PROBE:
                    self.counts[i] += 1
                times = self.arrivals.setdefault(key, [])
                times.append(now)
                if len(times) >= self.expected:
                    self.done.set()
        except Exception as exc:  # noqa: BLE001 - noted below
            self.dropped.append(repr(exc)[:200])
        else:
            if not self.closing:
                self.dropped.append(f"closed by the server: {ws.close_code} {ws.close_reason}")

    async def wait_for(self, key, n: int, timeout: float = 10.0) -> tuple[float | None, int]:
        """Wait until ``n`` clients have ``key``; (time of the last arrival, how many)."""
        self.expected = n
        self.done.clear()
        if len(self.arrivals.get(key, ())) < n:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout)
        times = self.arrivals.get(key, [])
        return (max(times) if times else None), len(times)

    async def close(self) -> None:
        self.closing = True

        async def one(ws):
            with contextlib.suppress(Exception):
                await ws.close()

        await asyncio.wait_for(asyncio.gather(*(one(ws) for ws in self.conns if ws)), 60)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _pause(rng) -> None:
    await asyncio.sleep(0.05 + rng.random() * 0.05)


async def _load_bare(cfg: dict) -> dict:
    import random

    from websockets.asyncio.client import connect

    rng = random.Random(1)
    fleet = Fleet([cfg["url"]] * cfg["clients"], cfg["deflate"])
    await fleet.connect()
    trigger = await connect(cfg["url"] + "trigger", open_timeout=30, ping_interval=None)
    await asyncio.sleep(0.5)
    await _probe([fleet], lambda m: trigger.send(m["text"]))
    misses = _Misses()
    latencies, missing = [], 0
    gc.collect()
    gc.disable()
    try:
        for seq in range(WARMUP + cfg["broadcasts"]):
            text = json.dumps(announce_event(seq))
            t0 = time.monotonic()
            await trigger.send(text)
            last, got = await fleet.wait_for(seq, cfg["clients"])
            misses.note(got, "bare websockets")
            if seq >= WARMUP:
                missing += cfg["clients"] - got
                if last is not None:
                    latencies.append(last - t0)
            await _pause(rng)
    finally:
        gc.enable()
    await trigger.close()
    dropped = list(fleet.dropped)
    await fleet.close()
    return {"latencies": latencies, "missing": missing, "size": len(text), "dropped": dropped}


class BenchFailure(Exception):
    """The benchmark cannot measure: said in one line, no traceback."""


PROBE = "probe"
PROBE_TIMEOUT = float(os.environ.get("BENCH_HALL_PROBE_TIMEOUT", "10"))


def _layer():
    """The channel layer exactly as the servers build it: the same settings
    (``CHANNEL_LAYERS``, hence the same ``CHANNEL_LAYER_PREFIX`` and Redis), read by
    Django in this process from the same environment."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None or "Redis" not in type(layer).__name__:
        raise BenchFailure(f"the load process got channel layer {type(layer).__name__}, "
                           "not the servers' Redis layer (is REDIS_URL set?)")
    return layer


async def _probe(fleets: list, send) -> None:
    """One broadcast before measuring that every client must receive within
    ``PROBE_TIMEOUT`` seconds; otherwise fail at once instead of timing out per
    broadcast (a publisher on another prefix or Redis delivers nothing)."""
    await send(hall_message({"type": "hall.probe", "seq": PROBE}))
    results = await asyncio.gather(*(f.wait_for(PROBE, len(f.urls), PROBE_TIMEOUT)
                                     for f in fleets))
    got = sum(n for _last, n in results)
    want = sum(len(f.urls) for f in fleets)
    if got < want:
        prefix = os.environ.get("CHANNEL_LAYER_PREFIX", "(default)")
        raise BenchFailure(f"probe broadcast reached {got} of {want} clients within "
                           f"{PROBE_TIMEOUT:.0f} s (channel layer prefix {prefix}); "
                           "not measuring")


class _Misses:
    """Stop after three broadcasts in a row that reached nobody."""

    def __init__(self):
        self.row = 0

    def note(self, got: int, what: str) -> None:
        self.row = self.row + 1 if got == 0 else 0
        if self.row >= 3:
            raise BenchFailure(f"{what}: three broadcasts in a row reached no client")


async def _load_hall(cfg: dict) -> dict:
    import random
    import urllib.request

    rng = random.Random(2)
    n = cfg["clients"]
    urls = [f"{cfg['ws'][i % len(cfg['ws'])]}/ws/openings/{cfg['tender']}/" for i in range(n)]
    fleet = Fleet(urls, cfg["deflate"])
    t_connect = time.monotonic()
    await fleet.connect()
    connect_s = time.monotonic() - t_connect
    layer = _layer()
    group = f"opening.{cfg['tender']}"
    await asyncio.sleep(1.0)
    await _probe([fleet], lambda m: layer.group_send(group, m))
    misses = _Misses()
    latencies, missing = [], 0
    gc.collect()
    gc.disable()
    try:
        for seq in range(WARMUP + cfg["broadcasts"]):
            event = announce_event(seq)
            t0 = time.monotonic()
            await layer.group_send(group, hall_message(event))
            last, got = await fleet.wait_for(seq, n)
            misses.note(got, "1 hall, group_send")
            if seq >= WARMUP:
                missing += n - got
                if last is not None:
                    latencies.append(last - t0)
            await _pause(rng)
        size = len(json.dumps(event))

        # Real announcements: each bidder hands over its data keys over REST.
        def post(bidder: dict, base: str) -> int:
            body = json.dumps({"bid_key": bidder["bid_key"],
                               "price_sheet_key": bidder["price_sheet_key"]}).encode()
            request = urllib.request.Request(
                f"{base}/api/tenders/{cfg['tender']}/opening/decrypt/", data=body,
                method="POST", headers={"Authorization": f"Token {bidder['token']}",
                                        "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as resp:
                resp.read()
                return resp.status

        rest_latencies, rest_missing, rest_failed = [], 0, 0
        for k, bidder in enumerate(cfg["rest"]):
            t0 = time.monotonic()
            try:
                status = await asyncio.to_thread(post, bidder, cfg["http"][k % len(cfg["http"])])
            except Exception:  # noqa: BLE001 - counted
                status = 0
            if status != 200:
                rest_failed += 1
                if rest_failed >= 3 and not rest_latencies:
                    raise BenchFailure("the first three decrypt POSTs failed")
                continue
            last, got = await fleet.wait_for(bidder["credit_code"], n)
            misses.note(got, "1 hall, REST decrypt")
            rest_missing += n - got
            if last is not None:
                rest_latencies.append(last - t0)
            await _pause(rng)
    finally:
        gc.enable()
    dropped = list(fleet.dropped)
    await fleet.close()
    await layer.flush()
    return {"latencies": latencies, "missing": missing, "size": size, "connect_s": connect_s,
            "dropped": dropped,
            "rest_latencies": rest_latencies, "rest_missing": rest_missing,
            "rest_failed": rest_failed}


async def _load_halls(cfg: dict) -> dict:
    import random

    rng = random.Random(3)
    per = cfg["hall_size"]
    fleets = []
    urls_all = []
    for h, tender in enumerate(cfg["halls"]):
        urls = [f"{cfg['ws'][(h * per + i) % len(cfg['ws'])]}/ws/openings/{tender}/"
                for i in range(per)]
        urls_all += urls
        fleets.append(Fleet(urls, cfg["deflate"]))
    t_connect = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(f.connect(parallel=4) for f in fleets)), 600)
    connect_s = time.monotonic() - t_connect
    layer = _layer()
    await asyncio.sleep(1.0)

    async def send_all(message):
        await asyncio.gather(*(layer.group_send(f"opening.{t}", message) for t in cfg["halls"]))

    await _probe(fleets, send_all)
    misses = _Misses()
    latencies, rounds = [], cfg["rounds"]
    gc.collect()
    gc.disable()
    try:
        for r in range(WARMUP + rounds):
            event = announce_event(r)
            t0 = time.monotonic()
            await send_all(hall_message(event))
            results = await asyncio.gather(*(f.wait_for(r, per) for f in fleets))
            misses.note(sum(got for _last, got in results), "many halls")
            if r >= WARMUP:
                latencies += [last - t0 for last, _got in results if last is not None]
            await _pause(rng)
        await asyncio.sleep(0.5)  # stragglers still count as received
    finally:
        gc.enable()
    received = [c for f in fleets for c in f.counts]
    expected = WARMUP + rounds
    lost = sum(max(0, expected - c) for c in received)
    duplicated = sum(max(0, c - expected) for c in received)
    short = sum(1 for c in received if c < expected)
    dropped = [d for f in fleets for d in f.dropped]
    await asyncio.gather(*(f.close() for f in fleets))
    await layer.flush()
    return {"latencies": latencies, "lost": lost, "duplicated": duplicated, "dropped": dropped,
            "clients_short": short, "clients": len(received), "messages": expected,
            "connect_s": connect_s}


def _load(cfg_path: str, out_path: str) -> None:
    cfg = json.loads(Path(cfg_path).read_text())
    if cfg["case"] != "bare":
        global hall_message
        django_setup()
        from core.realtime import hall_message  # what the services publish
    run = {"bare": _load_bare, "hall": _load_hall, "halls": _load_halls}[cfg["case"]]
    try:
        result = _run_loop(asyncio.wait_for(run(cfg), cfg["timeout"]))
    except BenchFailure as exc:
        result = {"error": str(exc)}
    except TimeoutError:
        result = {"error": f"the {cfg['case']} case did not finish within {cfg['timeout']:.0f} s"}
    Path(out_path).write_text(json.dumps(result))


# --- main --------------------------------------------------------------------------------


def _raise_nofile(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < need:
        print(f"warning: open files limit {soft} < {need} needed")


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _run_load(stack: Stack, cfg: dict, name: str) -> dict:
    cfg_path, out_path = stack.dir / f"load-{name}.json", stack.dir / f"result-{name}.json"
    # The load process stops itself a little before the stack's hard timeout.
    cfg = {**cfg, "timeout": max(5.0, stack.left() - 15)}
    cfg_path.write_text(json.dumps(cfg))
    try:
        stack.python("-m", "bench.bench_hall_fanout", "--load", str(cfg_path), str(out_path),
                     timeout=stack.left())
    except RuntimeError as exc:  # a crash, not a measurement: say it in one line
        last = [line for line in str(exc).splitlines() if line.strip()][-1:]
        raise BenchFailure(f"{name}: the load process failed: {' '.join(last)[:300]} "
                           f"(killed by signal 9 = out of memory?)"
                           if "(-9)" in str(exc) else
                           f"{name}: the load process failed: {' '.join(last)[:300]}") from None
    result = json.loads(out_path.read_text())
    if "error" in result:
        raise BenchFailure(f"{name}: {result['error']}")
    return result


def _load_avg() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"load average {_load_avg()}"


def main() -> list[dict]:
    clients = int(os.environ.get("BENCH_HALL_CLIENTS", "1000"))
    halls = int(os.environ.get("BENCH_HALLS", "200"))
    hall_size = int(os.environ.get("BENCH_HALL_SIZE", "50"))
    broadcasts = int(os.environ.get("BENCH_HALL_BROADCASTS", "60"))
    rounds = int(os.environ.get("BENCH_HALL_ROUNDS", "20"))
    rest_bids = int(os.environ.get("BENCH_HALL_REST_BIDS", "20"))
    deflate = os.environ.get("BENCH_HALL_DEFLATE", "1") != "0"
    hard_timeout = float(os.environ.get("BENCH_HALL_TIMEOUT", "360"))
    redis_url = os.environ.get("BENCH_HALL_REDIS_URL", "redis://127.0.0.1:6379/12")
    uvicorn_args = os.environ.get("BENCH_HALL_UVICORN_ARGS", "").split()
    _raise_nofile(max(clients, halls * hall_size) + 500)  # the load process holds them all

    print(f"start: {_uptime()}", flush=True)
    loads: dict[str, str] = {}
    with Stack("hall", postgres=True, redis=True, redis_url=redis_url,
               timeout=hard_timeout) as stack:
        t_setup = time.perf_counter()
        migrated = stack.migrate(timeout=stack.left())
        cfg = stack.dir / "setup-cfg.json"
        cfg.write_text(json.dumps({"rest_bids": rest_bids, "halls": halls}))
        setup_path = stack.dir / "setup.json"
        stack.python("-m", "bench.bench_hall_fanout", "--setup", str(cfg), str(setup_path),
                     timeout=stack.left(), extra_env={"CELERY_TASK_ALWAYS_EAGER": "true"})
        setup = json.loads(setup_path.read_text())
        servers = [stack.start_uvicorn(f"web{k}", extra_args=uvicorn_args,
                                       ready_timeout=stack.left(60)) for k in range(2)]
        print(f"setup {time.perf_counter() - t_setup:.1f} s "
              f"({migrated}; data {setup['setup_s']} s); "
              f"uvicorn x2 on ports {', '.join(str(s.port) for s in servers)} "
              f"{' '.join(uvicorn_args)}; Redis {redis_url}, channel prefix "
              f"{stack.env['CHANNEL_LAYER_PREFIX']}; "
              f"GGZY_GC_THRESHOLD={os.environ.get('GGZY_GC_THRESHOLD', '(default)')}; "
              f"client permessage-deflate {'on' if deflate else 'off'}; "
              f"hard timeout {hard_timeout:.0f} s", flush=True)
        common = {"deflate": deflate,
                  "ws": [f"ws://127.0.0.1:{s.port}" for s in servers],
                  "http": [s.url for s in servers]}

        port = free_port()
        bare_server = stack.spawn("bare", [PY, "-m", "bench.bench_hall_fanout", "--bare",
                                           str(port)], port)
        time.sleep(1.5)
        if bare_server.proc.poll() is not None:
            raise BenchFailure(f"the bare websockets server exited: {bare_server.tail(5)}")
        loads["bare"] = _load_avg()
        bare = _run_load(stack, {"case": "bare", "url": f"ws://127.0.0.1:{port}/",
                                 "clients": clients, "broadcasts": broadcasts,
                                 "deflate": deflate}, "bare")
        stack.stop(bare_server)
        loads["hall"] = _load_avg()
        hall = _run_load(stack, {**common, "case": "hall", "tender": setup["tender"],
                                 "clients": clients, "broadcasts": broadcasts,
                                 "rest": setup["rest"]}, "hall")
        loads["halls"] = _load_avg()
        many = _run_load(stack, {**common, "case": "halls", "halls": setup["halls"],
                                 "hall_size": hall_size, "rounds": rounds}, "halls")
        loads["end"] = _load_avg()
        rss = [s.peak_rss() for s in servers]

    b99 = percentile(bare["latencies"], 99)

    def row(case, lat, lost, n_clients, target, met, load, note=""):
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        return {"case": case, "clients": n_clients, "n": len(lat), "p50_ms": _ms(p50),
                "p99_ms": _ms(p99), "max_ms": _ms(max(lat)), "lost": lost,
                "p99/bare": round(p99 / b99, 2), "target": target,
                "verdict": "MET" if met(p99, lost) else "MISSED",
                "load 1m/5m": load, "note": note}

    rows = [
        row("bare websockets.broadcast (1 process)", bare["latencies"], bare["missing"],
            clients, "reference", lambda p99, lost: lost == 0, loads["bare"],
            f"{bare['size']} B message"),
        row("1 hall: uvicorn x2, Redis pub/sub, group_send", hall["latencies"],
            hall["missing"], clients, "p99 <= 1.25x bare",
            lambda p99, lost: p99 <= 1.25 * b99 and lost == 0, loads["hall"],
            f"connect {hall['connect_s']:.1f} s"),
    ]
    if hall["rest_latencies"]:
        rows.append(row("1 hall: price announced via REST decrypt", hall["rest_latencies"],
                        hall["rest_missing"], clients, "p99 <= 1.5x bare",
                        lambda p99, lost: p99 <= 1.5 * b99 and lost == 0, loads["hall"],
                        f"POST to last client; {hall['rest_failed']} POSTs failed"))
    else:
        raise BenchFailure(f"no REST decrypt announcement measured "
                           f"({hall['rest_failed']} POSTs failed)")
    rows.append(row(f"{halls} halls x {hall_size}, all at once", many["latencies"],
                    many["lost"], many["clients"], "0 lost, p99 <= 1000 ms",
                    lambda p99, lost: p99 <= 1.0 and lost == 0, loads["halls"],
                    f"connect {many['connect_s']:.1f} s; {many['messages']} msgs/client, "
                    f"{many['clients_short']} clients short, {many['duplicated']} duplicated"))
    print_table(rows)
    for name, result in (("bare", bare), ("hall", hall), ("halls", many)):
        if result["dropped"]:
            print(f"{name}: {len(result['dropped'])} connections dropped while measuring, "
                  f"e.g. {result['dropped'][:3]}")
    print(f"server peak RSS {', '.join(f'{r / 2**20:.0f}' for r in rss)} MiB; "
          f"load 1m/5m at the end {loads['end']}; end: {_uptime()}", flush=True)
    return rows


def _cli() -> int:
    try:
        main()
    except BenchFailure as exc:
        print(f"bench_hall_fanout FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print(f"bench_hall_fanout interrupted ({exc or 'SIGINT'}); servers stopped",
              file=sys.stderr)
        return 130
    except TimeoutError as exc:
        print(f"bench_hall_fanout FAILED: {exc}; servers stopped", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        _setup(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--bare":
        _bare(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--load":
        _load(sys.argv[2], sys.argv[3])
    else:
        sys.exit(_cli())
