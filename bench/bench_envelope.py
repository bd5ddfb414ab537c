"""Benchmark: seal and open a large file, against ``age`` in the same run.

Run with ``python bench/bench_envelope.py`` or ``make bench ONLY=envelope``
(``bench/run.py`` calls :func:`main`). Environment:

* ``BENCH_SIZE_MIB``: file size (default 1024 MiB);
* ``BENCH_REPEAT``: rounds (default 5; on a loaded machine fewer, at least 3,
  when the time limit would not allow the next round: the table says how many);
* ``BENCH_WARMUP``: rounds run first and not counted (default 1). On a machine that
  has just started, the first 1 GiB written to tmpfs costs every tool 3 s or more,
  whoever writes it (the memory is touched for the first time); a warm-up round
  keeps that out of the medians, for ``age`` and for us alike;
* ``BENCH_DIR``: where the files go (default ``/dev/shm`` when it has room, so
  the disk's write-back does not decide the result);
* ``BENCH_TIMEOUT``: seconds the whole benchmark may take (default 285). A run
  that would pass it is killed and the benchmark fails with ``TimeoutError``:
  it cannot hang.

Every seal, open, ``age`` and ``age -d`` runs in a fresh child process under GNU
``time``, so its wall time includes interpreter start-up and its peak RSS and
CPU time (user + sys, from ``wait4``) are its own. The tools alternate within
each round, and the order is reversed every other round, so a slow spell of
this shared machine does not land on one tool only. Figures are medians.

Targets (issue 16), each printed with MET or MISSED:

* seal, no digest (like ``age``, it only encrypts and writes): wall time at most
  1/1.5 of ``age``'s (">= 1.5x age"), CPU time at most ``age``'s;
* seal + SHA-256 of the envelope (``python -m ggzy_bid seal``'s default):
  ">= 1.25x age" wall; ``age`` computes no such digest;
* unwrap + open without the envelope's SHA-256 (like ``age -d``, it only
  decrypts and writes; what the server needs, it knows the digest already):
  ">= 1.5x age -d" wall, CPU time at most ``age -d``'s;
* unwrap + open + SHA-256 (``python -m ggzy_bid open``, which prints the
  digest) against the same two targets, so the cost of the digest shows;
* peak RSS of every seal and open at most 64 MiB.

CPU time is the trustworthy figure on a shared machine; wall-time ratios move
with the load, so the load average is printed before and after.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
SEAL_WALL_RATIO = 1.5
SEAL_DIGEST_WALL_RATIO = 1.25
OPEN_WALL_RATIO = 1.5
TARGET_RSS_MIB = 64
DEFAULT_TIMEOUT = 285.0
#: Fewer rounds than this and the benchmark fails rather than report a median.
MIN_ROUNDS = 3
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def _child(argv: list[str]) -> None:
    """Run one seal or open in this (fresh) process."""
    sys.path.insert(0, str(ROOT))
    from crypto import envelope, keys

    op, src, dst, key_dir = argv
    kd = Path(key_dir)
    if op in ("seal", "seal+digest"):
        recipients = [
            envelope.Recipient(
                label, keys.p256_public_key_from_pem((kd / f"{label}.pub").read_bytes())
            )
            for label in ("bidder", "opening")
        ]
        with open(src, "rb", buffering=0) as f, open(dst, "wb", buffering=0) as g:
            envelope.seal(
                f,
                g,
                tender_id="BENCH-1",
                bidder_id="B-1",
                recipients=recipients,
                digest=op == "seal+digest",
            )
    else:
        key = keys.p256_private_key_from_pem((kd / "opening.key").read_bytes(), None)
        with open(src, "rb", buffering=0) as f:
            data_key = envelope.unwrap_data_key(f, key, label="opening")
            f.seek(0)
            with open(dst, "wb", buffering=0) as g:
                envelope.open_envelope(f, g, data_key, digest=op == "open+digest")


class _Clock:
    """The benchmark's deadline: every step asks it how long it may still take."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self, what: str) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError(
                f"bench_envelope passed its {self.seconds:.0f} s limit before {what}"
            )
        return left


def _is_tmpfs(path: Path) -> bool:
    best, fstype = "", ""
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                parts = line.split()
                mount = parts[1]
                if str(path).startswith(mount) and len(mount) > len(best):
                    best, fstype = mount, parts[2]
    except OSError:
        return False
    return fstype == "tmpfs"


def _measure(cmd: list[str], clock: _Clock, *, sync: bool) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (MiB) of one child.

    The child runs under GNU ``time`` when present: a process started straight
    from this one would inherit this process's RSS high-water mark through
    ``vfork``/``exec`` and report it as its own. The CPU time comes from
    ``wait4`` and covers GNU ``time`` and the command it waited for. A child that
    outlives the benchmark's deadline is killed (with its process group) and the
    benchmark fails.
    """
    if sync:
        os.sync()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        wrapped = [GNU_TIME, "-f", "%M", "-o", report.name, *cmd] if GNU_TIME else cmd
        left = clock.left(f"running {Path(cmd[0]).name}")
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped, stdout=subprocess.DEVNULL, start_new_session=True
        )
        try:
            status, usage = _wait(proc, left)
        except BaseException:
            _kill(proc)
            raise
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code:
            raise RuntimeError(f"{cmd[0]} {cmd[1:3]} failed with exit status {code}")
        kib = int(report.read().split()[-1]) if GNU_TIME else usage.ru_maxrss
    return elapsed, usage.ru_utime + usage.ru_stime, kib / 1024


def _wait(proc: subprocess.Popen, timeout: float):
    """``wait4`` the child; a watchdog kills its process group at ``timeout``."""
    fired = threading.Event()

    def kill() -> None:
        fired.set()
        _kill_group(proc)

    watchdog = threading.Timer(timeout, kill)
    watchdog.daemon = True
    watchdog.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if fired.is_set():
        raise TimeoutError(
            f"a benchmark run ({' '.join(proc.args[-4:-1])}) did not finish "
            f"in {timeout:.0f} s and was killed"
        )
    return status, usage


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill(proc: subprocess.Popen) -> None:
    if proc.returncode is not None:
        return
    _kill_group(proc)
    proc.wait()


def _run_rounds(
    jobs: list[tuple[str, list[str], Path]], repeat: int, clock: _Clock, *, sync: bool,
    warmup: int = 0,
) -> dict:
    """``warmup`` rounds of every job whose figures are dropped, then ``repeat`` rounds
    of every job, alternating; the order flips every round.

    When the time left is too short for another round (the slowest so far,
    plus half), it stops early but after at least ``MIN_ROUNDS`` rounds; the
    number of rounds used is returned under ``"rounds"``.

    Returns ``{name: {"wall": median s, "cpu": median s, "rss": highest MiB,
    "walls": [...], "cpus": [...]}}``.
    """
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in jobs}
    for _ in range(warmup):
        for _name, cmd, out in jobs:  # list order: open and age -d find their input
            out.unlink(missing_ok=True)
            _measure(cmd, clock, sync=sync)
    slowest = 0.0
    rounds = 0
    for round_no in range(repeat):
        if rounds >= MIN_ROUNDS and clock.left("another round") < 1.5 * slowest:
            break
        start = time.monotonic()
        # Round 0 runs in list order, so open and age -d find their input.
        order = jobs if round_no % 2 == 0 else list(reversed(jobs))
        for name, cmd, out in order:
            out.unlink(missing_ok=True)
            runs[name].append(_measure(cmd, clock, sync=sync))
        rounds += 1
        slowest = max(slowest, time.monotonic() - start)
    return {"rounds": rounds} | {
        name: {
            "wall": statistics.median(r[0] for r in rs),
            "cpu": statistics.median(r[1] for r in rs),
            "rss": max(r[2] for r in rs),
            "walls": [r[0] for r in rs],
            "cpus": [r[1] for r in rs],
        }
        for name, rs in runs.items()
    }


def _default_dir(size: int) -> str | None:
    """``/dev/shm`` when it has room (5 copies of the file), else the temp dir."""
    try:
        free = shutil.disk_usage("/dev/shm").free
    except OSError:
        return None
    return "/dev/shm" if free > 6 * size else None


def _make_input(path: Path, size: int) -> None:
    block = os.urandom(16 * MIB)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    buf = memoryview(bytearray(4 * MIB))
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(buf[:n])
    return h.hexdigest()


def _in_memory_references() -> dict[str, float]:
    """Seconds for raw AES-256-GCM and SHA-256 over 64 MiB in this process."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    size = 64 * MIB
    data = memoryview(os.urandom(size))
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    out = bytearray(MIB + 16)
    best_aes = best_sha = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(0, size, MIB):
            aead.encrypt_into(i.to_bytes(12, "big"), data[i : i + MIB], b"", out)
        best_aes = min(best_aes, time.perf_counter() - start)
        start = time.perf_counter()
        hashlib.sha256(data).digest()
        best_sha = min(best_sha, time.perf_counter() - start)
    return {"aes": size / MIB / best_aes, "sha": size / MIB / best_sha}


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _targets(res: dict) -> list[dict]:
    """The issue-16 measures: value, target and whether it was met."""
    rows: list[dict] = []
    worst_rss = max(res[n]["rss"] for n in ("seal", "seal+digest", "open", "open+digest"))
    if "age" in res:
        age, age_d = res["age"], res["age -d"]

        def wall_row(name: str, ours: dict, ref: dict, ref_name: str, want: float):
            ratio = ref["wall"] / ours["wall"]
            rows.append({
                "measure": f"{name}: wall",
                "value": f"{ours['wall']:.3f} s = {ratio:.2f}x {ref_name}",
                "reference": f"{ref_name} {ref['wall']:.3f} s",
                "target": f">= {want}x {ref_name}",
                "met": ratio >= want,
                "ratio": round(ratio, 2),
            })

        def cpu_row(name: str, ours: dict, ref: dict, ref_name: str):
            rows.append({
                "measure": f"{name}: CPU (user+sys)",
                "value": f"{ours['cpu']:.3f} s = {ours['cpu'] / ref['cpu']:.2f}x",
                "reference": f"{ref_name} {ref['cpu']:.3f} s",
                "target": f"<= {ref_name}'s",
                "met": ours["cpu"] <= ref["cpu"],
                "ratio": round(ours["cpu"] / ref["cpu"], 2),
            })

        wall_row("seal, no digest", res["seal"], age, "age", SEAL_WALL_RATIO)
        cpu_row("seal, no digest", res["seal"], age, "age")
        wall_row("seal + SHA-256", res["seal+digest"], age, "age", SEAL_DIGEST_WALL_RATIO)
        wall_row("open, no digest", res["open"], age_d, "age -d", OPEN_WALL_RATIO)
        cpu_row("open, no digest", res["open"], age_d, "age -d")
        wall_row("open + SHA-256", res["open+digest"], age_d, "age -d", OPEN_WALL_RATIO)
        cpu_row("open + SHA-256", res["open+digest"], age_d, "age -d")
    rows.append({
        "measure": "peak RSS, seal and open",
        "value": f"{worst_rss:.1f} MiB",
        "reference": "",
        "target": f"<= {TARGET_RSS_MIB} MiB",
        "met": worst_rss <= TARGET_RSS_MIB,
        "ratio": None,
    })
    return rows


def _print(res: dict, targets: list[dict], refs: dict, info: dict) -> None:
    print(
        f"\nEnvelope benchmark: {info['size_mib']} MiB file in {info['where']}, "
        f"{os.cpu_count()} CPU(s), median of {info['rounds']} alternating runs "
        f"({info['repeat']} asked) after {info['warmup']} warm-up round(s) not counted, "
        f"each a fresh process under GNU time"
    )
    print(f"load average (1, 5, 15 min) before: {info['load_before']}")
    head = (f"{'run':<34} {'wall s':>7} {'MiB/s':>7} {'CPU s':>7} {'peak RSS MiB':>13}  "
            f"{'walls':<29}  CPU times")
    print(head)
    print("-" * len(head))
    names = {
        "seal": "ggzy seal, no digest (2 recipients)",
        "seal+digest": "ggzy seal + SHA-256",
        "open": "ggzy unwrap + open, no digest",
        "open+digest": "ggzy unwrap + open + SHA-256",
        "age": "age 1 recipient (X25519)",
        "age -d": "age -d",
    }
    for key, label in names.items():
        if key not in res:
            continue
        r = res[key]
        walls = " ".join(f"{w:.2f}" for w in r["walls"])
        cpus = " ".join(f"{c:.2f}" for c in r["cpus"])
        print(
            f"{label:<34} {r['wall']:>7.3f} {info['size_mib'] / r['wall']:>7.0f} "
            f"{r['cpu']:>7.3f} {r['rss']:>13.1f}  {walls:<29}  {cpus}"
        )
    print(
        f"in memory, this process: AES-256-GCM {refs['aes']:.0f} MiB/s, "
        f"SHA-256 {refs['sha']:.0f} MiB/s"
    )
    print()
    head = f"{'measure':<32} {'value':<24} {'reference':<20} {'target':<16} result"
    print(head)
    print("-" * len(head))
    for t in targets:
        print(
            f"{t['measure']:<32} {t['value']:<24} {t['reference']:<20} "
            f"{t['target']:<16} {'MET' if t['met'] else 'MISSED'}"
        )
    if "age" not in res:
        print("age is not installed: the comparisons with age were not measured")
    if not GNU_TIME:
        print("(no /usr/bin/time: peak RSS includes the launcher's own)")
    print(f"load average (1, 5, 15 min) after:  {info['load_after']}")


def main() -> list[dict]:
    """Run the benchmark, print its tables and return the target rows.

    Raises ``TimeoutError`` if it cannot finish within ``BENCH_TIMEOUT`` seconds.
    """
    size_mib = int(os.environ.get("BENCH_SIZE_MIB", "1024"))
    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    warmup = int(os.environ.get("BENCH_WARMUP", "1"))
    clock = _Clock(float(os.environ.get("BENCH_TIMEOUT", DEFAULT_TIMEOUT)))
    size = size_mib * MIB
    base = os.environ.get("BENCH_DIR") or _default_dir(size)
    tmp = Path(tempfile.mkdtemp(prefix="bench-envelope-", dir=base))
    age = shutil.which("age")
    age_keygen = shutil.which("age-keygen")
    load_before = _load()
    try:
        sys.path.insert(0, str(ROOT))
        from crypto import keys

        for label in ("bidder", "opening"):
            key = keys.generate_private_key()
            (tmp / f"{label}.key").write_bytes(keys.private_key_to_pem(key, None))
            (tmp / f"{label}.pub").write_bytes(keys.public_key_to_pem(key.public_key()))
        plain = tmp / "input.bin"
        _make_input(plain, size)
        env_file, dec_file = tmp / "out.env", tmp / "out.dec"
        env_digest, dec_digest = tmp / "out-digest.env", tmp / "out-digest.dec"
        me = [sys.executable, str(Path(__file__).resolve()), "--child"]
        jobs = [
            ("seal", [*me, "seal", str(plain), str(env_file), str(tmp)], env_file),
            (
                "seal+digest",
                [*me, "seal+digest", str(plain), str(env_digest), str(tmp)],
                env_digest,
            ),
            ("open", [*me, "open", str(env_file), str(dec_file), str(tmp)], dec_file),
            (
                "open+digest",
                [*me, "open+digest", str(env_file), str(dec_digest), str(tmp)],
                dec_digest,
            ),
        ]
        if age and age_keygen:
            identity = tmp / "age.key"
            subprocess.run(
                [age_keygen, "-o", str(identity)], check=True, capture_output=True
            )
            recipient = subprocess.run(
                [age_keygen, "-y", str(identity)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            age_out, age_dec = tmp / "out.age", tmp / "out.age.dec"
            # age runs right after seal and age -d right after open, so each pair
            # meets the same moment of the machine.
            jobs[1:1] = [
                ("age", [age, "-r", recipient, "-o", str(age_out), str(plain)], age_out)
            ]
            jobs.append(
                (
                    "age -d",
                    [age, "-d", "-i", str(identity), "-o", str(age_dec), str(age_out)],
                    age_dec,
                )
            )
        res = _run_rounds(jobs, repeat, clock, sync=not _is_tmpfs(tmp), warmup=warmup)
        rounds = res.pop("rounds")
        clock.left("checking the opened file")
        if _file_sha256(dec_file) != _file_sha256(plain):
            raise RuntimeError("the opened file differs from the input")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    clock.left("the in-memory references")
    refs = _in_memory_references()
    targets = _targets(res)
    _print(
        res,
        targets,
        refs,
        {
            "size_mib": size_mib,
            "where": base or tempfile.gettempdir(),
            "repeat": repeat,
            "warmup": warmup,
            "rounds": rounds,
            "load_before": load_before,
            "load_after": _load(),
        },
    )
    return targets


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        main()
