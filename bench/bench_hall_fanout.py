"""Benchmark: opening-hall fan-out over websockets on the production stack.

``python bench/bench_hall_fanout.py`` or ``make bench ONLY=hall``. A throw-away stack
(``bench/_stack.py``): PostgreSQL (a fresh database ``ggzy_bench_hall``), Redis db 14
with the pub/sub channel layer, and two uvicorn processes on their own loopback ports.
Clients are spread over both processes (client i goes to process i mod 2), so every
broadcast crosses processes through Redis.

Setup (a child process with the stack's environment, through the services as
``tests/factories.py`` does): one public tender whose opening has started, with
``BENCH_HALL_REST_BIDS`` (default 20) sealed bids, each bidder with an API token and
its data keys already unwrapped with its own key; and ``BENCH_HALLS`` (default 50)
more public tenders in their openings, three bids each.

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
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import (  # noqa: E402
    PY,
    ROOT,
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
    halls = [opened_tender(3)[0].pk for _ in range(cfg["halls"])]
    Tender.objects.filter(pk__in=[main_tender.pk, *halls]).update(
        deadline=timezone.now() - timedelta(seconds=1))
    tasks.clock_tick()
    opened = Tender.objects.filter(pk__in=[main_tender.pk, *halls],
                                   status=Tender.Status.OPENING).count()
    assert opened == 1 + len(halls), f"only {opened} openings started"
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

hall_message = None  # core.realtime.hall_message, imported by the load process


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
        try:
            async for raw in ws:
                now = loop_time()
                message = json.loads(raw)
                key = message.get("seq")
                if key is None and message.get("type") == "hall.announce":
                    key = message["bid"]["credit_code"]
                if key is None:
                    continue
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
    latencies, missing = [], 0
    gc.collect()
    gc.disable()
    try:
        for seq in range(WARMUP + cfg["broadcasts"]):
            text = json.dumps(announce_event(seq))
            t0 = time.monotonic()
            await trigger.send(text)
            last, got = await fleet.wait_for(seq, cfg["clients"])
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


def _layer(cfg: dict):
    from channels_redis.pubsub import RedisPubSubChannelLayer

    return RedisPubSubChannelLayer(hosts=[{"address": cfg["redis"], "max_connections": 100}])


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
    layer = _layer(cfg)
    group = f"opening.{cfg['tender']}"
    await asyncio.sleep(1.0)
    latencies, missing = [], 0
    gc.collect()
    gc.disable()
    try:
        for seq in range(WARMUP + cfg["broadcasts"]):
            event = announce_event(seq)
            t0 = time.monotonic()
            await layer.group_send(group, hall_message(event))
            last, got = await fleet.wait_for(seq, n)
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
                continue
            last, got = await fleet.wait_for(bidder["credit_code"], n)
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
    await asyncio.wait_for(asyncio.gather(*(f.connect(parallel=4) for f in fleets)), 600)
    layer = _layer(cfg)
    await asyncio.sleep(1.0)
    latencies, rounds = [], cfg["rounds"]
    gc.collect()
    gc.disable()
    try:
        for r in range(WARMUP + rounds):
            event = announce_event(r)
            t0 = time.monotonic()
            await asyncio.gather(*(layer.group_send(f"opening.{t}", hall_message(event))
                                   for t in cfg["halls"]))
            results = await asyncio.gather(*(f.wait_for(r, per) for f in fleets))
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
            "clients_short": short, "clients": len(received), "messages": expected}


def _load(cfg_path: str, out_path: str) -> None:
    cfg = json.loads(Path(cfg_path).read_text())
    if cfg["case"] != "bare":
        global hall_message
        django_setup()
        from core.realtime import hall_message  # what the services publish
    run = {"bare": _load_bare, "hall": _load_hall, "halls": _load_halls}[cfg["case"]]
    result = _run_loop(asyncio.wait_for(run(cfg), cfg.get("timeout", 1200)))
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


def _run_load(stack: Stack, cfg: dict, name: str, timeout: float = 1500) -> dict:
    cfg_path, out_path = stack.dir / f"load-{name}.json", stack.dir / f"result-{name}.json"
    cfg_path.write_text(json.dumps(cfg))
    stack.python("-m", "bench.bench_hall_fanout", "--load", str(cfg_path), str(out_path),
                 timeout=timeout)
    return json.loads(out_path.read_text())


def main() -> list[dict]:
    clients = int(os.environ.get("BENCH_HALL_CLIENTS", "1000"))
    halls = int(os.environ.get("BENCH_HALLS", "50"))
    hall_size = int(os.environ.get("BENCH_HALL_SIZE", "30"))
    broadcasts = int(os.environ.get("BENCH_HALL_BROADCASTS", "60"))
    rounds = int(os.environ.get("BENCH_HALL_ROUNDS", "20"))
    rest_bids = int(os.environ.get("BENCH_HALL_REST_BIDS", "20"))
    deflate = os.environ.get("BENCH_HALL_DEFLATE", "1") != "0"
    _raise_nofile(2 * max(clients, halls * hall_size) + 500)

    rows: list[dict] = []
    bare_proc = None
    with Stack("hall", postgres=True, redis=True) as stack:
        t_setup = time.perf_counter()
        stack.manage("migrate", "--noinput", timeout=600)
        cfg = stack.dir / "setup-cfg.json"
        cfg.write_text(json.dumps({"rest_bids": rest_bids, "halls": halls}))
        setup_path = stack.dir / "setup.json"
        stack.python("-m", "bench.bench_hall_fanout", "--setup", str(cfg), str(setup_path),
                     timeout=1800, extra_env={"CELERY_TASK_ALWAYS_EAGER": "true"})
        setup = json.loads(setup_path.read_text())
        servers = [stack.start_uvicorn(f"web{k}") for k in range(2)]
        print(f"setup {time.perf_counter() - t_setup:.1f} s (data {setup['setup_s']} s); "
              f"uvicorn x2 on ports {', '.join(str(s.port) for s in servers)}; "
              f"GGZY_GC_THRESHOLD={os.environ.get('GGZY_GC_THRESHOLD', '(default)')}; "
              f"client permessage-deflate {'on' if deflate else 'off'}", flush=True)
        common = {"redis": stack.env["REDIS_URL"], "deflate": deflate,
                  "ws": [f"ws://127.0.0.1:{s.port}" for s in servers],
                  "http": [s.url for s in servers]}
        try:
            port = free_port()
            log = open(stack.dir / "bare.log", "wb")
            bare_proc = subprocess.Popen(
                [PY, "-m", "bench.bench_hall_fanout", "--bare", str(port)], cwd=ROOT,
                env=stack.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
            log.close()
            time.sleep(1.5)
            if bare_proc.poll() is not None:
                raise RuntimeError((stack.dir / "bare.log").read_text()[-2000:])
            bare = _run_load(stack, {"case": "bare", "url": f"ws://127.0.0.1:{port}/",
                                     "clients": clients, "broadcasts": broadcasts,
                                     "deflate": deflate}, "bare")
        finally:
            if bare_proc is not None and bare_proc.poll() is None:
                os.killpg(bare_proc.pid, signal.SIGTERM)
                try:
                    bare_proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(bare_proc.pid, signal.SIGKILL)
                    bare_proc.wait(10)
        hall = _run_load(stack, {**common, "case": "hall", "tender": setup["tender"],
                                 "clients": clients, "broadcasts": broadcasts,
                                 "rest": setup["rest"]}, "hall")
        many = _run_load(stack, {**common, "case": "halls", "halls": setup["halls"],
                                 "hall_size": hall_size, "rounds": rounds}, "halls")
        rss = [s.peak_rss() for s in servers]

    def row(case, lat, lost, n_clients, note=""):
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        r = {"case": case, "clients": n_clients, "n": len(lat), "p50_ms": _ms(p50),
             "p99_ms": _ms(p99), "max_ms": _ms(max(lat)), "lost": lost}
        b50, b99 = percentile(bare["latencies"], 50), percentile(bare["latencies"], 99)
        r["x_bare_p50"] = round(p50 / b50, 2)
        r["x_bare_p99"] = round(p99 / b99, 2)
        r["note"] = note
        return r

    rows.append(row("bare websockets.broadcast (1 process)", bare["latencies"],
                    bare["missing"], clients, f"{bare['size']} B message"))
    rows.append(row("1 hall: uvicorn x2, Redis pub/sub, group_send", hall["latencies"],
                    hall["missing"], clients, f"connect {hall['connect_s']:.1f} s"))
    if hall["rest_latencies"]:
        rows.append(row("1 hall: price announced via REST decrypt", hall["rest_latencies"],
                        hall["rest_missing"], clients,
                        f"POST to last client; {hall['rest_failed']} POSTs failed"))
    rows.append(row(f"{halls} halls x {hall_size}, all at once", many["latencies"],
                    many["lost"], many["clients"],
                    f"{many['messages']} msgs/client, {many['clients_short']} clients short, "
                    f"{many['duplicated']} duplicated"))
    print_table(rows)
    for name, result in (("bare", bare), ("hall", hall), ("halls", many)):
        if result["dropped"]:
            print(f"{name}: {len(result['dropped'])} connections dropped while measuring, "
                  f"e.g. {result['dropped'][:3]}")
    p99 = percentile(hall["latencies"], 99)
    ratio = p99 / percentile(bare["latencies"], 99)
    verdict = "met" if ratio <= 3 and p99 <= 1.0 else "MISSED"
    print(f"target (1 hall x {clients}, group_send): p99 {_ms(p99)} ms = {ratio:.2f}x bare "
          f"(<= 3x and <= 1000 ms): {verdict}; {halls} halls: lost {many['lost']} "
          f"({'ok' if many['lost'] == 0 else 'MESSAGES LOST'}); "
          f"server peak RSS {', '.join(f'{r / 2**20:.0f}' for r in rss)} MiB")
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        _setup(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--bare":
        _bare(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--load":
        _load(sys.argv[2], sys.argv[3])
    else:
        main()
