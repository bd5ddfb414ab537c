"""The bidder's tool without a server: API errors, the resumable upload against a
fake platform, evidence read from bid files, and command-line refusals."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import zipfile
from pathlib import Path

import pytest

from crypto import evidence
from ggzy_bid import cli, client

# -- API errors --------------------------------------------------------------------------


def test_an_api_error_is_its_message_and_field_messages():
    body = json.dumps({"error": {
        "status": 400, "code": "invalid", "message": "Enter a valid size.",
        "fields": {"size": ["Enter a valid size."], "price_sheet": ["Not valid base64."]},
    }}).encode()
    exc = client.ApiError.from_response(400, "Bad Request", body)
    assert str(exc) == "Enter a valid size.; Not valid base64."
    assert exc.status == 400 and exc.code == "invalid"
    assert exc.fields["price_sheet"] == ["Not valid base64."]


def test_an_api_error_keeps_next_index_out_of_the_text():
    body = json.dumps({"error": {
        "status": 409, "code": "chunk_duplicate",
        "message": "Chunk 0 was not expected; send chunk 2 next.",
        "fields": {"next_index": [2]},
    }}).encode()
    exc = client.ApiError.from_response(409, "Conflict", body)
    assert str(exc) == "Chunk 0 was not expected; send chunk 2 next."
    assert exc.fields == {"next_index": [2]}


def test_a_non_json_error_names_the_status():
    exc = client.ApiError.from_response(502, "Bad Gateway", b"<html>oops</html>")
    assert str(exc) == "the server answered HTTP 502 Bad Gateway"


@pytest.mark.parametrize("url", ["", "ftp://x", "localhost:8000", "http://"])
def test_a_server_url_must_be_http(url):
    with pytest.raises(client.ClientError, match="not a server URL"):
        client.Client(url)


def test_the_base_url_may_have_a_path():
    api = client.Client("https://ggzy.example.cn/platform/")
    assert api.server == "https://ggzy.example.cn/platform"
    assert api.url("/api/me/") == "https://ggzy.example.cn/platform/api/me/"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_unreachable_in_one_line():
    port = _closed_port()
    api = client.Client(f"http://127.0.0.1:{port}", "t")
    with pytest.raises(client.Unreachable) as info:
        api.me()
    assert str(info.value) == f"cannot reach http://127.0.0.1:{port}: connection refused"


# -- the resumable upload against a fake platform -------------------------------------------


class FakePlatform:
    """The upload protocol of bidding/bids_api.py, in memory, with scripted failures."""

    def __init__(self, size: int, chunk_size: int, *, held: bytes = b""):
        self.chunk_size = chunk_size
        self.size = size
        self.count = -(-size // chunk_size)
        self.data = bytearray(held)
        self.digests = [
            hashlib.sha256(held[i : i + chunk_size]).hexdigest()
            for i in range(0, len(held), chunk_size)
        ]
        self.status = "open"
        self.fail_before: dict[int, int] = {}  # chunk -> times to fail before storing
        self.lose_answer: dict[int, int] = {}  # chunk -> times to store, then fail
        self.lose_complete = 0
        self.requests: list[tuple] = []
        self.max_read = 0

    @property
    def next_index(self) -> int:
        return len(self.digests)

    def state(self) -> dict:
        return {
            "upload_id": "u-1", "tender": "T-1", "status": self.status, "size": self.size,
            "chunk_size": self.chunk_size, "chunk_count": self.count,
            "next_index": self.next_index, "received_bytes": len(self.data),
            "chunk_sha256": list(self.digests),
        }

    def upload_state(self, upload_id):
        self.requests.append(("state",))
        return self.state()

    def upload_chunk(self, upload_id, index, body, length, sha256):
        self.requests.append(("chunk", index))
        data = b""
        while block := body.read(8192):
            self.max_read = max(self.max_read, len(block))
            data += block
        assert len(data) == length
        if self.fail_before.get(index):
            self.fail_before[index] -= 1
            raise client.Unreachable("cannot reach fake: the connection was closed")
        if index != self.next_index:
            code = "chunk_duplicate" if index < self.next_index else "chunk_out_of_order"
            raise client.ApiError(
                f"send chunk {self.next_index} next", status=409, code=code,
                fields={"next_index": [self.next_index]},
            )
        assert hashlib.sha256(data).hexdigest() == sha256
        self.data += data
        self.digests.append(sha256)
        if self.lose_answer.get(index):
            self.lose_answer[index] -= 1
            raise client.Unreachable("cannot reach fake: timed out")
        return self.state()

    def upload_complete(self, upload_id):
        self.requests.append(("complete",))
        if self.status != "open":
            raise client.ApiError("already completed", status=409, code="upload_closed")
        assert len(self.data) == self.size
        self.status = "completed"
        if self.lose_complete:
            self.lose_complete -= 1
            raise client.Unreachable("cannot reach fake: timed out")
        return {"version": 1, "receipt": self.receipt("T-1")}

    def receipt(self, tender_id, version=None):
        return {"sha256": hashlib.sha256(bytes(self.data)).hexdigest(), "size": len(self.data)}


@pytest.fixture
def sealed(tmp_path) -> Path:
    path = tmp_path / "bid.ggzy"
    path.write_bytes(bytes(range(256)) * 40 + b"tail")  # 10,244 bytes
    return path


def _upload(platform: FakePlatform, path: Path, **kw) -> client.UploadOutcome:
    platform.sleeps = []
    return client.upload_envelope(
        platform, str(path), platform.state(), sleep=platform.sleeps.append, **kw
    )


def test_upload_sends_every_chunk_and_hashes_the_file(sealed):
    data = sealed.read_bytes()
    platform = FakePlatform(len(data), 1024)
    seen = []
    outcome = _upload(platform, sealed, progress=seen.append)
    assert bytes(platform.data) == data
    assert outcome.sha256 == hashlib.sha256(data).hexdigest()
    assert outcome.bid["receipt"]["sha256"] == outcome.sha256
    assert [r for r in platform.requests if r[0] == "chunk"] == [
        ("chunk", i) for i in range(11)
    ]
    assert seen[-1] == len(data) and seen == sorted(seen)
    assert platform.max_read <= client.BLOCK


def test_upload_resumes_after_the_chunks_the_server_holds(sealed):
    data = sealed.read_bytes()
    platform = FakePlatform(len(data), 1024, held=data[:3072])
    outcome = _upload(platform, sealed)
    assert outcome.resumed_from == 3
    assert [r[1] for r in platform.requests if r[0] == "chunk"] == list(range(3, 11))
    assert outcome.sha256 == hashlib.sha256(data).hexdigest()


def test_resuming_another_file_is_refused(sealed):
    data = sealed.read_bytes()
    other = bytearray(data)
    other[5] ^= 1
    platform = FakePlatform(len(data), 1024, held=bytes(other[:2048]))
    with pytest.raises(client.ClientError, match="not the file this upload started with"):
        _upload(platform, sealed)
    assert not [r for r in platform.requests if r[0] == "chunk"]


def test_a_file_of_another_size_is_refused(sealed):
    platform = FakePlatform(5, 1024)
    with pytest.raises(client.ClientError, match="expects 5"):
        _upload(platform, sealed)


def test_a_broken_connection_is_retried(sealed):
    data = sealed.read_bytes()
    platform = FakePlatform(len(data), 1024)
    platform.fail_before = {4: 2}
    notes = []
    outcome = _upload(platform, sealed, on_retry=notes.append)
    assert bytes(platform.data) == data
    assert outcome.sha256 == hashlib.sha256(data).hexdigest()
    assert len(notes) == 2 and "chunk 4" in notes[0]
    assert platform.sleeps == [0.5, 1.0]


def test_a_lost_answer_does_not_send_the_chunk_twice(sealed):
    data = sealed.read_bytes()
    platform = FakePlatform(len(data), 1024)
    platform.lose_answer = {2: 1}
    _upload(platform, sealed)
    assert bytes(platform.data) == data
    assert [r[1] for r in platform.requests if r[0] == "chunk"].count(2) == 1


def test_a_duplicate_chunk_answer_moves_on(sealed):
    data = sealed.read_bytes()
    platform = FakePlatform(len(data), 1024, held=data[:2048])
    state = platform.state()
    state["next_index"] = 1  # a stale view: the server already has chunk 1
    state["chunk_sha256"] = state["chunk_sha256"][:1]
    outcome = client.upload_envelope(platform, str(sealed), state, sleep=lambda s: None)
    assert bytes(platform.data) == data
    assert outcome.sha256 == hashlib.sha256(data).hexdigest()


def test_retries_give_up_with_unreachable(sealed):
    platform = FakePlatform(len(sealed.read_bytes()), 1024)
    platform.fail_before = {0: 100}
    with pytest.raises(client.Unreachable):
        _upload(platform, sealed, retries=3)
    assert platform.sleeps == [0.5, 1.0, 2.0]


def test_a_lost_completion_answer_fetches_the_receipt(sealed):
    data = sealed.read_bytes()
    platform = FakePlatform(len(data), 1024)
    platform.lose_complete = 1
    outcome = _upload(platform, sealed)
    assert outcome.bid["recovered"] is True
    assert outcome.bid["receipt"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert [r for r in platform.requests if r[0] == "complete"] == [("complete",)]


def test_an_api_refusal_is_not_retried(sealed):
    platform = FakePlatform(len(sealed.read_bytes()), 1024)

    def refuse(*a, **k):
        raise client.ApiError("The bid deadline has passed", status=400,
                              code="deadline_passed")

    platform.upload_chunk = refuse
    with pytest.raises(client.ApiError, match="deadline"):
        _upload(platform, sealed)
    assert platform.sleeps == []


def test_file_slice_reads_only_its_range():
    f = io.BytesIO(bytes(range(100)))
    got = []
    part = client.FileSlice(f, 10, 25, got.append)
    data = b""
    while block := part.read(10):
        data += block
    assert data == bytes(range(10, 35))
    assert sum(got) == 25


# -- evidence ------------------------------------------------------------------------------


def _pdf(info: bytes, *, extra: bytes = b"") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
        + b"12 0 obj\n" + info + b"\nendobj\n" + extra
        + b"trailer\n<< /Root 1 0 R /Info 12 0 R >>\n%%EOF\n"
    )


def test_pdf_literal_strings_with_escapes(tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(_pdf(
        rb"<< /Author (Li \(Si\) \101) /Creator (WPS Office) /Producer (x(y)z) >>"
    ))
    assert evidence.file_metadata(path) == {
        "file_author": "Li (Si) A", "file_creator": "WPS Office", "file_producer": "x(y)z",
    }


def test_pdf_utf16_and_hex_strings(tmp_path):
    author = "张三".encode("utf-16-be")
    path = tmp_path / "b.pdf"
    path.write_bytes(_pdf(
        b"<< /Author (\xfe\xff" + author + b") /Creator <FEFF004D0053> >>"
    ))
    assert evidence.file_metadata(path) == {"file_author": "张三", "file_creator": "MS"}


def test_pdf_the_newest_info_object_wins(tmp_path):
    path = tmp_path / "c.pdf"
    update = (
        b"12 0 obj\n<< /Author (Second) >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R /Info 12 0 R /Prev 9 >>\n%%EOF\n"
    )
    path.write_bytes(_pdf(b"<< /Author (First) >>") + update)
    assert evidence.file_metadata(path) == {"file_author": "Second"}


def test_pdf_info_far_from_the_end_is_found(tmp_path):
    path = tmp_path / "d.pdf"
    path.write_bytes(_pdf(b"<< /Author (Early) >>", extra=b"%" + b"x" * (3 * 1024 * 1024)))
    assert evidence.file_metadata(path) == {"file_author": "Early"}


def _zip(path: Path, members: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)


def test_docx_core_and_app_properties(tmp_path):
    path = tmp_path / "bid.docx"
    _zip(path, {
        "[Content_Types].xml": "<Types/>",
        "docProps/core.xml": (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<dc:creator>王五</dc:creator><cp:lastModifiedBy>赵六</cp:lastModifiedBy>"
            "</cp:coreProperties>"
        ),
        "docProps/app.xml": (
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Application>Microsoft Office Word</Application>'
            "<Company>某某建设有限公司</Company></Properties>"
        ),
    })
    assert evidence.file_metadata(path) == {
        "file_author": "王五", "file_last_modified_by": "赵六",
        "file_company": "某某建设有限公司", "file_creator": "Microsoft Office Word",
    }


def test_ofd_doc_info(tmp_path):
    path = tmp_path / "bid.ofd"
    _zip(path, {"OFD.xml": (
        '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocInfo>'
        "<ofd:Author>孙七</ofd:Author><ofd:Creator>数科OFD</ofd:Creator>"
        "<ofd:CreatorVersion>3.0</ofd:CreatorVersion></ofd:DocInfo></ofd:DocBody></ofd:OFD>"
    )})
    assert evidence.file_metadata(path) == {"file_author": "孙七", "file_creator": "数科OFD 3.0"}


@pytest.mark.parametrize("content", [
    b"", b"plain text", b"%PDF-1.4 broken (", b"PK\x03\x04 not a zip",
])
def test_unreadable_files_give_no_claims(tmp_path, content):
    path = tmp_path / "x.bin"
    path.write_bytes(content)
    assert evidence.file_metadata(path) == {}


def test_an_xml_bomb_gives_no_claims(tmp_path):
    path = tmp_path / "bomb.docx"
    _zip(path, {"docProps/core.xml": (
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        "<x><creator>&b;</creator></x>"
    )})
    assert evidence.file_metadata(path) == {}


def test_machine_fingerprint_is_a_stable_hash():
    first = evidence.machine_fingerprint()
    assert len(first) == 64 and int(first, 16) >= 0
    assert evidence.machine_fingerprint() == first


def test_claims_for_a_file(tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(_pdf(b"<< /Author (A) >>"))
    claims = evidence.claims_for(path, tool="ggzy-bid/1")
    assert claims["file_author"] == "A" and claims["tool"] == "ggzy-bid/1"
    assert len(claims["machine_fingerprint"]) == 64


# -- the command line, before any request -------------------------------------------------


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("GGZY_SERVER", "GGZY_TOKEN", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    Path("bid.pdf").write_bytes(b"%PDF-1.4 bid")
    return tmp_path


def _refused(capsys, argv, contains, status=1):
    code = cli.main(argv)
    _, err = capsys.readouterr()
    assert code == status, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and contains in lines[0], err


def test_no_server_configured(home, capsys):
    _refused(capsys, ["tender", "1"], "--server URL or GGZY_SERVER")


def test_not_logged_in(home, capsys):
    _refused(capsys, ["tender", "1", "--server", "http://127.0.0.1:9"], "not logged in")


def test_a_token_file_and_saved_server_are_used(home, capsys, monkeypatch):
    port = _closed_port()
    conf = home / ".config" / "ggzy"
    conf.mkdir(parents=True)
    (conf / "token").write_text("abc\n")
    (conf / "server").write_text(f"http://127.0.0.1:{port}\n")
    _refused(capsys, ["tender", "1"], f"cannot reach http://127.0.0.1:{port}")


def test_nothing_to_resume(home, capsys):
    _refused(capsys, ["submit", "--resume", "bid.pdf", "--server", "http://127.0.0.1:9",
                      "--token", "t"], "nothing to resume")


def test_a_new_submit_needs_tender_key_and_price_sheet(home, capsys):
    base = ["submit", "bid.pdf", "--server", "http://127.0.0.1:9", "--token", "t"]
    _refused(capsys, base, "--tender is required")
    _refused(capsys, [*base, "--tender", "1"], "--key and --price-sheet are required")


def test_a_state_file_for_another_server_is_refused(home, capsys):
    Path("bid.pdf.ggzy").write_bytes(b"x")
    Path("bid.pdf.ggzy.upload.json").write_text(json.dumps(
        {"v": 1, "upload_id": "u", "server": "http://other:1", "tender": "T-1"}))
    _refused(capsys, ["submit", "--resume", "bid.pdf", "--server", "http://127.0.0.1:9",
                      "--token", "t"], "is on http://other:1")


def test_a_damaged_state_file_is_refused(home, capsys):
    Path("bid.pdf.ggzy.upload.json").write_text("{not json")
    _refused(capsys, ["submit", "--resume", "bid.pdf", "--server", "http://127.0.0.1:9",
                      "--token", "t"], "is not an upload state file")


def test_withdraw_needs_yes_without_a_terminal(home, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    _refused(capsys, ["withdraw", "--tender", "1", "--server", "http://127.0.0.1:9",
                      "--token", "t"], "needs --yes")


def test_login_needs_a_password_source(home, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    _refused(capsys, ["login", "--server", "http://127.0.0.1:9", "--username", "u"],
             "--password-file")


@pytest.mark.parametrize("sheet, message", [
    ([], "is a JSON object"),
    ({"total_price": "1"}, "lacks duration_days, quality"),
    ({"total_price": "abc", "duration_days": 1, "quality": "q", "project_manager": "p",
      "project_manager_id": "i", "items": {"warranty": "2"}}, "not a number"),
    ({"total_price": "1", "duration_days": 1, "quality": "q", "project_manager": "p",
      "project_manager_id": "i"}, "lacks warranty"),
])
def test_price_sheet_checks(home, sheet, message):
    Path("sheet.json").write_text(json.dumps(sheet))
    with pytest.raises(cli.CliError, match=message):
        cli._load_price_sheet("sheet.json", {"price_sheet_items": ["warranty"]})


def test_a_complete_price_sheet_passes(home):
    sheet = {"total_price": "9,500,000.00", "duration_days": 365, "quality": "合格",
             "project_manager": "张三", "project_manager_id": "闽1", "items": {"warranty": "2"}}
    Path("sheet.json").write_text(json.dumps(sheet, ensure_ascii=False))
    data = cli._load_price_sheet("sheet.json", {"price_sheet_items": ["warranty"]})
    assert json.loads(data) == sheet


# -- one request -------------------------------------------------------------------------


class _OneRequestPlatform:
    """Takes ``POST /api/tenders/T/bids/``; ``lose`` answers are lost after the bid
    was taken (the connection breaks), ``refuse`` answers a status and code."""

    def __init__(self, lose: int = 0, refuse: tuple[int, str] | None = None):
        self.lose, self.refuse = lose, refuse
        self.bodies: list[bytes] = []
        self.current: dict | None = None

    def request(self, method, path, *, body=None, headers=None, **kw):
        assert (method, path) == ("POST", "/api/tenders/T/bids/")
        data = b"".join(iter(lambda: body.read(7000), b""))
        assert int(headers["Content-Length"]) == len(data)
        self.bodies.append(data)
        if self.refuse:
            status, code = self.refuse
            raise client.ApiError("refused", status=status, code=code)
        digest = data.split(b'name="sha256"\r\n\r\n')[1][:64].decode()
        self.current = {"sha256": digest, "receipt": {"sha256": digest}}
        if self.lose:
            self.lose -= 1
            raise client.Unreachable("cannot reach the platform: the connection was closed")
        return client.Response(201, {}, json.dumps(self.current).encode())

    def my_bid(self, tender):
        return {"current": self.current}


def test_one_request_streams_the_file_with_its_digest(tmp_path):
    path = tmp_path / "bid.ggzy"
    path.write_bytes(b"S" * 20_000)
    platform = _OneRequestPlatform()
    out = client.submit_envelope(platform, "T", str(path), b"SHEET", {"tool": "t"},
                                 sleep=lambda s: None)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert out.sha256 == digest and out.size == 20_000 and out.bid["sha256"] == digest
    body = platform.bodies[0]
    assert b"S" * 20_000 in body and b"SHEET" in body and b'{"tool": "t"}' in body


def test_a_lost_answer_is_recovered_without_sending_again(tmp_path):
    path = tmp_path / "bid.ggzy"
    path.write_bytes(b"S" * 100)
    platform = _OneRequestPlatform(lose=1)
    out = client.submit_envelope(platform, "T", str(path), b"SHEET", {},
                                 sleep=lambda s: None)
    assert out.bid["recovered"] is True and len(platform.bodies) == 1


@pytest.mark.parametrize("refusal", [(413, "request_too_large"), (400, "envelope_too_large")])
def test_a_server_that_wants_chunks_says_so(tmp_path, refusal):
    path = tmp_path / "bid.ggzy"
    path.write_bytes(b"S" * 100)
    with pytest.raises(client.TooLargeForOneRequest):
        client.submit_envelope(_OneRequestPlatform(refuse=refusal), "T", str(path), b"X", {},
                               sleep=lambda s: None)
