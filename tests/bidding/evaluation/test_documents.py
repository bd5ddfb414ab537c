"""暗标 bid packages (bidding/evaluation/documents.py, core/pdf/sanitise.py): under the code
number a member gets only ``technical/``, stripped of every metadata that names the
bidder; under the name only the other parts; everything after the technical lock; unsafe
packages refused; tenders without 暗标 unchanged."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript
from pypdf.annotations import Text
from pypdf.generic import ArrayObject, ByteStringObject, NameObject, TextStringObject
from reportlab.pdfgen import canvas

from audit.models import AuditEvent
from bidding.evaluation import documents, services
from core.pdf.fonts import cjk_font
from core.pdf.sanitise import SanitiseError, strip_pdf
from tests.bidding.evaluation.helpers import elect, formed, keys, run_stage, score_entries
from tests.bidding.evaluation.room_helpers import attach_documents, pdftotext, url, verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_kek_file(tmp_path, settings):
    settings.PLATFORM_AT_REST_KEY_FILE = str(tmp_path / "at_rest_keys.json")
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "file"




# --- building packages ----------------------------------------------------------------------


def identities(org) -> list[str]:
    return [org.name, org.name_en, org.credit_code]


def needles(org) -> list[bytes]:
    """Every way the bidder's identity could sit in a file's bytes."""
    out = []
    for text in identities(org):
        for enc in ("utf-8", "utf-16-be", "gbk"):
            raw = text.encode(enc)
            out += [raw, raw.hex().encode(), raw.hex().upper().encode()]
    return out


def assert_anonymous(data: bytes, org) -> None:
    for needle in needles(org):
        assert needle not in data, needle


def technical_pdf(org, text: str) -> bytes:
    """A technical chapter whose pages are anonymous but whose metadata names the bidder:
    info dictionary, XMP, document ID, an annotation's author, an embedded file, a
    JavaScript open action."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setAuthor(org.name)
    c.setCreator(f"{org.name_en} WPS")
    c.setTitle(f"{org.name} 技术标")
    c.setSubject(org.credit_code)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    writer.add_metadata({"/Producer": org.name_en, "/Company": org.name})
    writer.xmp_metadata = (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>'
        f"{org.name} {org.name_en}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>').encode()
    writer.add_annotation(0, Text(text="checked", rect=(50, 550, 200, 650)))
    annot = writer.pages[0]["/Annots"][0].get_object()
    annot[NameObject("/T")] = TextStringObject(org.name_en)
    writer.add_attachment(f"{org.name_en}.txt", org.name.encode())
    writer.add_open_action(JavaScript(f"app.alert('{org.name_en}');"))
    writer._ID = ArrayObject([ByteStringObject(org.credit_code.encode())] * 2)
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert org.name_en.encode() in data  # the fixture does name the bidder
    return data


def named_pdf(org, text: str) -> bytes:
    """A qualification document: the bidder's name on the page."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont(cjk_font(), 12)
    c.drawString(72, 720, f"{text} {org.name} {org.name_en} {org.credit_code}")
    c.showPage()
    c.save()
    return buf.getvalue()


def package(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def convention_package(item) -> bytes:
    org = item.bid.bidder
    return package({
        "technical/01-施工方案.pdf": technical_pdf(org, "TECHNICAL PLAN CHAPTER ONE"),
        "technical/02-schedule.pdf": technical_pdf(org, "TECHNICAL SCHEDULE CHAPTER TWO"),
        f"qualification/{org.name_en}-licence.pdf": named_pdf(org, "QUALIFICATION LICENCE"),
        "commercial/prices.txt": f"COMMERCIAL {org.name_en}".encode(),
    })


def anonymous_room(make=convention_package, *, stage="technical", **overrides):
    committee, users, bidders, _ = formed(anonymous_technical=True, **overrides)
    attach_documents(committee.tender, make=make)
    committee = elect(committee, users)
    if stage == "technical":
        committee = run_stage(committee, users, "qualification")
        assert committee.stage == "technical"
    return committee, users, bidders


def org_of(committee, key):
    return documents_bid(committee, key).bid.bidder


def documents_bid(committee, key):
    if key.isdigit():
        return committee.bids.get(code=key)
    return committee.bids.get(pk=int(key[1:]))


def lock_technical(committee, users):
    for u in users:
        services.sheet_submit(committee=committee, user=u, stage="technical",
                              entries=score_entries(committee, "technical"))
    services.stage_lock(committee=committee, user=committee.chair.user, stage="technical")
    committee.refresh_from_db()
    return committee


# --- under the code number: only technical/, anonymous ---------------------------------------


def test_under_the_code_a_member_reads_only_the_technical_files_with_no_bidder_name(
        tmp_path):
    committee, users, bidders = anonymous_room()
    client = verified_client(users[1])
    code = keys(committee, "technical")[0]
    org = org_of(committee, code)
    ref = committee.tender.reference
    page = client.get(url(committee, f"bids/{code}/"))
    assert page.status_code == 200
    html = page.content.decode().split("<h1>", 1)[1]  # the page's own content
    assert "T01" in html and "T02" in html
    for text in identities(org) + ["qualification/", "licence", "prices.txt", "施工方案",
                                   "schedule"]:
        assert text not in html, text
    for number, words in ((1, "CHAPTER ONE"), (2, "CHAPTER TWO")):
        for tail in ("document", "download"):
            r = client.get(url(committee, f"bids/{code}/{tail}?file={number}"))
            assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
            assert f'filename="{ref}-{code}-T{number:02d}.pdf"' in r["Content-Disposition"]
            assert_anonymous(r.content, org)
            text = pdftotext(r.content, tmp_path)
            assert words in text and "M2" in text  # the page, watermarked for the reader
            for ident in identities(org):
                assert ident not in text
            reader = PdfReader(io.BytesIO(r.content))
            meta = {k: str(v) for k, v in (reader.metadata or {}).items()}
            assert not {"/Author", "/Creator", "/Title", "/Company"} & set(meta)
            assert meta.get("/Producer", "pypdf") == "pypdf"
            assert reader.xmp_metadata is None
            assert "/ID" not in reader.trailer
            assert not reader.attachments
            assert "/OpenAction" not in reader.trailer["/Root"]
            assert "/Names" not in reader.trailer["/Root"]
            for annot in reader.pages[0].get("/Annots", []):
                assert "/T" not in annot.get_object()


def test_the_technical_download_without_a_file_is_a_zip_of_the_technical_files_only(
        tmp_path):
    committee, users, _ = anonymous_room()
    code = keys(committee, "technical")[1]
    org = org_of(committee, code)
    r = verified_client(users[0]).get(url(committee, f"bids/{code}/download"))
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    assert f"-{code}-technical.zip" in r["Content-Disposition"]
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    ref = committee.tender.reference
    assert sorted(zf.namelist()) == sorted(
        ["WATERMARK.txt", f"{ref}-{code}-T01.pdf", f"{ref}-{code}-T02.pdf"])
    for name in zf.namelist():
        assert_anonymous(zf.read(name), org)
    assert "QUALIFICATION" not in pdftotext(zf.read(f"{ref}-{code}-T01.pdf"), tmp_path)


def test_the_qualification_and_commercial_parts_are_not_reachable_under_the_code(
        tmp_path):
    committee, users, _ = anonymous_room()
    client = verified_client(users[0])
    code = keys(committee, "technical")[0]
    for number in (3, 4, 5, 0, 99):
        for tail in ("document", "download"):
            r = client.get(url(committee, f"bids/{code}/{tail}?file={number}"))
            assert r.status_code == 404, (tail, number)
    for bad in ("-1", "x", "1/../3"):
        assert client.get(url(committee, f"bids/{code}/document?file={bad}")
                          ).status_code == 404
    r = client.get(url(committee, f"bids/{code}/document"))
    assert "CHAPTER ONE" in pdftotext(r.content, tmp_path)


def test_reading_under_the_code_is_audited_for_each_file():
    committee, users, _ = anonymous_room()
    code = keys(committee, "technical")[0]
    client = verified_client(users[3])
    events = AuditEvent.objects.filter(action="opening.document_access")
    before = events.count()
    client.get(url(committee, f"bids/{code}/document?file=2"))
    assert events.count() == before + 1
    assert events.order_by("pk").last().summary == "evaluation.view"
    assert events.order_by("pk").last().actor_id == users[3].pk


# --- under the name: the other parts only ---------------------------------------------------


def test_under_the_name_the_qualification_parts_are_served_without_the_technical_part(
        tmp_path):
    committee, users, _ = anonymous_room(stage="qualification")
    client = verified_client(users[0])
    key = keys(committee, "qualification")[0]
    eb = documents_bid(committee, key)
    org = eb.bid.bidder
    # The page's own content: the footer's clock reads "...T01:..." between 01:00 and
    # 02:00 China time.
    html = client.get(url(committee, f"bids/{key}/")).content.decode().split(
        "<h1>", 1)[1].split("<footer", 1)[0]
    assert f"qualification/{org.name_en}-licence.pdf" in html
    assert "commercial/prices.txt" in html
    assert "technical/" not in html and "T01" not in html
    assert f"No. {eb.code}" not in html  # the code is not linked to the name
    ref = committee.tender.reference
    r = client.get(url(committee, f"bids/{key}/document?file=2"))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert f'filename="{ref}-{key}-02.pdf"' in r["Content-Disposition"]
    text = pdftotext(r.content, tmp_path)
    assert "QUALIFICATION LICENCE" in text and org.name in text
    r = client.get(url(committee, f"bids/{key}/download"))
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(zf.namelist()) == sorted(
        ["WATERMARK.txt", f"{ref}-{key}-01.zip", f"{ref}-{key}-02.pdf"])
    for name in zf.namelist():
        assert b"TECHNICAL" not in zf.read(name)
    assert f'filename="{ref}-{key}-parts.zip"' in r["Content-Disposition"]
    assert client.get(url(committee, f"bids/{key}/document?file=3")).status_code == 404


def test_after_the_technical_lock_the_whole_package_is_available_with_the_name():
    committee, users, _ = anonymous_room()
    committee = lock_technical(committee, users)
    assert committee.codes_revealed_at is not None
    client = verified_client(users[0])
    key = keys(committee, "commercial")[0]
    eb = documents_bid(committee, key)
    for k in (key, eb.code):
        html = client.get(url(committee, f"bids/{k}/")).content.decode()
        assert eb.bid.bidder.name in html if k == key else f"No. {eb.code}" in html
        r = client.get(url(committee, f"bids/{k}/download"))
        assert r.status_code == 200 and r["Content-Type"] == "application/zip"
        outer = zipfile.ZipFile(io.BytesIO(r.content))
        inner_name = next(n for n in outer.namelist() if n != "WATERMARK.txt")
        inner = zipfile.ZipFile(io.BytesIO(outer.read(inner_name)))
        names = inner.namelist()
        assert "technical/01-施工方案.pdf" in names
        assert f"qualification/{eb.bid.bidder.name_en}-licence.pdf" in names


# --- bids that did not follow the convention --------------------------------------------------


@pytest.mark.parametrize("make", [
    pytest.param(lambda item: named_pdf(item.bid.bidder, "WHOLE BID"), id="a-plain-pdf"),
    pytest.param(lambda item: package({"chapter.pdf": named_pdf(item.bid.bidder, "WHOLE"),
                                       "Technical.txt": b"x"}), id="a-zip-without-technical"),
])
def test_a_bid_that_did_not_follow_the_convention_is_never_served_under_its_code(make):
    committee, users, _ = anonymous_room(make=make)
    client = verified_client(users[0])
    code = keys(committee, "technical")[0]
    org = org_of(committee, code)
    html = client.get(url(committee, f"bids/{code}/")).content.decode()
    assert 'data-code="package_convention_not_followed"' in html
    assert "did not follow the package convention" in html
    for text in identities(org):
        assert text not in html
    for tail in ("document", "download", "document?file=1", "download?file=1"):
        r = client.get(url(committee, f"bids/{code}/{tail}"))
        assert r.status_code == 409, tail
        assert "did not follow the package convention" in r.content.decode()
        assert_anonymous(r.content, org)


def test_a_bid_that_did_not_follow_the_convention_is_read_whole_under_its_name(tmp_path):
    committee, users, _ = anonymous_room(
        make=lambda item: named_pdf(item.bid.bidder, "WHOLE BID"), stage="qualification")
    client = verified_client(users[0])
    key = keys(committee, "qualification")[0]
    html = client.get(url(committee, f"bids/{key}/")).content.decode()
    assert "did not follow the package convention" in html
    r = client.get(url(committee, f"bids/{key}/document"))
    assert r.status_code == 200
    assert "WHOLE BID" in pdftotext(r.content, tmp_path)


def test_a_technical_file_that_is_not_a_pdf_is_listed_as_refused_and_not_served():
    def make(item):
        org = item.bid.bidder
        return package({"technical/a.pdf": technical_pdf(org, "PLAN"),
                        "technical/b.docx": package({"docProps/core.xml": org.name.encode()}),
                        "technical/nested.zip": package({"x.pdf": b"%PDF-1.4"}),
                        "qualification/q.pdf": named_pdf(org, "Q")})

    committee, users, _ = anonymous_room(make=make)
    client = verified_client(users[0])
    code = keys(committee, "technical")[0]
    org = org_of(committee, code)
    html = client.get(url(committee, f"bids/{code}/")).content.decode()
    assert html.count("must be PDF files") == 2
    assert client.get(url(committee, f"bids/{code}/document?file=1")).status_code == 200
    for number in (2, 3):
        r = client.get(url(committee, f"bids/{code}/download?file={number}"))
        assert r.status_code == 409 and "must be PDF files" in r.content.decode()
        assert_anonymous(r.content, org)
    r = client.get(url(committee, f"bids/{code}/download"))
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    assert len([n for n in zf.namelist() if n.endswith(".pdf")]) == 1
    assert "must be PDF files" in zf.read("REFUSED.txt").decode()
    for name in zf.namelist():
        assert_anonymous(zf.read(name), org)


# --- unsafe packages --------------------------------------------------------------------------


def bomb() -> bytes:
    return package({"technical/a.pdf": b"%PDF-1.4\n" + b"\0" * (8 * documents.MIB)})


@pytest.mark.parametrize("name", [
    "../technical/evil.pdf", "/etc/passwd", "technical/../../x.pdf", "technical\\x.pdf",
    "C:/x.pdf", "technical/./x.pdf", "technical//x.pdf", "technical/a\x01.pdf",
])
def test_a_name_that_leaves_the_package_is_refused(name):
    data = package({"technical/ok.pdf": b"%PDF-1.4", name: b"x"})
    with pytest.raises(documents.PackageRefused) as exc:
        documents.package_open(data)
    assert exc.value.code == "package_bad_name"


def test_a_zip_bomb_is_refused_by_its_ratio():
    with pytest.raises(documents.PackageRefused) as exc:
        documents.package_open(bomb())
    assert exc.value.code == "package_ratio"


def test_too_many_entries_are_refused(settings):
    settings.EVALUATION_PACKAGE_LIMITS = {"entries": 10}
    data = package({f"technical/{i}.pdf": b"%PDF-1.4" for i in range(11)})
    with pytest.raises(documents.PackageRefused) as exc:
        documents.package_open(data)
    assert exc.value.code == "package_too_many_entries"
    settings.EVALUATION_PACKAGE_LIMITS = {"entries": 11}
    assert len(documents.package_open(data).technical) == 11


def test_an_entry_or_a_package_above_the_size_limits_is_refused(settings):
    settings.EVALUATION_PACKAGE_LIMITS = {"entry_bytes": 1000, "ratio": 10_000}
    data = package({"technical/a.pdf": b"%PDF" + b"1" * 2000})
    with pytest.raises(documents.PackageRefused) as exc:
        documents.package_open(data)
    assert exc.value.code == "package_entry_too_large"
    settings.EVALUATION_PACKAGE_LIMITS = {"total_bytes": 3000, "ratio": 10_000}
    data = package({"technical/a.pdf": b"1" * 2000, "technical/b.pdf": b"2" * 2000})
    with pytest.raises(documents.PackageRefused) as exc:
        documents.package_open(data)
    assert exc.value.code == "package_too_large"
    settings.EVALUATION_PACKAGE_LIMITS = {"package_bytes": 100}
    with pytest.raises(documents.PackageRefused) as exc:
        documents.read_limited(io.BytesIO(b"x" * 101), documents.limits())
    assert exc.value.code == "package_too_large"


def test_an_entry_that_lies_about_its_size_is_refused_when_read():
    data = bytearray(package({"technical/a.pdf": b"%PDF-1.4 " + b"A" * 5000}))
    # Shrink the declared size in the central directory: the reader stops there, the
    # checksum fails, nothing beyond the declared size is produced.
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24:cd + 28] = (100).to_bytes(4, "little")
    pkg = documents.package_open(bytes(data))
    with pytest.raises(documents.PackageRefused) as exc:
        pkg.read(pkg.technical[0])
    assert exc.value.code == "package_damaged"


def test_links_and_encrypted_entries_are_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        info = zipfile.ZipInfo("technical/link.pdf")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(documents.PackageRefused) as exc:
        documents.package_open(out.getvalue())
    assert exc.value.code == "package_link"
    data = bytearray(package({"technical/a.pdf": b"%PDF"}))
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 8] |= 0x1  # the encrypted flag in the central directory
    with pytest.raises(documents.PackageRefused) as exc:
        documents.package_open(bytes(data))
    assert exc.value.code == "package_encrypted"


def test_an_unsafe_package_is_served_in_neither_stage_and_the_page_says_why():
    def make(item):  # the offending entry's name names the bidder
        return package({"technical/a.pdf": b"%PDF-1.4",
                        f"qualification/{item.bid.bidder.name_en}.pdf":
                            b"%PDF-1.4\n" + b"\0" * (8 * documents.MIB)})

    committee, users, _ = anonymous_room(make=make)
    client = verified_client(users[0])
    code = keys(committee, "technical")[0]
    org = org_of(committee, code)
    named = f"b{committee.bids.get(code=code).pk}"
    for key in (code, named):
        html = client.get(url(committee, f"bids/{key}/")).content.decode()
        assert 'data-code="package_ratio"' in html
        for tail in ("document", "download"):
            r = client.get(url(committee, f"bids/{key}/{tail}"))
            assert r.status_code == 409 and "ZIP bomb" in r.content.decode()
            if key == code:  # the refusal under the code names no file
                assert org.name_en not in r.content.decode()
                assert org.name_en not in html


def test_a_gbk_file_name_from_a_chinese_zip_tool_is_read():
    data = package({"technical/a.pdf": b"%PDF", "qualification/XXXX.pdf": b"%PDF"})
    # Windows ZIP tools write GBK names without the UTF-8 flag.
    data = data.replace(b"XXXX", "资质".encode("gbk"))
    names = [e.name for e in documents.package_open(data).others]
    assert names == ["qualification/资质.pdf"]


# --- tenders without 暗标 ---------------------------------------------------------------------


def test_a_tender_without_anonymous_bids_serves_the_whole_document_unchanged(tmp_path):
    committee, users, _, _ = formed()
    attach_documents(committee.tender, make=convention_package)
    committee = elect(committee, users)
    committee = run_stage(committee, users, "qualification")
    client = verified_client(users[0])
    code = keys(committee, "technical")[0]
    eb = documents_bid(committee, code)
    html = client.get(url(committee, f"bids/{code}/")).content.decode()
    assert "SHA-256" in html and "package_convention" not in html
    r = client.get(url(committee, f"bids/{code}/download"))
    outer = zipfile.ZipFile(io.BytesIO(r.content))
    inner_name = next(n for n in outer.namelist() if n != "WATERMARK.txt")
    inner = zipfile.ZipFile(io.BytesIO(outer.read(inner_name)))
    assert len(inner.namelist()) == 4 and "technical/01-施工方案.pdf" in inner.namelist()
    # Technical files inside are the bidder's own: not stripped.
    assert eb.bid.bidder.name_en.encode() in inner.read("technical/02-schedule.pdf")


def test_a_plain_pdf_bid_without_anonymous_bids_is_still_shown_inline(tmp_path):
    committee, users, _, _ = formed()
    attach_documents(committee.tender)
    key = keys(committee, "qualification")[0]
    r = verified_client(users[0]).get(url(committee, f"bids/{key}/document"))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert "M1" in pdftotext(r.content, tmp_path)


# --- the sanitiser --------------------------------------------------------------------------


def test_strip_pdf_keeps_the_pages_and_drops_every_identifying_field(tmp_path):
    from tests.factories import OrganisationFactory

    org = OrganisationFactory()
    out = strip_pdf(technical_pdf(org, "PAGE TEXT KEPT"))
    assert_anonymous(out, org)
    assert "PAGE TEXT KEPT" in pdftotext(out, tmp_path)
    reader = PdfReader(io.BytesIO(out))
    assert reader.metadata is None and reader.xmp_metadata is None
    assert len(reader.pages) == 1


def test_strip_pdf_refuses_what_is_not_a_readable_pdf():
    for data in (b"not a pdf", b"%PDF-1.4 broken", b""):
        with pytest.raises(SanitiseError):
            strip_pdf(data)
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(SanitiseError):
        strip_pdf(out.getvalue())
