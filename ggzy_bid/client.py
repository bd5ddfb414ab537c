"""The platform's REST API, as the bidder's tool uses it (standard library only).

:class:`Client` speaks JSON with token authentication over ``http.client``.
Every failure becomes a :class:`ClientError` with one line of text:

* the API's refusals (``{"error": {"status", "code", "message", "fields"}}``)
  become :class:`ApiError`, whose text is the message and the field messages;
* a server that cannot be reached becomes :class:`Unreachable` (connection
  refused, unknown host, timeout, connection reset). Callers retry these where a
  retry is safe.

:func:`submit_envelope` sends an envelope of at most ``SINGLE_REQUEST_BYTES`` in one
request (``POST /api/tenders/{id}/bids/``, multipart, streamed from the file).

:func:`upload_envelope` runs the resumable upload protocol of
``bidding/bids_api.py`` for a sealed envelope on disk: it streams each chunk
from the file (memory stays constant whatever the size), sends its SHA-256 in
``X-Chunk-SHA256``, retries broken connections, asks the server where to resume
(``next_index``), checks that the chunks the server already holds are the
file's own, and computes the envelope's SHA-256 on the way, so sealing need not.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

TOOL = "ggzy-bid"
TOOL_VERSION = "1"
USER_AGENT = (
    f"{TOOL}/{TOOL_VERSION} (python -m ggzy_bid; Python "
    f"{sys.version_info.major}.{sys.version_info.minor})"
)
DEFAULT_TIMEOUT = 120.0
DEFAULT_RETRIES = 5
BLOCK = 1024 * 1024
#: An envelope at most this large goes in one request; a larger one through the
#: resumable upload. (The server takes up to one upload chunk in one request,
#: ``BID_UPLOAD_CHUNK_BYTES``, 32 MiB by default; one set lower refuses, and the tool
#: falls back to the resumable upload.)
SINGLE_REQUEST_BYTES = 8 * 1024 * 1024
#: Items every sealed price sheet states (the tender may ask for more, under "items").
STANDARD_PRICE_SHEET_ITEMS = (
    "total_price",
    "duration_days",
    "quality",
    "project_manager",
    "project_manager_id",
)


class ClientError(Exception):
    """A failure to report as one line."""


class Unreachable(ClientError):
    """The server could not be reached or the connection broke (retryable)."""


class TooLargeForOneRequest(ClientError):
    """The server takes this envelope only through the resumable upload."""


class ApiError(ClientError):
    """The API refused a request; the text is its message and field messages."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str = "error",
        fields: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.fields = fields or {}

    @classmethod
    def from_response(cls, status: int, reason: str, body: bytes) -> ApiError:
        try:
            err = json.loads(body.decode("utf-8"))["error"]
            message = str(err.get("message") or "").strip()
            code = str(err.get("code") or "error")
            fields = err.get("fields") if isinstance(err.get("fields"), dict) else {}
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            return cls(f"the server answered HTTP {status} {reason}".strip(), status=status)
        extra = [m for m in _field_messages(fields) if m and m not in message]
        text = "; ".join([message or f"HTTP {status} {reason}".strip(), *extra])
        return cls(text, status=status, code=code, fields=fields)


def _field_messages(fields: Any) -> Iterator[str]:
    if isinstance(fields, dict):
        for name, value in fields.items():
            if name == "next_index":
                continue
            yield from _field_messages(value)
    elif isinstance(fields, list):
        for value in fields:
            yield from _field_messages(value)
    elif fields is not None:
        yield " ".join(str(fields).split())


def _language() -> str:
    lang = os.environ.get("GGZY_LANG") or os.environ.get("LANG") or ""
    return "zh-hans" if lang.lower().startswith("zh") else "en"


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ClientError("the server's answer is not JSON") from None


class FileSlice:
    """``length`` bytes of an open file from ``offset``, read in blocks (for a body)."""

    def __init__(self, f, offset: int, length: int, on_read: Callable[[int], None] | None):
        self._f = f
        self._left = length
        self._on_read = on_read
        f.seek(offset)

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._f.read(n)
        if not data:
            raise ClientError("the sealed file got shorter while uploading")
        self._left -= len(data)
        if self._on_read is not None:
            self._on_read(len(data))
        return data


class Client:
    """A token-authenticated JSON client for one platform base URL."""

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = USER_AGENT,
    ):
        url = urllib.parse.urlsplit(server.strip())
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ClientError(f"not a server URL: {server!r} (use http://host or https://host)")
        self.server = f"{url.scheme}://{url.netloc}{url.path.rstrip('/')}"
        self._scheme = url.scheme
        self._host = url.hostname
        try:
            self._port = url.port
        except ValueError:
            raise ClientError(f"not a server URL: {server!r}") from None
        self._prefix = url.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.user_agent = user_agent

    # -- transport ---------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(
                self._host,
                self._port,
                timeout=self.timeout,
                context=ssl.create_default_context(),
                blocksize=BLOCK,
            )
        return http.client.HTTPConnection(
            self._host, self._port, timeout=self.timeout, blocksize=BLOCK
        )

    def url(self, path: str) -> str:
        return self.server + path

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: Any = None,
        headers: dict | None = None,
        auth: bool = True,
        accept: str = "application/json",
    ) -> Response:
        """One request on a fresh connection; raises ``ApiError`` for 4xx/5xx."""
        hdrs = {
            "User-Agent": self.user_agent,
            "Accept": accept,
            "Accept-Language": _language(),
            "Connection": "close",
        }
        if auth and self.token:
            hdrs["Authorization"] = f"Token {self.token}"
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if body is None and method in ("POST", "PUT"):
            body = b""
        hdrs.update(headers or {})
        conn = self._connection()
        try:
            conn.request(method, self._prefix + path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        except ssl.SSLCertVerificationError as exc:
            raise ClientError(
                f"cannot verify the certificate of {self.server}: {exc.verify_message}"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(self._unreachable(exc)) from None
        finally:
            conn.close()
        if resp.status >= 400:
            raise ApiError.from_response(resp.status, resp.reason, data)
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)

    def _unreachable(self, exc: BaseException) -> str:
        if isinstance(exc, ConnectionRefusedError):
            why = "connection refused"
        elif isinstance(exc, socket.gaierror):
            why = "unknown host"
        elif isinstance(exc, TimeoutError | socket.timeout):
            why = "timed out"
        elif isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError):
            why = "the connection was closed"
        elif isinstance(exc, OSError) and exc.strerror:
            why = exc.strerror.lower()
        else:
            why = " ".join(str(exc).split()) or type(exc).__name__
        return f"cannot reach {self.server}: {why}"

    def get(self, path: str, **kw) -> Any:
        return self.request("GET", path, **kw).json()

    def post(self, path: str, data: Any = None, **kw) -> Any:
        resp = self.request("POST", path, json_body=data, **kw)
        return resp.json() if resp.body else None

    # -- endpoints ---------------------------------------------------------------------

    def login(self, username: str, password: str) -> dict:
        return self.post(
            "/api/auth/token/", {"username": username, "password": password}, auth=False
        )

    def me(self) -> dict:
        return self.get("/api/me/")

    def register_key(self, point: bytes, purpose: str, label: str = "") -> dict:
        data = {"public_key": base64.b64encode(point).decode("ascii"), "purpose": purpose}
        if label:
            data["label"] = label
        return self.post("/api/keys/", data)

    def my_keys(self) -> list:
        return self.get("/api/keys/")

    def platform_keys(self) -> dict:
        return self.get("/api/platform/keys/", auth=False)

    def tender(self, tender_id: str) -> dict:
        return self.get(f"/api/tenders/{_q(tender_id)}/")

    def upload_start(self, tender_id: str, size: int, price_sheet: bytes, claims: dict) -> dict:
        return self.post(
            f"/api/tenders/{_q(tender_id)}/bids/uploads/",
            {
                "size": size,
                "price_sheet": base64.b64encode(price_sheet).decode("ascii"),
                "claims": claims,
            },
        )

    def upload_state(self, upload_id: str) -> dict:
        return self.get(f"/api/bids/uploads/{_q(upload_id)}/")

    def upload_chunk(self, upload_id: str, index: int, body: Any, length: int, sha256: str):
        return self.request(
            "PUT",
            f"/api/bids/uploads/{_q(upload_id)}/chunks/{index}/",
            body=body,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(length),
                "X-Chunk-SHA256": sha256,
            },
        ).json()

    def upload_complete(self, upload_id: str) -> dict:
        return self.post(f"/api/bids/uploads/{_q(upload_id)}/complete/")

    def upload_abort(self, upload_id: str) -> None:
        self.request("DELETE", f"/api/bids/uploads/{_q(upload_id)}/")

    def my_bid(self, tender_id: str) -> dict:
        return self.get(f"/api/tenders/{_q(tender_id)}/bids/mine/")

    def receipt(self, tender_id: str, version: int | None = None) -> dict:
        query = f"?version={int(version)}" if version is not None else ""
        return self.get(f"/api/tenders/{_q(tender_id)}/bids/mine/receipt/{query}")

    def receipt_pdf(self, tender_id: str, version: int | None = None) -> bytes:
        query = f"?version={int(version)}" if version is not None else ""
        return self.request(
            "GET",
            f"/api/tenders/{_q(tender_id)}/bids/mine/receipt.pdf{query}",
            accept="application/pdf, */*;q=0.1",
        ).body

    def withdraw(self, tender_id: str) -> dict:
        # The API requires the explicit confirmation: calling withdraw() is that intent.
        return self.post(f"/api/tenders/{_q(tender_id)}/bids/withdraw/", {"confirm": True})


    # -- the opening ------------------------------------------------------------------------

    def opening_state(self, tender_id: str) -> dict:
        return self.get(f"/api/tenders/{_q(tender_id)}/opening/")

    def envelope_headers(self, tender_id: str) -> dict:
        return self.get(f"/api/tenders/{_q(tender_id)}/bids/mine/headers/")

    def opening_decrypt(self, tender_id: str, bid_key: bytes, price_sheet_key: bytes) -> dict:
        return self.post(f"/api/tenders/{_q(tender_id)}/opening/decrypt/",
                         {"bid_key": bid_key.hex(), "price_sheet_key": price_sheet_key.hex()})

    def custody(self, tender_id: str) -> dict:
        """The tender's custodian set, its endorsements and the custodians' keys."""
        return self.get(f"/api/tenders/{_q(tender_id)}/custody/")

    def endorse(self, tender_id: str, signature: bytes) -> dict:
        """Hand over this custodian's signature over the custodian-set statement."""
        return self.post(f"/api/tenders/{_q(tender_id)}/custody/",
                         {"signature": base64.b64encode(signature).decode()})

    def my_key_share(self, tender_id: str) -> dict:
        return self.get(f"/api/tenders/{_q(tender_id)}/opening/my-share/")

    def opening_share(self, tender_id: str, share: dict) -> dict:
        return self.post(f"/api/tenders/{_q(tender_id)}/opening/shares/", {"share": share})

    def inclusion_proof(self, tender_id: str, sha256: str | None = None) -> dict:
        query = f"?sha256={_q(sha256)}" if sha256 else ""
        return self.get(f"/api/tenders/{_q(tender_id)}/opening/proof/{query}")


def _q(value: Any) -> str:
    return urllib.parse.quote(str(value), safe="")


# -- resumable upload ----------------------------------------------------------------------


@dataclass
class UploadOutcome:
    """What :func:`upload_envelope` did: the bid (with its receipt) and the digest."""

    bid: dict
    sha256: str
    size: int
    resumed_from: int = 0
    notes: list[str] = field(default_factory=list)


class _Hasher:
    """Chunk digests on demand, and the whole-file SHA-256 fed in order."""

    def __init__(self, f, chunk_size: int, size: int):
        self.f, self.chunk_size, self.size = f, chunk_size, size
        self.whole = hashlib.sha256()
        self.done = 0  # chunks fed to ``whole``

    def span(self, index: int) -> tuple[int, int]:
        offset = index * self.chunk_size
        return offset, max(0, min(self.chunk_size, self.size - offset))

    def chunk(self, index: int) -> str:
        offset, length = self.span(index)
        h = hashlib.sha256()
        feed_whole = index == self.done
        self.f.seek(offset)
        left = length
        while left:
            block = self.f.read(min(BLOCK, left))
            if not block:
                raise ClientError("the sealed file got shorter while uploading")
            h.update(block)
            if feed_whole:
                self.whole.update(block)
            left -= len(block)
        if feed_whole:
            self.done += 1
        return h.hexdigest()

    def finish(self, count: int) -> str:
        while self.done < count:
            self.chunk(self.done)
        return self.whole.hexdigest()


def _sleep_for(attempt: int) -> float:
    return min(30.0, 0.5 * 2**attempt)


def _retrying(
    call: Callable[[], Any], retries: int, sleep: Callable[[float], None], on_retry=None
) -> Any:
    """Run ``call``; retry it on :class:`Unreachable` and on 502/503/504 answers."""
    attempt = 0
    while True:
        try:
            return call()
        except Unreachable:
            if attempt >= retries:
                raise
        except ApiError as exc:
            if exc.status not in (429, 502, 503, 504) or attempt >= retries:
                raise
        if on_retry is not None:
            on_retry(attempt)
        sleep(_sleep_for(attempt))
        attempt += 1


def upload_envelope(
    client: Client,
    path: str,
    state: dict,
    *,
    retries: int = DEFAULT_RETRIES,
    progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[str], None] | None = None,
) -> UploadOutcome:
    """Send the chunks of the envelope at ``path`` that the server lacks; complete.

    ``state`` is the server's upload state (``upload_id``, ``size``, ``chunk_size``,
    ``chunk_count``, ``next_index`` and, when resuming, ``chunk_sha256``). Chunks the
    server already holds are hashed from the file and compared with its digests,
    so a resumed upload can only continue the same sealed file. Returns the bid
    the server answers to ``complete`` (with its receipt) and the SHA-256 of the
    whole file. ``progress`` gets the number of envelope bytes sent or verified.
    """
    upload_id = str(state["upload_id"])
    size = os.path.getsize(path)
    if size != int(state["size"]):
        raise ClientError(
            f"{path} is {size} bytes but upload {upload_id} expects {state['size']}: "
            "it is not the file this upload started with"
        )
    chunk_size = int(state["chunk_size"])
    count = int(state["chunk_count"])
    start_index = int(state.get("next_index") or 0)

    def retry_note(what: str):
        def note(attempt: int) -> None:
            if on_retry is not None:
                on_retry(f"{what}: connection problem, retry {attempt + 1} of {retries}")

        return note

    with open(path, "rb") as f:
        hasher = _Hasher(f, chunk_size, size)
        held = list(state.get("chunk_sha256") or [])
        for index in range(start_index):
            digest = hasher.chunk(index)
            if index < len(held) and held[index] != digest:
                raise ClientError(
                    f"the server holds a different chunk {index} for upload {upload_id}: "
                    f"{path} is not the file this upload started with"
                )
        sent = hasher.span(start_index)[0] if start_index < count else size
        if progress is not None:
            progress(sent)
        index = start_index
        while index < count:
            digest = hasher.chunk(index)
            offset, length = hasher.span(index)
            index = _send_chunk(
                client, f, upload_id, index, offset, length, digest, retries, sleep,
                progress=(lambda n, base=offset: progress(base + n)) if progress else None,
                on_retry=retry_note(f"chunk {index}"),
            )
            if progress is not None:
                progress(hasher.span(index)[0] if index < count else size)
        sha256 = hasher.finish(count)

    def complete() -> dict:
        try:
            return client.upload_complete(upload_id)
        except Unreachable:
            # The answer may be lost after the server completed: ask before retrying.
            try:
                now = client.upload_state(upload_id)
            except ClientError:
                raise Unreachable("cannot reach the server to complete the upload") from None
            if now.get("status") == "completed":
                return {"receipt": client.receipt(str(now.get("tender"))), "recovered": True}
            raise

    try:
        bid = _retrying(complete, retries, sleep, retry_note("completing"))
    except ApiError as exc:
        if exc.status != 409 or exc.code != "upload_closed":
            raise
        now = client.upload_state(upload_id)
        if now.get("status") != "completed":
            raise
        bid = {"receipt": client.receipt(str(now.get("tender"))), "recovered": True}
    return UploadOutcome(bid=bid, sha256=sha256, size=size, resumed_from=start_index)


class _Concat:
    """A request body read from parts in turn: bytes, or objects with ``read(n)``."""

    def __init__(self, parts: list):
        self._parts = list(parts)

    def read(self, n: int = -1) -> bytes:
        while self._parts:
            part = self._parts[0]
            if isinstance(part, bytes):
                if n is None or n < 0 or n >= len(part):
                    self._parts.pop(0)
                    if part:
                        return part
                    continue
                self._parts[0] = part[n:]
                return part[:n]
            data = part.read(BLOCK if n is None or n < 0 else n)
            if data:
                return data
            self._parts.pop(0)
        return b""


def _field(boundary: str, name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename:
        disposition += f'; filename="{filename}"'
        return (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode()
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()


def submit_envelope(
    client: Client,
    tender: str,
    path: str,
    price_sheet: bytes,
    claims: dict,
    *,
    retries: int = DEFAULT_RETRIES,
    progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[str], None] | None = None,
) -> UploadOutcome:
    """Submit the envelope at ``path`` and its sealed price sheet in one request
    (``POST /api/tenders/{tender}/bids/``, multipart, the envelope streamed from the
    file with its SHA-256 in the ``sha256`` field). A broken connection is retried;
    before sending again the tool asks whether the lost answer's bid is already the
    current one (same SHA-256), and takes its receipt if so. Raises
    :class:`TooLargeForOneRequest` when the server wants the resumable upload."""
    size = os.path.getsize(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            digest.update(block)
    sha256 = digest.hexdigest()
    boundary = "ggzy-bid-" + os.urandom(12).hex()
    head = (_field(boundary, "claims") + json.dumps(claims, ensure_ascii=False).encode()
            + b"\r\n" + _field(boundary, "sha256") + sha256.encode() + b"\r\n"
            + _field(boundary, "price_sheet", "price_sheet.ggzy") + price_sheet + b"\r\n"
            + _field(boundary, "envelope", os.path.basename(path)))
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
               "Content-Length": str(len(head) + size + len(tail))}

    def send() -> dict:
        with open(path, "rb") as f:
            body = _Concat([head, FileSlice(f, 0, size, _counter(progress)), tail])
            try:
                return client.request("POST", f"/api/tenders/{_q(tender)}/bids/", body=body,
                                      headers=headers).json()
            except ApiError as exc:
                if exc.status == 413 or exc.code == "envelope_too_large":
                    raise TooLargeForOneRequest(str(exc)) from None
                raise
            except Unreachable:
                # The answer may be lost after the server took the bid: ask first.
                try:
                    current = (client.my_bid(tender) or {}).get("current") or {}
                except ClientError:
                    raise Unreachable("cannot reach the server to submit the bid") from None
                if current.get("sha256") == sha256 and current.get("receipt"):
                    return {**current, "recovered": True}
                raise

    def note(attempt: int) -> None:
        if on_retry is not None:
            on_retry(f"sending: connection problem, retry {attempt + 1} of {retries}")

    bid = _retrying(send, retries, sleep, note)
    return UploadOutcome(bid=bid, sha256=sha256, size=size)


def _counter(progress: Callable[[int], None] | None) -> Callable[[int], None] | None:
    """An ``on_read`` that reports the running total of bytes read to ``progress``."""
    if progress is None:
        return None
    sent = [0]

    def counted(n: int) -> None:
        sent[0] += n
        progress(sent[0])

    return counted


def _send_chunk(
    client: Client,
    f,
    upload_id: str,
    index: int,
    offset: int,
    length: int,
    digest: str,
    retries: int,
    sleep: Callable[[float], None],
    *,
    progress: Callable[[int], None] | None,
    on_retry: Callable[[int], None],
) -> int:
    """Send one chunk; return the index the server wants next."""
    attempt = 0
    while True:
        try:
            body = FileSlice(f, offset, length, _counter(progress))
            answer = client.upload_chunk(upload_id, index, body, length, digest)
            return int(answer["next_index"])
        except ApiError as exc:
            if exc.status == 409 and exc.code in ("chunk_duplicate", "chunk_out_of_order"):
                wanted = (exc.fields or {}).get("next_index") or [None]
                if isinstance(wanted, list) and wanted and isinstance(wanted[0], int):
                    return wanted[0]
                return int(client.upload_state(upload_id)["next_index"])
            if exc.status not in (429, 502, 503, 504) or attempt >= retries:
                raise
        except Unreachable:
            if attempt >= retries:
                raise
        on_retry(attempt)
        sleep(_sleep_for(attempt))
        attempt += 1
        # The chunk may have arrived although the answer did not: ask where to go on.
        try:
            wanted = int(client.upload_state(upload_id)["next_index"])
        except Unreachable:
            continue
        if wanted != index:
            return wanted
