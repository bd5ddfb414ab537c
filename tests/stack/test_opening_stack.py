"""End to end: the opening hall on the real stack.

Two uvicorn processes share a PostgreSQL database (a throw-away ``ggzy_stack_<random>``)
and the Redis pub/sub channel layer; real websocket clients (the ``websockets``
package) sit on both, so every broadcast has to cross processes through Redis. The
data is made, and the clock is moved, by child processes with the same environment
(``opening_script.py``), since the servers must see it.

Covered: sign-in, two bidders decrypting (every client on both processes sees each
announcement), a reconnect to the other process (full state), one server killed after
the first announcement and restarted (nothing lost), an objection and the host's
answer, the window closing, two custodians handing over shares and the third bid
announced as opened by the custodians, a confirmation, silence deemed confirmation,
the closed hall, and the signed record fetched over HTTP and checked with
``pdftotext`` and pyHanko.

Runs when ``REDIS_URL`` is set and ``DATABASE_URL`` is PostgreSQL (CI's second pass):
``DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres
REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/pytest tests/stack -q``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from core.deploy import UVICORN_OPTIONS
from tests.conftest import require

pytestmark = pytest.mark.services

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
if not (REDIS_URL and DATABASE_URL.startswith("postgres")):
    pytest.skip("the real-stack opening test needs REDIS_URL and a PostgreSQL DATABASE_URL "
                "(CI's second pass sets both)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
_VENV = ROOT / ".venv" / "bin"
PYTHON = str(_VENV / "python") if (_VENV / "python").exists() else sys.executable
UVICORN = str(_VENV / "uvicorn") if (_VENV / "uvicorn").exists() else str(
    Path(sys.executable).parent / "uvicorn")

WAIT = 30  # seconds: the bound on any one expected message, start-up or child process


# --- the stack: database, environment, server processes ---------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


class Server:
    def __init__(self, name: str, port: int, log: Path):
        self.name, self.port, self.log = name, port, log
        self.proc: subprocess.Popen | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, n: int = 40) -> str:
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        return ""


class Stack:
    """A temporary platform: its own database, var/ and media/, two uvicorn processes."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="ggzy-stack-"))
        self.db = f"ggzy_stack_{secrets.token_hex(6)}"
        self.servers: list[Server] = []
        var = self.dir / "var"
        var.mkdir()
        drop = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "MEDIA_ROOT",
                "GGZY_VAR_DIR", "PLATFORM_KEY_FILE", "PLATFORM_DOCUMENT_CERT_FILE",
                "EMBEDDED_CLOCK", "CELERY_TASK_ALWAYS_EAGER", "DEBUG", "SECRET_KEY"}
        self.env = {k: v for k, v in os.environ.items() if k not in drop}
        self.env.update(
            DATABASE_URL=_with_database(DATABASE_URL, self.db),
            REDIS_URL=REDIS_URL,
            EMBEDDED_CLOCK="false",
            # Nothing here queues Celery work; eager keeps publication from leaving a
            # deadline task in the broker.
            CELERY_TASK_ALWAYS_EAGER="true",
            DJANGO_SETTINGS_MODULE="tradecentre.settings",
            GGZY_VAR_DIR=str(var),
            MEDIA_ROOT=str(self.dir / "media"),
            PLATFORM_KEY_FILE=str(var / "platform_signing_key.pem"),
            PLATFORM_DOCUMENT_CERT_FILE=str(var / "platform_document_cert.pem"),
            SECRET_KEY=secrets.token_urlsafe(40),
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
            PYTHONDONTWRITEBYTECODE="1",
        )
        self.created_db = False

    def create_database(self) -> None:
        import psycopg

        for attempt in range(5):
            try:
                _admin(f'CREATE DATABASE "{self.db}"')
                break
            except psycopg.errors.ObjectInUse:  # another CREATE DATABASE copies template1
                if attempt == 4:
                    raise
                time.sleep(1 + attempt)
        self.created_db = True

    def run(self, *args: str, timeout: float = 300) -> str:
        proc = subprocess.run([PYTHON, *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if proc.returncode:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
        return proc.stdout

    def script(self, *args: str) -> dict:
        out = self.run("-m", "tests.stack.opening_script", *args)
        return json.loads(out.rsplit("@@JSON@@", 1)[1])

    def add_server(self, name: str) -> Server:
        server = Server(name, _free_port(), self.dir / f"{name}.log")
        self.servers.append(server)
        for attempt in range(3):
            try:
                self.start(server)
                return server
            except AssertionError:
                # The free port was taken by someone else before uvicorn bound it.
                if attempt == 2 or "address already in use" not in server.tail().lower():
                    raise
                server.port = _free_port()
        return server

    def start(self, server: Server) -> None:
        """Start (or restart, on the same port) one uvicorn process; wait until it answers."""
        with open(server.log, "ab") as log:
            server.proc = subprocess.Popen(
                [UVICORN, "tradecentre.asgi:application", *UVICORN_OPTIONS,
                 "--host", "127.0.0.1", "--port", str(server.port), "--log-level", "warning"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise AssertionError(f"{server.name} exited:\n{server.tail()}")
            try:
                with urllib.request.urlopen(server.http + "/api/", timeout=5) as resp:
                    resp.read()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"{server.name} did not answer within {WAIT}s:\n{server.tail()}")

    def kill(self, server: Server, sig=signal.SIGKILL) -> None:
        if server.proc is not None and server.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.proc.pid, sig)
            try:
                server.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(server.proc.pid, signal.SIGKILL)
                server.proc.wait(15)

    def close(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                self.kill(server, signal.SIGTERM)
        if self.created_db:
            with contextlib.suppress(Exception):
                _admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def stack():
    require(shutil.which("pdftotext") is not None,
            "pdftotext (Debian poppler-utils) is not installed")
    require(Path(UVICORN).exists(), "uvicorn is not installed")
    made = Stack()
    try:
        made.create_database()
        made.run("manage.py", "migrate", "--noinput")
        made.data = made.script("setup")
        made.add_server("web-a")
        made.add_server("web-b")
        yield made
    except BaseException:
        for server in made.servers:
            print(f"--- {server.name} log ---\n{server.tail()}")
        raise
    finally:
        made.close()


# --- a websocket participant -------------------------------------------------------------


class Participant:
    """One person in the hall: a websocket to one of the servers, and an inbox."""

    def __init__(self, name: str, tender_id: int, session: str | None = None):
        self.name, self.tender_id, self.session = name, tender_id, session
        self.ws = None
        self.server: Server | None = None
        self.inbox: list[dict] = []
        self._arrived = asyncio.Event()
        self.closed = asyncio.Event()
        self._reader: asyncio.Task | None = None

    async def connect(self, server: Server) -> dict:
        """Open the hall on ``server``; return the ``hall.state`` it sends first."""
        from websockets.asyncio.client import connect

        headers = {"Cookie": f"sessionid={self.session}"} if self.session else {}
        self.server = server
        self.inbox, self.closed = [], asyncio.Event()
        self.ws = await connect(f"ws://127.0.0.1:{server.port}/ws/openings/{self.tender_id}/",
                                origin=server.http, additional_headers=headers,
                                open_timeout=WAIT, close_timeout=5)
        self._reader = asyncio.create_task(self._read(self.ws, self.closed))
        return await self.expect("hall.state")

    async def _read(self, ws, closed: asyncio.Event) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in ws:
                self.inbox.append(json.loads(raw))
                self._arrived.set()
        except ConnectionClosed:
            pass
        finally:
            closed.set()
            self._arrived.set()

    async def expect(self, kind: str, where=lambda m: True, timeout: float = WAIT) -> dict:
        """The first message not yet taken of type ``kind`` matching ``where``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for i, message in enumerate(self.inbox):
                if message.get("type") == kind and where(message):
                    return self.inbox.pop(i)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"{self.name} on {self.server.name}: no {kind} within "
                                     f"{timeout}s; inbox {self.inbox}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def act(self, kind: str, **fields) -> dict:
        """Send an action; return ``ok``, or fail with the refusal."""
        await self.ws.send(json.dumps({"type": kind, **fields}))
        reply = await self.expect("ok", lambda m: m.get("action") == kind)
        return reply

    async def refused(self, kind: str, **fields) -> dict:
        await self.ws.send(json.dumps({"type": kind, **fields}))
        return await self.expect("error")

    async def disconnect(self) -> None:
        if self.ws is not None:
            await asyncio.wait_for(self.ws.close(), WAIT)
            await asyncio.wait_for(self.closed.wait(), WAIT)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, WAIT)


async def everyone(people, kind, where=lambda m: True) -> list[dict]:
    """Every participant receives one ``kind`` message matching ``where``."""
    return await asyncio.gather(*(p.expect(kind, where) for p in people))


def http_get(url: str) -> tuple[bytes, dict]:
    with urllib.request.urlopen(url, timeout=WAIT) as resp:
        return resp.read(), {k.lower(): v for k, v in resp.headers.items()}


# --- the scenario ----------------------------------------------------------------------


def test_an_opening_across_two_processes_on_redis(stack, settings, tmp_path):
    record_url, record_sha, objection, answer = asyncio.run(
        asyncio.wait_for(_scenario(stack), 600))
    # The signed record, over HTTP from either process.
    pdf, headers = http_get(f"{stack.servers[1].http}{record_url}")
    assert hashlib.sha256(pdf).hexdigest() == record_sha == headers["x-content-sha256"]
    assert headers["content-type"] == "application/pdf"
    _check_record(pdf, stack.data, tmp_path, settings, stack, objection, answer)
    stack.run("manage.py", "verify_audit")


async def _scenario(stack: Stack) -> tuple[str, str, str, str]:
    data = stack.data
    a, b = stack.servers
    tid = data["tender"]
    bidders = [Participant(f"bidder{i}", tid, d["session"])
               for i, d in enumerate(data["bidders"])]
    custodians = [Participant(f"custodian{i}", tid, d["session"])
                  for i, d in enumerate(data["custodians"])]
    host = Participant("host", tid, data["host"]["session"])
    observer = Participant("observer", tid, data["observer"]["session"])
    public = Participant("public", tid)
    names = [d["name"] for d in data["bidders"]]
    everybody = [host, observer, public, *bidders, *custodians]
    placement = {host: a, observer: a, public: b, bidders[0]: a, bidders[1]: b,
                 bidders[2]: b, custodians[0]: a, custodians[1]: b, custodians[2]: a}
    try:
        # Everyone enters the hall, on both processes, each in its role.
        states = await asyncio.gather(*(p.connect(placement[p]) for p in everybody))
        roles = {p.name: s["role"] for p, s in zip(everybody, states, strict=True)}
        assert roles == {"host": "host", "observer": "observer", "public": "public",
                         **{p.name: "bidder" for p in bidders},
                         **{p.name: "custodian" for p in custodians}}
        for state in states:
            assert state["phase"] == "decrypting" and state["announced"] == []
            assert state["counters"]["bids"] == 3 and state["counters"]["pending"] == 3

        # Sign-in (签到): each bidder's sign-in reaches every client on both processes.
        for bidder in bidders:
            await bidder.act("signin")
        for person in everybody:
            seen = {(await person.expect("hall.signin"))["bidder"] for _ in range(3)}
            assert seen == set(names)

        # The first bidder decrypts: announced at once to everyone.
        first = data["bidders"][0]
        await bidders[0].act("decrypt", bid_key=first["bid_key"],
                             price_sheet_key=first["price_sheet_key"])
        for event in await everyone(everybody, "hall.announce"):
            assert event["bid"]["order"] == 1 and event["bid"]["bidder"] == names[0]
            assert event["bid"]["decrypted_by"] == "bidder"
            assert event["bid"]["price_sheet"]["total_price"] == "9500000.00"
            assert event["bid"]["sha256"] == first["sha256"]
            assert event["counters"]["decrypted"] == 1

        # A client leaves and comes back on the other process: the full state again.
        await bidders[0].disconnect()
        state = await bidders[0].connect(b)
        assert [row["bidder"] for row in state["announced"]] == [names[0]]
        assert state["you"]["bid_status"] == "decrypted" and state["you"]["signed_in"]
        assert all(row["signed_in"] for row in state["bidders"])

        # One server dies mid-opening; its clients move to the other one or wait for it.
        stack.kill(b)
        on_b = [p for p in everybody if p.server is b]
        await asyncio.gather(*(asyncio.wait_for(p.closed.wait(), WAIT) for p in on_b))
        state = await bidders[1].connect(a)
        assert state["phase"] == "decrypting"
        assert [row["bidder"] for row in state["announced"]] == [names[0]]
        assert state["you"]["signed_in"] and state["you"]["bid_status"] == "pending"
        await asyncio.to_thread(stack.start, b)
        for person in on_b:
            if person is bidders[1]:
                continue
            state = await person.connect(b)
            assert state["phase"] == "decrypting" and state["counters"]["decrypted"] == 1
            assert [row["bidder"] for row in state["announced"]] == [names[0]]

        # The second bidder decrypts; the restarted process hears it too.
        second = data["bidders"][1]
        await bidders[1].act("decrypt", bid_key=second["bid_key"],
                             price_sheet_key=second["price_sheet_key"])
        for event in await everyone(everybody, "hall.announce"):
            assert event["bid"]["order"] == 2 and event["bid"]["bidder"] == names[1]
            assert event["counters"]["decrypted"] == 2 and event["counters"]["pending"] == 1
        assert {p.server.name for p in everybody} == {"web-a", "web-b"}

        # An objection (异议) and the host's answer, live for everyone.
        text = "第二名投标人的项目经理证书已过期"
        await bidders[2].act("objection", text=text)
        objection = None
        for event in await everyone(everybody, "hall.objection"):
            assert event["text"] == text and event["bidder"] == names[2]
            assert event["answer"] == "" and event["raised_at"]
            objection = event["id"]
        answer = "已记录，提交评标委员会审查"
        await host.act("answer", objection=objection, answer=answer)
        for event in await everyone(everybody, "hall.answer"):
            assert event["id"] == objection and event["answer"] == answer
            assert event["answered_at"]

        # The window closes with the third bid undecrypted: the custodians' turn.
        moved = await asyncio.to_thread(stack.script, "close-window", str(tid))
        assert moved["phase"] == "custodians"
        for event in await everyone(everybody, "hall.phase"):
            assert event["phase"] == "custodians" and event["pending"] == 1
        late = data["bidders"][2]
        refusal = await bidders[2].refused("decrypt", bid_key=late["bid_key"],
                                           price_sheet_key=late["price_sheet_key"])
        assert refusal["code"] == "window_closed"

        # Two custodians (k = 2), on different processes, hand over their shares.
        for i, custodian in enumerate(custodians[:2]):
            await custodian.act("share", share=data["custodians"][i]["share"])
            for event in await everyone(everybody, "hall.share",
                                        lambda m, n=i + 1: m["shares"] == n):
                assert event["threshold"] == 2
        for event in await everyone(everybody, "hall.announce"):
            assert event["bid"]["order"] == 3 and event["bid"]["bidder"] == names[2]
            assert event["bid"]["decrypted_by"] == "custodians"
            assert event["bid"]["price_sheet"]["total_price"] == "9500000.00"
        for event in await everyone(everybody, "hall.phase"):
            assert event["phase"] == "confirming" and event["confirm_until"]
            assert event["counters"]["decrypted"] == 3

        # One bidder confirms; the others stay silent.
        await bidders[0].act("confirm", remark="无异议")
        for event in await everyone(everybody, "hall.confirmed"):
            assert event["bidder"] == names[0] and event["deemed"] is False

        # The confirmation time ends: silence is confirmation, the record is published.
        moved = await asyncio.to_thread(stack.script, "finish", str(tid))
        assert moved == {"phase": "closed", "tender_status": "opened"}
        closed = await everyone(everybody, "hall.closed")
        record_sha = closed[0]["record_sha256"]
        assert {e["record_sha256"] for e in closed} == {record_sha}
        assert {e["record_url"] for e in closed} == {f"/api/tenders/{tid}/opening/record.pdf"}

        # A late visitor sees the whole opening, nothing lost across the restart.
        visitor = Participant("visitor", tid)
        state = await visitor.connect(a)
        await visitor.disconnect()
        assert state["phase"] == "closed" and state["record"]["sha256"] == record_sha
        assert [(r["order"], r["bidder"], r["decrypted_by"]) for r in state["announced"]] == [
            (1, names[0], "bidder"), (2, names[1], "bidder"), (3, names[2], "custodians")]
        assert [(o["text"], o["answer"]) for o in state["objections"]] == [(text, answer)]
        assert sorted((c["bidder"], c["deemed"]) for c in state["confirmations"]) == sorted(
            [(names[0], False), (names[1], True), (names[2], True)])
        assert state["shares"] == 2
    finally:
        for person in everybody:
            with contextlib.suppress(Exception):
                await person.disconnect()

    return closed[0]["record_url"], record_sha, text, answer


def _check_record(pdf: bytes, data: dict, tmp_path: Path, settings, stack: Stack,
                  objection: str, answer: str) -> None:
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          text=True, timeout=WAIT, check=True).stdout
    assert "开标记录" in text and data["reference"] in text
    assert objection in text and answer in text
    assert "逾期未确认，视为确认" in text
    for bidder in data["bidders"]:
        assert bidder["name"] in text

    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from core import platform_keys

    settings.PLATFORM_DOCUMENT_CERT_FILE = stack.env["PLATFORM_DOCUMENT_CERT_FILE"]
    _key, cert = platform_keys.document_certificate()
    root = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    assert len(signatures) == 1
    status = validate_pdf_signature(signatures[0], ValidationContext(trust_roots=[root],
                                                                     allow_fetching=False))
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
