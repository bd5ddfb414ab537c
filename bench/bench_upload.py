"""Benchmark: one large sealed bid uploaded end to end over loopback.

``python bench/bench_upload.py`` or ``make bench ONLY=upload``. A throw-away stack
(embedded SQLite by default, ``BENCH_UPLOAD_STACK=pg`` for PostgreSQL + Redis) runs one
uvicorn process. A child process with the stack's environment sets up a tender and a
bidder with a registered key and seals ``BENCH_UPLOAD_MIB`` MiB (default 1024) of
plaintext into a valid envelope on ``BENCH_DIR`` (default ``/dev/shm`` when it has room,
so reading the file costs the client little); sealing is not measured.

The client then uploads it through the chunk protocol of ``bidding/bids_api.py`` with the
server's chunk size (8 MiB by default): start, PUT every chunk with ``X-Chunk-SHA256``
(the next chunk is read and hashed in a helper thread while the current one is in
flight, as a good client would), complete. It reports:

* end-to-end throughput: envelope bytes / (start request .. receipt received);
* chunk throughput: envelope bytes / (first chunk sent .. last chunk acknowledged);
* the server's peak memory (VmHWM from /proc, summed over workers) and its resident
  memory before the upload, so "flat" can be judged;
* that the receipt's digest is the file's and its signature verifies.

``BENCH_UPLOAD_ROUNDS`` (default 3) uploads the file that many times to fresh
uploads (each a replacement bid) and reports each: the machine is shared and its
page allocation noisy, so one round alone says little. Before measuring, the
protocol's refusals are checked on the real ASGI path (an altered chunk and an
out-of-order chunk are refused and leave nothing behind, a body over the chunk size
is refused with 413).

For scale, the same bytes are also PUT, in the same chunks and by the same client, to
a bare ASGI app on a second uvicorn that only receives them (no Django, no disk, no
hashing): the ceiling of loopback HTTP through uvicorn on this machine at this load.
And they are written to the server's media directory in the same chunks, each synced
before the next, with no network: the ceiling of the disk for bytes that must be on it
before each chunk is acknowledged; twice, written plainly and with each block's writeback
started as soon as it is written (as the server does).
Every figure is printed with the load average (``/proc/loadavg``) when it was taken.

The run stops itself after ``BENCH_UPLOAD_TIMEOUT`` seconds (default 280) and stops
every server it started when it times out or is interrupted (``bench._stack``).

Targets (issue 16): >= 400 MB/s (decimal MB) end to end and for the chunks, with the
envelope's SHA-256 computed while the data streams, and server peak RSS <= 200 MiB.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import queue
import shutil
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import MIB, Stack, django_setup, print_table  # noqa: E402

TARGET_MB_S = 400.0
TARGET_RSS_MIB = 200.0


def load() -> str:
    """The 1-minute load average and the machine's cores, as ``uptime`` says them."""
    try:
        one = Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        one = "?"
    return f"{one}/{os.cpu_count()} cores"


def met(ok: bool) -> str:
    return "MET" if ok else "MISSED"


async def bare_receive(scope, receive, send):
    """The scale: an ASGI app that only receives a body and says how long it was."""
    if scope["type"] != "http":
        return
    n = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        n += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = json.dumps({"received": n}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# --- child process: set up a tender and seal the big envelope ------------------------


class _Plaintext:
    """``size`` bytes of incompressible-looking plaintext without holding them: a
    16 MiB random block repeated (AES-GCM output is random either way)."""

    def __init__(self, size: int):
        self.left = size
        self.block = memoryview(os.urandom(16 * MIB))
        self.pos = 0

    def readinto(self, view) -> int:
        n = min(len(view), self.left, len(self.block) - self.pos)
        view[:n] = self.block[self.pos:self.pos + n]
        self.pos = (self.pos + n) % len(self.block)
        self.left -= n
        return n


def _setup(out_path: str, envelope_path: str, mib: int) -> None:
    django_setup()
    from django.test.utils import override_settings
    from rest_framework.authtoken.models import Token

    from bidding.tenders import services
    from core import platform_keys
    from crypto import envelope
    from crypto import keys as crypto_keys
    from tests import factories

    platform_keys.signing_key()  # created once here, before any server races for it
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        tender = factories.published_tender()
        user = factories.bidder_with_key()
    services.document_obtain(user=user, tender=tender)
    token = Token.objects.create(user=user).key
    started = time.perf_counter()
    with open(envelope_path, "wb") as dst:
        result = envelope.seal(
            _Plaintext(mib * MIB), dst, tender_id=tender.reference,
            bidder_id=user.organisation.credit_code,
            recipients=[
                envelope.Recipient("bidder", factories.PRIVATE_KEYS[user.username].public_key()),
            ],
            custody=envelope.Custody(tender.opening_threshold, tuple(  # format v2
                crypto_keys.public_key_from_bytes(bytes(s.custodian_key.point))
                for s in tender.key_shares.order_by("x"))),
        )
    sealed_s = time.perf_counter() - started
    Path(out_path).write_text(json.dumps({
        "tender": tender.pk, "token": token, "size": result.size, "sha256": result.sha256,
        "price_sheet": base64.b64encode(factories.price_sheet_for(tender, user)).decode(),
        "seal_seconds": sealed_s,
        "verify_key": platform_keys.verify_key_b64(),
    }))


def _verify_receipt(receipt: dict, verify_key_b64: str) -> None:
    """Check the receipt offline, as the bidder's tool does (in a child: no Django)."""
    from crypto import keys, receipts

    key = keys.verify_key_from_bytes(base64.b64decode(verify_key_b64))
    receipts.receipt_verify(receipt, key)


# --- the client ------------------------------------------------------------------------


class _Client:
    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
        self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        resp = self.conn.getresponse()
        data = resp.read()
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            payload = {"raw": data[:500].decode(errors="replace")}
        return resp.status, payload

    def close(self) -> None:
        self.conn.close()


def _chunks(path: str, chunk_size: int, size: int, out: queue.Queue) -> None:
    """Read and hash chunks one ahead of the sender (two buffers in flight at most)."""
    try:
        with open(path, "rb", buffering=0) as fh:
            offset = 0
            while offset < size:
                n = min(chunk_size, size - offset)
                buf = bytearray(n)
                view = memoryview(buf)
                got = 0
                while got < n:
                    k = fh.readinto(view[got:])
                    if not k:
                        raise OSError("envelope file shorter than expected")
                    got += k
                out.put((buf, hashlib.sha256(buf).hexdigest()))
                offset += n
        out.put(None)
    except BaseException as exc:  # hand the failure to the sender
        out.put(exc)


def _upload_once(port: int, setup: dict, path: str) -> dict:
    client = _Client(port, setup["token"])
    try:
        t0 = time.perf_counter()
        status, state = client.call(
            "POST", f"/api/tenders/{setup['tender']}/bids/uploads/",
            body=json.dumps({"size": setup["size"], "price_sheet": setup["price_sheet"],
                             "claims": {"tool": "bench_upload"}}),
            headers={"Content-Type": "application/json"})
        if status != 201:
            raise RuntimeError(f"start: HTTP {status} {state}")
        upload_id, chunk_size = state["upload_id"], state["chunk_size"]
        chunks: queue.Queue = queue.Queue(maxsize=1)
        reader = threading.Thread(target=_chunks, args=(path, chunk_size, setup["size"], chunks),
                                  daemon=True)
        reader.start()
        t_chunks = time.perf_counter()
        index = 0
        slowest = 0.0
        retried: list[str] = []
        while True:
            item = chunks.get(timeout=120)
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            buf, digest = item
            while True:
                t = time.perf_counter()
                status, state = client.call(
                    "PUT", f"/api/bids/uploads/{upload_id}/chunks/{index}/", body=buf,
                    headers={"Content-Type": "application/octet-stream",
                             "Content-Length": str(len(buf)), "X-Chunk-SHA256": digest})
                slowest = max(slowest, time.perf_counter() - t)
                if status < 500 or len(retried) >= 5:
                    break
                # A resumable client sends the chunk again; the failure is reported.
                retried.append(f"chunk {index}: HTTP {status}")
                client.close()
                client = _Client(port, setup["token"])
            if status != 200:
                raise RuntimeError(f"chunk {index}: HTTP {status} {state}")
            index += 1
        t_chunks_done = time.perf_counter()
        reader.join(10)
        status, bid = client.call("POST", f"/api/bids/uploads/{upload_id}/complete/")
        t1 = time.perf_counter()
        if status != 201:
            raise RuntimeError(f"complete: HTTP {status} {bid}")
        if bid["sha256"] != setup["sha256"] or bid["receipt"]["sha256"] != setup["sha256"]:
            raise RuntimeError("receipt digest differs from the uploaded file's")
        _verify_receipt(bid["receipt"], setup["verify_key"])
        return {
            "chunks": index, "chunk_size": chunk_size,
            "total_s": t1 - t0, "chunks_s": t_chunks_done - t_chunks,
            "complete_s": t1 - t_chunks_done, "slowest_chunk_s": slowest,
            "retried": retried,
        }
    finally:
        client.close()


def _bare_once(port: int, path: str, size: int, chunk_size: int) -> float:
    """Seconds to PUT the file in chunks to ``bare_receive`` (the same client loop)."""
    client = _Client(port, "-")
    chunks: queue.Queue = queue.Queue(maxsize=1)
    reader = threading.Thread(target=_chunks, args=(path, chunk_size, size, chunks),
                              daemon=True)
    try:
        reader.start()
        t0 = time.perf_counter()
        while (item := chunks.get(timeout=120)) is not None:
            if isinstance(item, BaseException):
                raise item
            buf, digest = item
            status, body = client.call("PUT", "/bare/", body=buf, headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(len(buf)), "X-Chunk-SHA256": digest})
            if status != 200 or body.get("received") != len(buf):
                raise RuntimeError(f"bare receiver: HTTP {status} {body}")
        return time.perf_counter() - t0
    finally:
        reader.join(10)
        client.close()


def _protocol_checks(port: int, setup: dict, path: str) -> str:
    """On the real ASGI path, before measuring: an altered chunk and a chunk out of
    order are refused and leave nothing behind; the right chunk is then accepted."""
    client = _Client(port, setup["token"])
    try:
        status, state = client.call(
            "POST", f"/api/tenders/{setup['tender']}/bids/uploads/",
            body=json.dumps({"size": setup["size"], "price_sheet": setup["price_sheet"]}),
            headers={"Content-Type": "application/json"})
        assert status == 201, (status, state)
        uid, n = state["upload_id"], min(state["chunk_size"], setup["size"])
        with open(path, "rb") as fh:
            chunk = fh.read(n)
        good = hashlib.sha256(chunk).hexdigest()
        put = f"/api/bids/uploads/{uid}/chunks/"
        octet = {"Content-Type": "application/octet-stream"}
        status, body = client.call("PUT", put + "0/", body=chunk,
                                   headers={**octet, "X-Chunk-SHA256": "0" * 64})
        assert status == 400 and body["error"]["code"] == "chunk_incomplete", (status, body)
        status, body = client.call("PUT", put + "1/", body=chunk,
                                   headers={**octet, "X-Chunk-SHA256": good})
        assert status == 409 and body["error"]["code"] == "chunk_out_of_order", (status, body)
        status, state = client.call("GET", f"/api/bids/uploads/{uid}/")
        assert (state["next_index"], state["received_bytes"]) == (0, 0), state
        # Declared over the chunk size: the answer comes before any of the body is sent.
        conn = client.conn
        conn.putrequest("PUT", put + "0/")
        for k, v in {**client.headers, **octet, "X-Chunk-SHA256": good,
                     "Content-Length": str(state["chunk_size"] + 1)}.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 413 and body["error"]["code"] == "request_too_large", body
        client.close()  # the server closes after refusing a body it did not read
        client = _Client(port, setup["token"])
        status, state = client.call("PUT", put + "0/", body=chunk,
                                    headers={**octet, "X-Chunk-SHA256": good})
        assert status == 200 and state["chunk_sha256"] == [good], (status, state)
        status, _ = client.call("DELETE", f"/api/bids/uploads/{uid}/")
        assert status == 204, status
        return "ok"
    finally:
        client.close()


def _bench_dir(size: int) -> Path:
    wanted = os.environ.get("BENCH_DIR")
    if wanted:
        return Path(wanted)
    try:
        if shutil.disk_usage("/dev/shm").free > 2 * size + 512 * MIB:
            return Path("/dev/shm")
    except OSError:
        pass
    return Path(os.environ.get("TMPDIR", "/tmp"))


def _disk_once(directory: Path, path: str, size: int, chunk_size: int,
               early: bool = False) -> float:
    """Seconds to write the file's bytes to ``directory`` (the server's media directory,
    so the same filesystem) in the upload's chunks, each synced (``fdatasync``) before
    the next: what the disk takes for the bytes the server must have on disk before it
    acknowledges each chunk, with no network and no hashing. ``early``: the writeback of
    each 1 MiB block is started as soon as it is written (``POSIX_FADV_DONTNEED``), as
    the server does (``bids._start_writeback``)."""
    target = directory / f"bench-disk-{os.getpid()}.bin"
    buf = bytearray(MIB)
    view = memoryview(buf)
    try:
        with open(path, "rb", buffering=0) as src, open(target, "wb", buffering=0) as dst:
            fd = dst.fileno()
            t0 = time.perf_counter()
            done = 0
            while done < size:
                end = min(size, done + chunk_size)
                while done < end:
                    got = src.readinto(view[:min(MIB, end - done)])
                    if not got:
                        raise RuntimeError("the envelope file ended early")
                    written = 0
                    while written < got:
                        written += os.write(fd, view[written:got])
                    if early:
                        os.posix_fadvise(fd, done, got, os.POSIX_FADV_DONTNEED)
                    done += got
                os.fdatasync(fd)
            return time.perf_counter() - t0
    finally:
        target.unlink(missing_ok=True)


def main() -> list[dict]:
    mib = int(os.environ.get("BENCH_UPLOAD_MIB", "1024"))
    rounds = int(os.environ.get("BENCH_UPLOAD_ROUNDS", "3"))
    use_pg = os.environ.get("BENCH_UPLOAD_STACK", "sqlite") == "pg"
    timeout = float(os.environ.get("BENCH_UPLOAD_TIMEOUT", "280"))
    rows: list[dict] = []
    notes: list[str] = []
    server_errors = None
    load_start = load()
    with Stack("upload", postgres=use_pg, redis=use_pg, timeout=timeout) as stack:
        envelope_path = _bench_dir(mib * MIB) / f"ggzy-bench-upload-{os.getpid()}.ggzy"
        try:
            stack.manage("migrate", "--noinput", timeout=stack.left(300))
            setup_path = stack.dir / "setup.json"
            stack.python("-m", "bench.bench_upload", "--setup", str(setup_path),
                         str(envelope_path), str(mib), timeout=stack.left(1800))
            setup = json.loads(setup_path.read_text())
            server = stack.start_uvicorn("web")
            bare = stack.start_uvicorn("bare", app="bench.bench_upload:bare_receive")
            # One small request first so the measured upload does not pay for imports.
            _Client(server.port, setup["token"]).call("GET", "/api/notifications/")
            checks = _protocol_checks(server.port, setup, str(envelope_path))
            rss_before = server.rss()
            hwm_before = server.peak_rss()
            chunk_size = None
            for n in range(rounds):
                r = _upload_once(server.port, setup, str(envelope_path))
                peak = server.peak_rss()
                chunk_size = r["chunk_size"]
                e2e = setup["size"] / 1e6 / r["total_s"]
                chunks_mb_s = setup["size"] / 1e6 / r["chunks_s"]
                row = {
                    "round": n + 1,
                    "envelope_MiB": round(setup["size"] / MIB, 1),
                    "chunks": f"{r['chunks']} x {r['chunk_size'] // MIB} MiB",
                    "end_to_end_MB/s": round(e2e, 1),
                    f">={TARGET_MB_S:.0f}": met(e2e >= TARGET_MB_S),
                    "chunks_MB/s": round(chunks_mb_s, 1),
                    f">={TARGET_MB_S:.0f} ": met(chunks_mb_s >= TARGET_MB_S),
                    "total_s": round(r["total_s"], 2),
                    "complete_s": round(r["complete_s"], 2),
                    "slowest_chunk_ms": round(r["slowest_chunk_s"] * 1000, 1),
                    "server_rss_before_MiB": round(rss_before / MIB, 1),
                    "server_peak_MiB": round(peak / MIB, 1),
                    f"<={TARGET_RSS_MIB:.0f}": met(peak / MIB <= TARGET_RSS_MIB),
                    "receipt": "ok",
                    "resent_5xx": len(r["retried"]),
                    "load": load(),
                }
                if r["retried"]:
                    notes.append(f"round {n + 1}: " + ", ".join(r["retried"]))
                rows.append(row)
            bare_s = _bare_once(bare.port, str(envelope_path), setup["size"], chunk_size)
            bare_row = {"bare_uvicorn_receive_MB/s": round(setup["size"] / 1e6 / bare_s, 1),
                        "load": load()}
            disk_s = _disk_once(stack.dir / "media", str(envelope_path), setup["size"],
                                chunk_size)
            early_s = _disk_once(stack.dir / "media", str(envelope_path), setup["size"],
                                 chunk_size, early=True)
            disk_row = {"MB/s": round(setup["size"] / 1e6 / disk_s, 1),
                        "early_MB/s": round(setup["size"] / 1e6 / early_s, 1), "load": load()}
            server_errors = server.exceptions()
        finally:
            envelope_path.unlink(missing_ok=True)
    print(f"sealing {mib} MiB took {setup['seal_seconds']:.1f} s (not measured); "
          f"stack: {'PostgreSQL + Redis' if use_pg else 'embedded SQLite'}, 1 uvicorn process; "
          f"server VmHWM after warm-up {hwm_before / MIB:.1f} MiB; protocol checks on the "
          f"ASGI path (altered and out-of-order chunks refused, nothing kept; a body over "
          f"the chunk size refused with 413): {checks}; load at start {load_start}")
    print_table(rows)
    if notes or server_errors:
        print("server errors: " + "; ".join(notes) + ("; in its log: " + "; ".join(
            f"{k} x{v}" for k, v in server_errors.most_common(4)) if server_errors else ""))
    speeds = sorted(r["end_to_end_MB/s"] for r in rows)
    chunk_speeds = sorted(r["chunks_MB/s"] for r in rows)
    best, median = speeds[-1], speeds[len(speeds) // 2]
    peak = max(r["server_peak_MiB"] for r in rows)
    print(f"scale: the same chunks PUT to a bare ASGI receiver on uvicorn (no Django, no "
          f"disk, no hashing): {bare_row['bare_uvicorn_receive_MB/s']} MB/s "
          f"(load {bare_row['load']}); best end to end is "
          f"{best / bare_row['bare_uvicorn_receive_MB/s']:.0%} of it")
    print(f"disk: the same bytes written to the server's media directory in the same "
          f"chunks, each synced before the next (no network, no hashing): "
          f"{disk_row['MB/s']} MB/s written plainly, {disk_row['early_MB/s']} MB/s with "
          f"each block's writeback started as it is written, as the server does (load "
          f"{disk_row['load']}); best end to end is "
          f"{best / max(disk_row['MB/s'], disk_row['early_MB/s']):.0%} of the faster")
    print(f"target >= {TARGET_MB_S:.0f} MB/s end to end: best {best} MB/s "
          f"({met(best >= TARGET_MB_S)}), median {median} MB/s "
          f"({met(median >= TARGET_MB_S)}); chunks: best "
          f"{chunk_speeds[-1]} MB/s ({met(chunk_speeds[-1] >= TARGET_MB_S)}); server peak <= "
          f"{TARGET_RSS_MIB:.0f} MiB: {met(peak <= TARGET_RSS_MIB)} ({peak} MiB over all "
          f"rounds); load at the end {load()}")
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        _setup(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
