"""Shared helpers for the end-to-end benchmarks: a throw-away stack of the platform.

A :class:`Stack` owns a temporary directory (var/, media/, logs), optionally a fresh
PostgreSQL database (``ggzy_bench_<name>``, dropped and recreated per run) and a Redis
database (db 14, flushed before and after), and the server processes it starts
(uvicorn, a Celery worker). Everything is on loopback, every wait is bounded, and
:meth:`Stack.close` stops the processes it started and removes what it made.

No server outlives the benchmark that started it: each runs in its own process group
(its workers with it), is registered in this module, and is stopped by group (SIGTERM,
then SIGKILL) when the stack closes, when the benchmark is interrupted (SIGINT, SIGTERM
and SIGHUP raise :class:`Interrupted`, so ``with Stack(...)`` unwinds), when the stack's
hard ``timeout`` passes (:class:`StackTimeout` is raised in the main thread), and at
interpreter exit (``atexit``). On Linux each server also gets SIGTERM from the kernel if
the benchmark itself dies without unwinding (SIGKILL): ``PR_SET_PDEATHSIG``.

Each stack gets its own ``CHANNEL_LAYER_PREFIX`` (``bench-<name>-<pid>``), so
benchmarks running at once on one Redis never hear each other's groups (pub/sub
channels ignore the database number); ``redis_url`` (or ``BENCH_REDIS_URL``) picks the
Redis database.

Django code runs in child processes with the stack's environment
(:meth:`Stack.python`), never in the benchmark's own process, so the benchmark can
point several stacks at different databases in one run.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from core.deploy import UVICORN_OPTIONS

ROOT = Path(__file__).resolve().parents[1]
_VENV_BIN = ROOT / ".venv" / "bin"
PY = str(_VENV_BIN / "python") if (_VENV_BIN / "python").exists() else sys.executable
BIN = _VENV_BIN if (_VENV_BIN / "uvicorn").exists() else Path(sys.executable).parent

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN",
                          "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/{db}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

MIB = 1024 * 1024


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived (SIGINT raises KeyboardInterrupt as usual)."""


class StackTimeout(TimeoutError):
    """The stack's hard ``timeout`` passed."""


# Every process group a stack started and has not yet stopped, by pid.
_LIVE: dict[int, subprocess.Popen] = {}
_HANDLERS_INSTALLED = False


def _stop_group(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM the process group of ``proc`` (its leader and workers), wait, then
    SIGKILL what is left of the group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # The leader may be gone while workers of its group are not.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    _LIVE.pop(proc.pid, None)


def stop_all() -> None:
    """Stop every process group started by any stack in this process (atexit)."""
    for proc in list(_LIVE.values()):
        with contextlib.suppress(Exception):
            _stop_group(proc, timeout=5)


def _raise_interrupted(signum, frame):
    raise Interrupted(f"signal {signal.Signals(signum).name}")


def _install_handlers() -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C; atexit stops what is left. Main thread only
    (Python delivers signals there); elsewhere atexit still covers a normal exit."""
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    atexit.register(stop_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _raise_interrupted)
    _HANDLERS_INSTALLED = True


def _die_with_parent(parent: int):
    """A ``preexec_fn``: the kernel sends SIGTERM to the child when the thread that
    started it exits (Linux ``PR_SET_PDEATHSIG``), even if the benchmark is SIGKILLed."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    if not hasattr(libc, "prctl"):
        return None

    def preexec():
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int, field: str) -> int | None:
    """A ``kB`` field of /proc/<pid>/status (VmHWM, VmRSS) in bytes, or None."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        pass
    return out


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def print_table(rows: list[dict], columns: list[str] | None = None) -> None:
    """Print rows as an aligned plain-text table."""
    if not rows:
        return
    columns = columns or list(rows[0])
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    sys.stdout.flush()


class Server:
    """One process this stack started, with its log file."""

    def __init__(self, name: str, proc: subprocess.Popen, log: Path, port: int | None = None):
        self.name, self.proc, self.log, self.port = name, proc, log, port

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The process and its children (uvicorn --workers forks workers)."""
        return [self.pid, *children(self.pid)]

    def peak_rss(self) -> int:
        """VmHWM in bytes; with worker children, the sum over the workers."""
        kids = children(self.pid)
        pids = kids or [self.pid]
        return sum(proc_status(p, "VmHWM") or 0 for p in pids)

    def rss(self) -> int:
        kids = children(self.pid)
        return sum(proc_status(p, "VmRSS") or 0 for p in (kids or [self.pid]))

    def exceptions(self) -> Counter:
        """Exception lines in the log ("module.Error: message"), counted by type and
        the message's first words."""
        found: Counter = Counter()
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return found
        for m in re.finditer(r"^([A-Za-z_][\w.]*(?:Error|Exception|Detected)): ?(.{0,200})",
                             text, re.M):
            message = re.sub(r"connection to server at [^:]*: ", "", m.group(2)).strip()
            found[f"{m.group(1)}: {message[:70]}"] += 1
        return found

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""


class Stack:
    """A temporary platform: env, database, Redis db, and the processes started."""

    def __init__(self, name: str, *, postgres: bool, redis: bool, keep: bool = False,
                 redis_url: str | None = None, timeout: float | None = None):
        """``timeout``: seconds after which :class:`StackTimeout` is raised in the main
        thread (the ``with`` block unwinds and every server is stopped); see
        :meth:`left`."""
        _install_handlers()
        self.name = name
        self.postgres = postgres
        self.redis = redis
        self.redis_url = redis_url or REDIS_URL
        self.keep = keep or os.environ.get("BENCH_KEEP") == "1"
        self.deadline = None
        self._closed = False
        self.dir = Path(tempfile.mkdtemp(prefix=f"ggzy-bench-{name}-"))
        self.db_name = f"ggzy_bench_{name}"
        self.servers: list[Server] = []
        env = {k: v for k, v in os.environ.items()
               if k not in {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "PLATFORM_KEY_FILE",
                            "GGZY_VAR_DIR", "DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER",
                            "EMBEDDED_CLOCK", "BID_UPLOAD_CHUNK_BYTES", "DEBUG",
                            "CHANNEL_LAYER_PREFIX"}}
        env.update(
            GGZY_VAR_DIR=str(self.dir / "var"),
            MEDIA_ROOT=str(self.dir / "media"),
            SECRET_KEY=secrets.token_urlsafe(40),
            DJANGO_SETTINGS_MODULE="tradecentre.settings",
            LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            PYTHONDONTWRITEBYTECODE="1",
            CHANNEL_LAYER_PREFIX=f"bench-{name}-{os.getpid()}",
        )
        (self.dir / "var").mkdir()
        (self.dir / "media").mkdir()
        if postgres:
            self._recreate_database()
            env["DATABASE_URL"] = PG_URL.format(db=self.db_name)
        if redis:
            self._flush_redis()
            env["REDIS_URL"] = self.redis_url
        self.env = env
        if timeout is not None:
            self._arm(timeout)

    def _arm(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        if threading.current_thread() is threading.main_thread():
            name = self.name

            def expire(signum, frame):
                raise StackTimeout(f"bench {name}: hard timeout of {timeout:.0f} s passed")

            signal.signal(signal.SIGALRM, expire)
            signal.setitimer(signal.ITIMER_REAL, timeout)

    def left(self, cap: float | None = None) -> float:
        """Seconds until the hard timeout (at least 1), at most ``cap``; without a
        timeout, ``cap`` (or an hour)."""
        if self.deadline is None:
            return cap if cap is not None else 3600.0
        left = max(1.0, self.deadline - time.monotonic())
        return min(left, cap) if cap is not None else left

    # --- services ------------------------------------------------------------------

    def _pg(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def _recreate_database(self) -> None:
        self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        self._pg(f'CREATE DATABASE "{self.db_name}"')

    def _flush_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=10)
        try:
            client.flushdb()
        finally:
            client.close()

    # --- child processes -----------------------------------------------------------

    def python(self, *args: str, timeout: float = 600, input: str | None = None,
               extra_env: dict | None = None) -> subprocess.CompletedProcess:
        """Run ``python <args>`` in the project with the stack's env; raise on failure."""
        env = {**self.env, **(extra_env or {})}
        proc = subprocess.run([PY, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout, input=input)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        return proc

    def manage(self, *args: str, timeout: float = 600) -> str:
        return self.python("manage.py", *args, timeout=timeout).stdout

    def migrate(self, timeout: float = 600) -> str:
        """The stack's database, migrated: a copy of a template database that was
        migrated once for exactly these migration files (``ggzy_bench_tpl_<digest>``),
        so repeated runs skip minutes of ``migrate``. ``BENCH_MIGRATE=1`` migrates
        directly instead. Returns what was done."""
        if not self.postgres or os.environ.get("BENCH_MIGRATE") == "1":
            self.manage("migrate", "--noinput", timeout=timeout)
            return "migrated"
        import hashlib

        import psycopg

        digest = hashlib.sha256()
        apps = [d for d in ROOT.iterdir()
                if d.is_dir() and not d.name.startswith(".") and d.name not in {"tests", "bench"}]
        for path in sorted(p for d in apps for p in d.rglob("migrations/*.py")):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
        template = f"ggzy_bench_tpl_{digest.hexdigest()[:16]}"
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                 [template]).fetchone()
        done = "copied the migrated template"
        if not found:
            building = f"{template}_{os.getpid()}"
            self._pg(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            self._pg(f'CREATE DATABASE "{building}"')
            try:
                self.python("manage.py", "migrate", "--noinput", timeout=timeout,
                            extra_env={"DATABASE_URL": PG_URL.format(db=building)})
                # Made under another name and renamed: a template is complete or absent.
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    self._pg(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
            finally:
                self._pg(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            done = "migrated a new template"
        self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        self._pg(f'CREATE DATABASE "{self.db_name}" TEMPLATE "{template}"')
        return done

    def spawn(self, name: str, argv: list[str], port: int | None = None,
              extra_env: dict | None = None) -> Server:
        """Start ``argv`` in its own process group with the stack's env, its output in
        ``<dir>/<name>.log``; the stack stops it (see the module docstring)."""
        log = self.dir / f"{name}.log"
        fh = open(log, "wb")
        try:
            proc = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **(extra_env or {})},
                                    stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    preexec_fn=_die_with_parent(os.getpid()))
        finally:
            fh.close()
        _LIVE[proc.pid] = proc
        server = Server(name, proc, log, port)
        self.servers.append(server)
        return server

    _spawn = spawn  # the name the benchmarks used first

    def start_uvicorn(self, name: str = "web", *, workers: int = 1,
                      extra_env: dict | None = None, ready_timeout: float = 60,
                      app: str | None = None, extra_args: list[str] | None = None) -> Server:
        """Start uvicorn on a free loopback port. ``app`` (or ``BENCH_ASGI_APP``) replaces
        ``tradecentre.asgi:application``, e.g. with an instrumented wrapper; ``extra_args``
        are added to uvicorn's command line."""
        port = free_port()
        app = app or os.environ.get("BENCH_ASGI_APP") or "tradecentre.asgi:application"
        argv = [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port),
                *UVICORN_OPTIONS, "--no-access-log", "--log-level", "warning"]
        if workers > 1:
            argv += ["--workers", str(workers)]
        argv += list(extra_args or ())
        server = self.spawn(name, argv, port, extra_env)
        self.wait_ready(server, ready_timeout, workers)
        return server

    def wait_ready(self, server: Server, timeout: float, workers: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(f"{server.name} exited ({server.proc.returncode}):\n"
                                   f"{server.tail()}")
            try:
                with urllib.request.urlopen(server.url + "/api/bench-ready-probe/",
                                            timeout=10) as resp:
                    resp.read()
                if workers <= 1 or len(children(server.pid)) >= workers:
                    return
            except urllib.error.HTTPError:
                return  # it answered
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{server.name} not ready after {timeout}s:\n{server.tail()}")

    def start_celery(self, name: str = "celery") -> Server:
        argv = [str(BIN / "celery"), "-A", "tradecentre", "worker", "--pool", "solo",
                "--loglevel", "warning", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--hostname", f"bench-{os.getpid()}@127.0.0.1"]
        server = self.spawn(name, argv)
        time.sleep(1.0)
        if server.proc.poll() is not None:
            raise RuntimeError(f"celery exited:\n{server.tail()}")
        return server

    def stop(self, server: Server, timeout: float = 15) -> None:
        """Stop the server's process group: SIGTERM, then SIGKILL after ``timeout``."""
        _stop_group(server.proc, timeout)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.deadline is not None and threading.current_thread() is threading.main_thread():
            signal.setitimer(signal.ITIMER_REAL, 0)
        # A second Ctrl-C while stopping must not leave the rest running.
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                previous[sig] = signal.signal(sig, signal.SIG_IGN)
        try:
            for server in reversed(self.servers):
                with contextlib.suppress(Exception):
                    self.stop(server)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._cleanup()

    def _cleanup(self) -> None:
        if self.keep:
            print(f"(BENCH_KEEP=1: kept {self.dir} and database {self.db_name})")
            return
        if self.postgres:
            with contextlib.suppress(Exception):
                self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        if self.redis:
            with contextlib.suppress(Exception):
                self._flush_redis()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def django_setup() -> None:
    """In a child process started by :meth:`Stack.python`: set Django up."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradecentre.settings")
    import django

    django.setup()


def publishable_tender(tenderer, deadline, **overrides):
    """A published tender whose deadline is ``deadline`` (soon, in real time).

    Publication needs the deadline at least 20 days after publication, so the tender
    is published "as of" 21 days before its deadline (the service takes ``now``);
    documents were obtainable during the first week of that period.
    """
    from datetime import timedelta

    from bidding.tenders import services
    from tests import factories

    published_at = deadline - timedelta(days=21)
    tender = factories.draft_tender(user=tenderer, now=published_at, deadline=deadline,
                                    **overrides)
    tender = services.tender_publish(user=tenderer, tender=tender, now=published_at)
    return tender, published_at + timedelta(hours=1)
