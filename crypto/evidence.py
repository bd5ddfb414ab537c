"""Evidence a bidder's tool reports with an upload: claims, not proof.

Supervision compares bids for signs of collusion (the same author, the same
machine). The tool reads these *before* sealing, because afterwards only the
bidder can read the file. Everything here is best effort: a file it cannot parse
gives no claim, never an error, and nothing here is trusted by the platform.

* :func:`file_metadata` reads the author and creator of a PDF (the document
  information dictionary: ``/Author``, ``/Creator``, ``/Producer``), an Office
  Open XML file (``.docx``/``.xlsx``/``.pptx``: ``docProps/core.xml``
  ``dc:creator`` and ``cp:lastModifiedBy``, ``docProps/app.xml`` ``Company``
  and ``Application``) or an OFD file (``OFD.xml`` ``DocInfo``). It reads in
  bounded memory whatever the file size.
* :func:`machine_fingerprint` is the SHA-256 of the host name, the MAC address
  (``uuid.getnode()``, left out when Python had to make one up) and
  ``/etc/machine-id`` when readable. Only the hash leaves the machine.

The keys match the claims the upload API accepts: ``file_author``,
``file_creator``, ``file_producer``, ``file_last_modified_by``,
``file_company``, ``machine_fingerprint``.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import socket
import uuid
import zipfile
from pathlib import Path
from xml.etree import ElementTree

MAX_VALUE_LEN = 300
_BLOCK = 1024 * 1024
_OVERLAP = 64
_TAIL = 1024 * 1024
_DICT_WINDOW = 64 * 1024
_XML_LIMIT = 1024 * 1024

_INFO_REF = re.compile(rb"/Info\s+(\d+)\s+(\d+)\s+R")
_PDF_KEYS = {b"Author": "file_author", b"Creator": "file_creator", b"Producer": "file_producer"}
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}


def _clean(value: str) -> str:
    value = "".join(ch for ch in value if ch.isprintable() or ch == " ")
    return " ".join(value.split())[:MAX_VALUE_LEN]


def _pdf_decode(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF16_BE):
        return raw[2:].decode("utf-16-be", errors="replace")
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", errors="replace")
    return raw.decode("latin-1")  # PDFDocEncoding, near enough


def _pdf_string(data: bytes, at: int) -> str | None:
    """The PDF string object at ``data[at:]`` (literal ``(...)`` or hex ``<...>``)."""
    while at < len(data) and data[at] in b" \t\r\n\f\x00":
        at += 1
    if at >= len(data):
        return None
    out = bytearray()
    if data[at : at + 1] == b"(":
        depth, i = 1, at + 1
        while i < len(data):
            c = data[i]
            if c == 0x5C:  # backslash
                i += 1
                if i >= len(data):
                    break
                d = data[i]
                if d in _ESCAPES:
                    out.append(_ESCAPES[d])
                elif 0x30 <= d <= 0x37:
                    digits = bytes([d])
                    while len(digits) < 3 and i + 1 < len(data) and 0x30 <= data[i + 1] <= 0x37:
                        i += 1
                        digits += bytes([data[i]])
                    out.append(int(digits, 8) & 0xFF)
                elif d == 0x0D:
                    if i + 1 < len(data) and data[i + 1] == 0x0A:
                        i += 1
                elif d != 0x0A:
                    out.append(d)
            elif c == 0x28:
                depth += 1
                out.append(c)
            elif c == 0x29:
                depth -= 1
                if depth == 0:
                    return _pdf_decode(bytes(out))
                out.append(c)
            else:
                out.append(c)
            i += 1
        return None
    if data[at : at + 1] == b"<" and data[at + 1 : at + 2] != b"<":
        end = data.find(b">", at)
        if end < 0:
            return None
        digits = re.sub(rb"\s+", b"", data[at + 1 : end])
        if len(digits) % 2:
            digits += b"0"
        try:
            return _pdf_decode(bytes.fromhex(digits.decode("ascii")))
        except ValueError:
            return None
    return None


def _pdf_dict_values(window: bytes) -> dict:
    """Author/Creator/Producer from the first dictionary in ``window``."""
    start = window.find(b"<<")
    end = window.find(b"endobj", start)
    body = window[start : end if end > 0 else len(window)]
    out = {}
    for key, claim in _PDF_KEYS.items():
        m = re.search(rb"/" + key + rb"(?![A-Za-z0-9])", body)
        if m:
            value = _pdf_string(body, m.end())
            if value and _clean(value):
                out[claim] = _clean(value)
    return out


def _find_last(path: Path, pattern: re.Pattern) -> int | None:
    """Offset of the last match of ``pattern`` in the file, scanning in blocks."""
    found = None
    with open(path, "rb") as f:
        pos = 0
        carry = b""
        while block := f.read(_BLOCK):
            data = carry + block
            base = pos - len(carry)
            for m in pattern.finditer(data):
                found = base + m.start()
            pos += len(block)
            carry = data[-_OVERLAP:]
    return found


def pdf_metadata(path: str | os.PathLike) -> dict:
    """Claims from a PDF's document information dictionary (the newest one)."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(5) != b"%PDF-":
            return {}
        f.seek(max(0, size - _TAIL))
        tail = f.read(_TAIL)
    refs = list(_INFO_REF.finditer(tail))
    if refs:
        num, gen = refs[-1].group(1), refs[-1].group(2)
        obj = re.compile(rb"(?<![0-9])" + num + rb"\s+" + gen + rb"\s+obj\b")
        at = _find_last(path, obj)
        if at is not None:
            with open(path, "rb") as f:
                f.seek(at)
                values = _pdf_dict_values(f.read(_DICT_WINDOW))
            if values:
                return values
    # No usable trailer reference (or an Info object inside a compressed stream):
    # fall back to a dictionary near the end that names an author or creator.
    for key in (b"/Author", b"/Creator", b"/Producer"):
        i = tail.rfind(key)
        if i >= 0:
            start = tail.rfind(b"<<", 0, i)
            if start >= 0:
                return _pdf_dict_values(tail[start : start + _DICT_WINDOW])
    return {}


def _xml_texts(zf: zipfile.ZipFile, name: str) -> dict[str, str]:
    """Local tag name -> text of the top-level children of an XML member."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        return {}
    if info.file_size > _XML_LIMIT:
        return {}
    with zf.open(info) as fh:
        data = fh.read(_XML_LIMIT + 1)
    if b"<!ENTITY" in data or b"<!DOCTYPE" in data:
        return {}
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return {}
    out = {}
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if el.text and el.text.strip() and tag not in out:
            out[tag] = el.text
    return out


def ooxml_metadata(path: str | os.PathLike) -> dict:
    """Claims from an Office Open XML file (``.docx``, ``.xlsx``, ``.pptx``)."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        core = _xml_texts(zf, "docProps/core.xml")
        app = _xml_texts(zf, "docProps/app.xml")
    for claim, value in (
        ("file_author", core.get("creator")),
        ("file_last_modified_by", core.get("lastModifiedBy")),
        ("file_company", app.get("Company")),
        ("file_creator", app.get("Application")),
    ):
        if value and _clean(value):
            out[claim] = _clean(value)
    return out


def ofd_metadata(path: str | os.PathLike) -> dict:
    """Claims from an OFD file (GB/T 33190): ``OFD.xml`` ``DocInfo``."""
    with zipfile.ZipFile(path) as zf:
        info = _xml_texts(zf, "OFD.xml")
    out = {}
    creator = " ".join(v for v in (info.get("Creator"), info.get("CreatorVersion")) if v)
    for claim, value in (("file_author", info.get("Author")), ("file_creator", creator)):
        if value and _clean(value):
            out[claim] = _clean(value)
    return out


def file_metadata(path: str | os.PathLike) -> dict:
    """Author and creator claims of a bid file; ``{}`` when none can be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(5)
        if head == b"%PDF-":
            return pdf_metadata(path)
        if head.startswith(b"PK\x03\x04") and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
            if "OFD.xml" in names:
                return ofd_metadata(path)
            if "docProps/core.xml" in names or "docProps/app.xml" in names:
                return ooxml_metadata(path)
    except (OSError, ValueError, zipfile.BadZipFile, RuntimeError, EOFError):
        return {}
    return {}


def _mac() -> str:
    node = uuid.getnode()
    if node >> 40 & 1:  # multicast bit: Python made a random one up
        return ""
    return f"{node:012x}"


def _machine_id() -> str:
    for name in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            return Path(name).read_text("ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
    return ""


def machine_fingerprint() -> str:
    """Hex SHA-256 of host name, MAC address and machine id (those available)."""
    parts = ["ggzy-machine-v1", socket.gethostname(), _mac(), _machine_id()]
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def claims_for(path: str | os.PathLike, *, tool: str = "") -> dict:
    """Every claim for an upload of the bid file ``path``."""
    out = {"machine_fingerprint": machine_fingerprint()}
    if tool:
        out["tool"] = tool
    out.update(file_metadata(path))
    return out
