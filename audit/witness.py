"""A witness for the audit log: cosigns a tree head only if it extends the last one.

Run it on a machine the platform's operators do not control::

    python -m audit.witness --port 8701 --state-dir var/witness [--platform-key platform.pem]

Standard library HTTP and ``crypto`` only: no Django, no database. Its state directory
holds its own Ed25519 key (``witness_key.pem``, created once, mode 0600), the public half
(``witness_key.pub``, give it to verifiers to pin), the platform key it trusts
(``platform_key.pem``: ``--platform-key``, else the key sent with the first tree head,
kept from then on) and the last tree head it cosigned (``latest.json``).

Protocol (JSON):

``GET /key``
    ``{"public_key": PEM, "fingerprint": hex}``
``GET /latest``
    ``{"sth": the last cosigned tree head or null, "cosignature": its cosignature or null}``
``POST /cosign`` with ``{"sth": STH, "consistency": {"first": m, "proof": [hex, ...]},
"platform_key": PEM}``
    ``200 {"cosignature": ...}`` when the STH is signed by the trusted platform key and
    either it is the first one, or ``first`` equals the size of the last cosigned head
    and the proof shows the last head is a prefix of the new one (RFC 9162 2.1.4.2).
    ``409 {"error": why}`` otherwise (a smaller tree, a different root for the same size,
    a proof that fails: a log that was cut or rewritten), ``400`` for malformed input.

Because the witness never cosigns a head that is not an extension of what it cosigned
before, the platform cannot show one history to the witness and another to anybody else
without the two disagreeing; and the witness's copy survives whatever happens to the
platform's database.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from crypto import keys, log
from crypto.errors import CryptoError

MAX_BODY = 1 << 20


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` once with mode 0600; never overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Witness:
    """The witness's state and its one decision (``cosign``); the HTTP layer is below."""

    def __init__(self, state_dir: str | os.PathLike, platform_key_pem: bytes | None = None):
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self._lock = threading.Lock()
        key_path = self.dir / "witness_key.pem"
        if not key_path.exists():
            try:
                _write_private(key_path, keys.signing_key_to_pem(keys.generate_signing_key(),
                                                                 None))
            except FileExistsError:
                pass
        self.key = keys.signing_key_from_pem(key_path.read_bytes(), None)
        pub_path = self.dir / "witness_key.pub"
        public_pem = keys.public_key_to_pem(self.key.public_key())
        if not pub_path.exists():
            _write_atomic(pub_path, public_pem)
        self.public_pem = public_pem.decode("ascii")
        platform_path = self.dir / "platform_key.pem"
        if platform_key_pem:
            given = keys.verify_key_from_pem(platform_key_pem)
            if platform_path.exists():
                kept = keys.verify_key_from_pem(platform_path.read_bytes())
                if keys.key_fingerprint(kept) != keys.key_fingerprint(given):
                    raise SystemExit(f"{platform_path} pins another platform key; "
                                     "remove it deliberately to change the pin")
            else:
                _write_atomic(platform_path, platform_key_pem)

    # -- state ---------------------------------------------------------------------

    def platform_key(self):
        path = self.dir / "platform_key.pem"
        return keys.verify_key_from_pem(path.read_bytes()) if path.exists() else None

    def latest(self) -> dict:
        path = self.dir / "latest.json"
        if not path.exists():
            return {"sth": None, "cosignature": None}
        return json.loads(path.read_text("utf-8"))

    # -- the decision --------------------------------------------------------------

    def cosign(self, request: dict) -> dict:
        """Cosign ``request["sth"]`` if it is consistent with the last cosigned head."""
        if not isinstance(request, dict) or not isinstance(request.get("sth"), dict):
            raise Refused(400, "send {\"sth\": ..., \"consistency\": ...}")
        sth = request["sth"]
        with self._lock:
            pinned = self.platform_key()
            if pinned is None:
                pem = request.get("platform_key")
                if not isinstance(pem, str):
                    raise Refused(400, "no platform key is pinned yet: send platform_key")
                try:
                    pinned = keys.verify_key_from_pem(pem.encode("ascii"))
                except (CryptoError, ValueError) as exc:
                    raise Refused(400, f"platform_key is not an Ed25519 PEM: {exc}") from exc
                first_contact = True
            else:
                first_contact = False
            try:
                head = log.sth_verify(sth, pinned)
            except CryptoError as exc:
                raise Refused(409, f"the tree head is not signed by the platform key: {exc}")
            last = self.latest().get("sth")
            if last:
                self._check_consistent(last, head, request.get("consistency"))
            now = datetime.now(UTC).isoformat(timespec="microseconds")
            cosignature = log.cosign(self.key, sth, time=now)
            if first_contact:
                _write_atomic(self.dir / "platform_key.pem", keys.public_key_to_pem(pinned))
            _write_atomic(self.dir / "latest.json", json.dumps(
                {"sth": sth, "cosignature": cosignature}, sort_keys=True).encode("utf-8"))
            with open(self.dir / "cosigned.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"sth": sth, "cosignature": cosignature},
                                    sort_keys=True) + "\n")
            return cosignature

    @staticmethod
    def _check_consistent(last: dict, head: dict, consistency) -> None:
        old_size, new_size = last["size"], head["size"]
        if new_size < old_size:
            raise Refused(409, f"the log shrank: cosigned {old_size} events before, now "
                               f"{new_size} (a cut log)")
        if new_size == old_size:
            if head["root"] != last["root"]:
                raise Refused(409, f"a different root for the same {new_size} events "
                                   "(a rewritten log)")
            return
        if not isinstance(consistency, dict) or consistency.get("first") != old_size:
            raise Refused(409, f"send the consistency proof from size {old_size}, the last "
                               "tree head this witness cosigned")
        try:
            proof = log.hex_list(consistency.get("proof"), "proof")
            log.verify_consistency(old_size, new_size, bytes.fromhex(last["root"]),
                                   bytes.fromhex(head["root"]), proof)
        except CryptoError as exc:
            raise Refused(409, f"not consistent with the tree head cosigned before "
                               f"(size {old_size}): {exc}") from exc


def make_handler(witness: Witness):
    class Handler(BaseHTTPRequestHandler):
        server_version = "ggzy-witness/1"

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body, sort_keys=True).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/key":
                self._send(200, {"public_key": witness.public_pem,
                                 "fingerprint": keys.key_fingerprint(witness.key)})
            elif path == "/latest":
                self._send(200, witness.latest())
            else:
                self._send(404, {"error": "unknown path"})

        def do_POST(self):  # noqa: N802
            if self.path.split("?", 1)[0].rstrip("/") != "/cosign":
                self._send(404, {"error": "unknown path"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY:
                    raise Refused(400, "send a JSON body of at most 1 MiB")
                try:
                    request = json.loads(self.rfile.read(length).decode("utf-8"))
                except ValueError as exc:
                    raise Refused(400, f"not JSON: {exc}") from exc
                self._send(200, {"cosignature": witness.cosign(request)})
            except Refused as exc:
                self._send(exc.status, {"error": str(exc)})
            except (CryptoError, KeyError, TypeError, ValueError) as exc:
                self._send(400, {"error": f"malformed request: {exc}"})

        def log_message(self, fmt, *args):  # quieter than the default: one line per call
            if os.environ.get("WITNESS_QUIET") != "1":
                super().log_message(fmt, *args)

    return Handler


def serve(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0: any free one); call ``serve_forever``."""
    return ThreadingHTTPServer((host, port), make_handler(witness))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m audit.witness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--state-dir", default="var/witness")
    parser.add_argument("--platform-key", metavar="PEM",
                        help="pin the platform's verify key (else the first one sent)")
    args = parser.parse_args(argv)
    pem = Path(args.platform_key).read_bytes() if args.platform_key else None
    witness = Witness(args.state_dir, pem)
    server = serve(witness, args.host, args.port)
    print(f"witness {keys.key_fingerprint(witness.key)[:16]} listening on "
          f"http://{args.host}:{server.server_address[1]} (state in {args.state_dir})",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
