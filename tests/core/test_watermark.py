"""Watermarked downloads: every page carries the recipient's text, literally, and so does
the metadata; non-PDF documents go out as a ZIP with WATERMARK.txt."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen import canvas

from core.pdf.watermark import (
    WatermarkError,
    watermark_lines,
    watermark_package,
    watermark_pdf,
)
from tests.conftest import require

HOSTILE = 'Zhang <b>bold</b> & <font color="red">x</font> <img src="/etc/passwd"/>'
LINES = [f"{HOSTILE} E-0042", "GGZY-2026-0001 评标专家 张三", "2026-12-06 08:00:00 UTC"]


def _source_pdf(pages: int = 3) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for i in range(pages):
        if i == 1:
            c.setPageSize(landscape(A4))
        else:
            c.setPageSize(A4)
        c.setFont("Helvetica", 12)
        c.drawString(72, 500, f"ORIGINAL PAGE {i + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


def _page_text(pdf: bytes, page: int, tmp_path) -> str:
    require(shutil.which("pdftotext") is not None, "poppler-utils (pdftotext) is not installed")
    path = tmp_path / "w.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-enc", "UTF-8",
                           str(path), "-"], capture_output=True, check=True, timeout=60)
    return done.stdout.decode("utf-8")


def test_every_page_carries_the_watermark_and_keeps_its_content(tmp_path):
    out = watermark_pdf(io.BytesIO(_source_pdf()), LINES)
    assert len(PdfReader(io.BytesIO(out)).pages) == 3
    for page in (1, 2, 3):
        text = _page_text(out, page, tmp_path)
        assert f"ORIGINAL PAGE {page}" in text
        for line in LINES:
            assert line in text, (page, line, text)


def test_markup_in_the_watermark_appears_literally(tmp_path):
    out = watermark_pdf(_source_pdf(1), [HOSTILE])
    text = _page_text(out, 1, tmp_path)
    for literal in ("<b>bold</b>", "&", '<font color="red">', '<img src="/etc/passwd"/>'):
        assert literal in text
    assert "&amp;" not in text


def test_the_watermark_is_in_the_metadata():
    out = watermark_pdf(_source_pdf(1), LINES)
    meta = PdfReader(io.BytesIO(out)).metadata
    joined = " | ".join(LINES)
    assert meta["/GGZYWatermark"] == joined and meta["/Subject"] == joined


def test_control_characters_are_dropped_and_empty_text_is_refused(tmp_path):
    out = watermark_pdf(_source_pdf(1), ["A\x00B\x1bC"])
    assert "ABC" in _page_text(out, 1, tmp_path)
    with pytest.raises(ValueError, match="needs some text"):
        watermark_pdf(_source_pdf(1), ["\x00", "  "])


def test_a_file_that_is_not_a_pdf_is_refused():
    with pytest.raises(WatermarkError):
        watermark_pdf(b"PK\x03\x04 not a pdf at all", LINES)


def test_the_usual_lines_name_who_which_tender_and_when_in_utc():
    at = datetime(2026, 12, 6, 16, 30, tzinfo=UTC)
    assert watermark_lines(name="张三", code="E-7", tender="GGZY-1", at=at) == [
        "张三 E-7", "GGZY-1", "2026-12-07 00:30:00 北京时间"]


def test_a_non_pdf_goes_out_as_a_zip_with_the_original_and_watermark_txt():
    original = b"PK\x03\x04 pretend docx bytes \x00\xff"
    blob = watermark_package("../../etc/投标文件.docx", original, LINES)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert sorted(zf.namelist()) == sorted(["WATERMARK.txt", "投标文件.docx"])
        assert zf.read("投标文件.docx") == original
        assert zf.read("WATERMARK.txt").decode("utf-8").splitlines() == LINES
        assert HOSTILE in zf.comment.decode("utf-8")
