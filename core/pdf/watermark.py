"""Watermarked copies of documents handed out for download (the evaluation room).

``watermark_pdf`` stamps every page with a diagonal, semi-transparent block of text (the
expert's name and code, the tender, the centre's time: whatever lines the caller passes) and
a small line along the foot of the page, and writes the same text into the document's
metadata (``/Subject``, ``/Keywords`` and ``/GGZYWatermark``). A leaked copy names whom
it was given to. The text is drawn with the canvas's plain string calls, which parse no
markup, after control characters are removed: ``<b>``, ``&`` or ``<font`` in a name
appear literally. The CJK font comes from ``core.pdf.fonts``.

Documents that are not PDFs cannot be stamped without a renderer for each format, so
``watermark_package`` hands them out as a ZIP holding the original file and a
``WATERMARK.txt`` with the same lines (and the ZIP comment). Limitation: the original
inside the ZIP carries no mark of its own; whoever extracts it can pass it on unmarked.
The download audit event (``open_bid_document``) is what names the recipient then.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import BinaryIO

from reportlab.pdfgen import canvas

from core import timefmt
from core.pdf.fonts import cjk_font

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: How opaque the stamp is: readable over the page, not hiding it.
ALPHA = 0.18
GREY = (0.45, 0.45, 0.45)


class WatermarkError(ValueError):
    """The document could not be watermarked (not a PDF, encrypted, damaged)."""


def clean_lines(text: str | Iterable[str]) -> list[str]:
    """The watermark as a list of single lines without control characters."""
    parts = [text] if isinstance(text, str) else list(text)
    out = []
    for part in parts:
        for line in str(part).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            line = _CONTROL.sub("", line).strip()
            if line:
                out.append(line)
    if not out:
        raise ValueError("a watermark needs some text")
    return out


def watermark_lines(*, name: str, code: str, tender: str, at: datetime | None = None
                    ) -> list[str]:
    """The usual lines: who (name and expert code), which tender, when (the centre's
    time, as every document says it: ``core.timefmt.document``)."""
    return [f"{name} {code}", str(tender),
            timefmt.document(at or datetime.now(UTC), seconds=True)]


def _overlay(width: float, height: float, lines: list[str]) -> bytes:
    """One page of the given size with the stamp on a transparent background."""
    font = cjk_font()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height))
    c.setFillColorRGB(*GREY)
    c.setFillAlpha(ALPHA)
    diagonal = math.hypot(width, height)
    widest = max(c.stringWidth(line, font, 10) for line in lines)
    size = max(8.0, min(48.0, 10 * 0.7 * diagonal / max(widest, 1)))
    c.saveState()
    c.translate(width / 2, height / 2)
    c.rotate(math.degrees(math.atan2(height, width)))
    lead = size * 1.3
    top = lead * (len(lines) - 1) / 2
    for i, line in enumerate(lines):
        c.setFont(font, size)
        c.drawCentredString(0, top - i * lead - size / 3, line)
    c.restoreState()
    # The same text along the foot of the page, small: also what text extraction finds.
    foot = " · ".join(lines)
    foot_size = 7.0
    while foot_size > 4 and c.stringWidth(foot, font, foot_size) > width - 24:
        foot_size -= 0.5
    c.setFillAlpha(0.5)
    c.setFont(font, foot_size)
    c.drawString(12, 8, foot)
    c.showPage()
    c.save()
    return buf.getvalue()


def watermark_pdf(src: BinaryIO | bytes, text: str | Iterable[str]) -> bytes:
    """Return the PDF ``src`` (a binary file-like or bytes) with every page stamped with
    ``text`` (a string or lines) and the text in its metadata. Raises
    ``WatermarkError`` for a file that is not a readable, unencrypted PDF."""
    # pypdf is imported where it is used: a web process starts without it (test_startup).
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError

    lines = clean_lines(text)
    data = src if isinstance(src, bytes | bytearray) else src.read()
    try:
        reader = PdfReader(io.BytesIO(bytes(data)))
        if reader.is_encrypted and not reader.decrypt(""):
            raise WatermarkError("the PDF is encrypted with a password")
        pages = list(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, WatermarkError):
            raise
        raise WatermarkError(f"not a readable PDF: {exc}") from exc
    writer = PdfWriter()
    stamps: dict[tuple[float, float], object] = {}
    for page in pages:
        box = page.mediabox
        width, height = float(box.width), float(box.height)
        key = (round(width, 2), round(height, 2))
        if key not in stamps:
            stamps[key] = PdfReader(io.BytesIO(_overlay(width, height, lines))).pages[0]
        added = writer.add_page(page)
        # The overlay is drawn from (0, 0); move it to the page's own origin.
        added.merge_translated_page(stamps[key], float(box.left), float(box.bottom),
                                    over=True)
    joined = " | ".join(lines)
    meta = {}
    if reader.metadata:
        meta.update({k: str(v) for k, v in reader.metadata.items() if isinstance(k, str)})
    meta.update({"/Subject": joined, "/Keywords": joined, "/GGZYWatermark": joined})
    writer.add_metadata(meta)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _safe_name(name: str) -> str:
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = _CONTROL.sub("", base).strip().lstrip(".")
    return base[:200] or "document"


def watermark_package(name: str, data: bytes, text: str | Iterable[str]) -> bytes:
    """A ZIP of the original file (as ``name``, path parts removed) and WATERMARK.txt
    naming the recipient; for documents that are not PDFs. See the module docstring
    for the limitation."""
    lines = clean_lines(text)
    note = "\n".join(lines) + "\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        inner = _safe_name(name)
        if inner.upper() == "WATERMARK.TXT":
            inner = f"document-{inner}"
        zf.writestr("WATERMARK.txt", note.encode("utf-8"))
        zf.writestr(inner, bytes(data))
        zf.comment = note.encode("utf-8")[:65535]
    return out.getvalue()
