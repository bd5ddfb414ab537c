"""Text of a decrypted bid file, for the document screens.

The type is read from the content (magic bytes, then the zip's members), never from a
name: a decrypted bid has no trustworthy name. Every failure comes back as an
``Extracted`` with ``error`` set (a reason a supervisor can read), never as an exception
and never as a silent empty text, because a bid whose text could not be read must not
look like a bid with nothing to compare.

The files come from bidders, so they are hostile until proven otherwise: the input
size, the pages read, the text kept and the zip members' declared uncompressed sizes
are capped before anything is read, and XML with a DOCTYPE (entity expansion) is
refused. pypdf caps each decompressed PDF stream itself (75 MB by default).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree as ET  # noqa: N817 - the standard alias

from django.conf import settings

MB = 1024 * 1024


def _cap(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_input_bytes() -> int:
    """Largest bid file read at all."""
    return _cap("EXTRACT_MAX_INPUT_MB", 200) * MB


def max_text_chars() -> int:
    """Text kept per file; the rest is dropped and the result says it was truncated."""
    return _cap("EXTRACT_MAX_TEXT_MB", 16) * MB


def max_pages() -> int:
    """PDF pages / OFD pages / spreadsheet rows are read up to this many."""
    return _cap("EXTRACT_MAX_PAGES", 5000)


def max_unzipped_bytes() -> int:
    """Sum of a zip's declared uncompressed sizes (zip bombs are refused on this)."""
    return _cap("EXTRACT_MAX_UNZIPPED_MB", 512) * MB


MAX_ZIP_MEMBERS = 20_000
MAX_XML_MEMBER_BYTES = 64 * MB  # one OFD page / DOCX body is never this large honestly


@dataclass
class Extracted:
    """The text of one file (``kind``: pdf, docx, xlsx, ofd, text; "unknown" when the
    type could not be told). ``error`` is the reason nothing usable was extracted;
    ``truncated`` says a cap cut the text (the text kept is still screened)."""

    text: str
    kind: str
    error: str | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class _TooMuch(Exception):
    """The text cap was reached: stop reading, keep what was read."""


class _Text:
    """Collects text up to the cap."""

    def __init__(self):
        self.parts: list[str] = []
        self.size = 0
        self.limit = max_text_chars()
        self.truncated = False

    def add(self, s: str | None) -> None:
        if not s:
            return
        room = self.limit - self.size
        if len(s) > room:
            self.parts.append(s[:room])
            self.size = self.limit
            self.truncated = True
            raise _TooMuch
        self.parts.append(s)
        self.size += len(s)

    def value(self) -> str:
        return "".join(self.parts)


def _fail(kind: str, reason: str) -> Extracted:
    return Extracted("", kind, reason)


def detect(data: bytes) -> str:
    """The file type from the content: pdf, docx, xlsx, ofd, zip (other), badzip,
    text, binary, empty."""
    if not data:
        return "empty"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return "badzip"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "OFD.xml" in names or any(_OFD_PAGE.match(n) for n in names):
            return "ofd"
        return "zip"
    if b"\x00" in data[:8192]:
        return "binary"
    return "text"


def _zip_checked(data: bytes) -> zipfile.ZipFile:
    """The zip, once its declared sizes pass the caps (ValueError says which failed).
    Declared sizes are what zipfile enforces while reading: a member that inflates
    past its declared size raises, so the check holds against a lying header too."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ValueError(f"the archive holds {len(infos)} members (limit {MAX_ZIP_MEMBERS})")
    total = sum(i.file_size for i in infos)
    if total > max_unzipped_bytes():
        raise ValueError(f"the archive would unpack to {total} bytes "
                         f"(limit {max_unzipped_bytes()}): refused as a zip bomb")
    for info in infos:
        if info.filename.endswith((".xml", ".rels")):
            if info.file_size > MAX_XML_MEMBER_BYTES:
                raise ValueError(f"member {info.filename} would unpack to {info.file_size} "
                                 f"bytes: refused as a zip bomb")
            with zf.open(info) as fh:
                head = fh.read(4096)
            if _has_doctype(head):
                raise ValueError(f"member {info.filename} declares a DOCTYPE "
                                 f"(entity expansion is refused)")
    return zf


def _has_doctype(xml: bytes) -> bool:
    low = xml.lower()
    return b"<!doctype" in low or b"<!entity" in low


def _pdf(data: bytes, out: _Text) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise ValueError("the PDF is encrypted")
    for n, page in enumerate(reader.pages):
        if n >= max_pages():
            out.truncated = True
            return
        out.add(page.extract_text() or "")
        out.add("\n")


def _docx(data: bytes, out: _Text) -> None:
    import docx

    document = docx.Document(io.BytesIO(data))
    for p in document.paragraphs:
        out.add(p.text)
        out.add("\n")
    for table in document.tables:
        for row in table.rows:
            seen = set()
            for cell in row.cells:
                # Merged cells repeat the same cell object along the row.
                if id(cell._tc) in seen:
                    continue
                seen.add(id(cell._tc))
                out.add(cell.text)
                out.add("\t")
            out.add("\n")


def _xlsx(data: bytes, out: _Text) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        rows = 0
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                rows += 1
                if rows > max_pages() * 100:
                    out.truncated = True
                    return
                cells = [str(v) for v in row if v is not None and str(v) != ""]
                if cells:
                    out.add("\t".join(cells))
                    out.add("\n")
    finally:
        wb.close()


_OFD_PAGE = re.compile(r"^/?Doc_(\d+)/Pages/Page_(\d+)/Content\.xml$")


def _ofd(zf: zipfile.ZipFile, out: _Text) -> None:
    pages = sorted((int(m.group(1)), int(m.group(2)), name) for name in zf.namelist()
                    if (m := _OFD_PAGE.match(name)))
    if not pages:
        raise ValueError("the OFD package has no Doc_N/Pages/Page_N/Content.xml")
    for n, (_, _, name) in enumerate(pages):
        if n >= max_pages():
            out.truncated = True
            return
        xml = zf.read(name)
        if _has_doctype(xml):  # checked on the head already; the whole page costs little
            raise ValueError(f"{name} declares a DOCTYPE (entity expansion is refused)")
        root = ET.fromstring(xml)
        for obj in root.iter():
            if not obj.tag.endswith("TextObject"):
                continue
            for code in obj.iter():
                if code.tag.endswith("TextCode"):
                    out.add(code.text or "")
            out.add("\n")


def _plain(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ValueError("the text is neither UTF-8 nor GB18030") from exc


_REASON = {
    "empty": "the file is empty",
    "zip": "an archive that is not DOCX, XLSX or OFD",
    "badzip": "a damaged zip archive (DOCX, XLSX or OFD) that cannot be opened",
    "binary": "a binary file of a type that is not PDF, DOCX, XLSX or OFD",
}


def extract(data: bytes) -> Extracted:
    """The text of one decrypted bid file, or the reason it could not be read."""
    if len(data) > max_input_bytes():
        return _fail("unknown", f"the file is {len(data)} bytes (limit {max_input_bytes()})")
    kind = detect(data)
    if kind in _REASON:
        return _fail("unknown" if "zip" in kind else kind, _REASON[kind])
    out = _Text()
    try:
        if kind == "text":
            out.add(_plain(data))
        elif kind == "pdf":
            _pdf(data, out)
        else:
            zf = _zip_checked(data)
            if kind == "ofd":
                _ofd(zf, out)
            elif kind == "docx":
                _docx(data, out)
            else:
                _xlsx(data, out)
    except _TooMuch:
        pass
    except Exception as exc:  # noqa: BLE001 - any parser failure is this file's reason
        reason = str(exc).strip() or type(exc).__name__
        return _fail(kind, f"could not read the {kind.upper()} file: {reason[:300]}")
    return Extracted(out.value(), kind, None, out.truncated)


def extract_file(fileobj) -> Extracted:
    """extract() on an open binary file (e.g. Django storage), read up to the input cap."""
    try:
        data = fileobj.read(max_input_bytes() + 1)
    except OSError as exc:
        return _fail("unknown", f"the file could not be read: {exc}")
    return extract(data)
