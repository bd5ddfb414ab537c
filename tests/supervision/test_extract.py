"""Text comes out of every bid file type by its content, not its name, and a corrupt or
hostile file gives a reason, never an exception or a silent empty text."""

import io
import zipfile

import docx
import openpyxl
from reportlab.pdfgen import canvas

from supervision.extract import Extracted, detect, extract, extract_file


def make_pdf(*lines: str) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    y = 800
    for line in lines:
        c.drawString(72, y, line)
        y -= 20
    c.showPage()
    c.save()
    return buf.getvalue()


def make_docx(paragraphs, table=None) -> bytes:
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for i, row in enumerate(table):
            for j, v in enumerate(row):
                t.cell(i, j).text = v
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def make_xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


OFD_PAGE = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer>'
            '<ofd:TextObject ID="1"><ofd:TextCode X="0" Y="0">{0}</ofd:TextCode>'
            '</ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>')


def make_ofd(*pages: str, raw_page: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", '<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.'
                              'org/2016"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml'
                              '</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
        for n, text in enumerate(pages):
            z.writestr(f"Doc_0/Pages/Page_{n}/Content.xml", OFD_PAGE.format(text))
        if raw_page is not None:
            z.writestr(f"Doc_0/Pages/Page_{len(pages)}/Content.xml", raw_page)
    return buf.getvalue()


def test_pdf_text_is_extracted():
    r = extract(make_pdf("Fujian Road Works bid", "Construction plan chapter one"))
    assert r.ok and r.kind == "pdf"
    assert "Fujian Road Works bid" in r.text and "chapter one" in r.text


def test_docx_paragraphs_and_tables_are_extracted():
    r = extract(make_docx(["施工组织设计：本公司承诺按期完工。"],
                          table=[["项目经理", "张三"], ["工期", "365天"]]))
    assert r.ok and r.kind == "docx"
    assert "本公司承诺按期完工" in r.text and "张三" in r.text and "365天" in r.text


def test_xlsx_cell_values_are_extracted():
    r = extract(make_xlsx([["清单项", "单价"], ["土方开挖", 35.5], ["混凝土", 480]]))
    assert r.ok and r.kind == "xlsx"
    assert "土方开挖" in r.text and "35.5" in r.text and "480" in r.text


def test_ofd_text_codes_are_extracted_in_page_order():
    r = extract(make_ofd("第一页投标函", "第二页报价"))
    assert r.ok and r.kind == "ofd"
    assert r.text.index("第一页投标函") < r.text.index("第二页报价")


def test_plain_text_in_utf8_and_gb18030_is_extracted():
    assert extract("投标文件 UTF-8".encode()).text == "投标文件 UTF-8"
    r = extract("投标文件 国标".encode("gb18030"))
    assert r.ok and r.kind == "text" and r.text == "投标文件 国标"


def test_the_type_is_read_from_the_content_not_the_name():
    # A DOCX read from a file object: no name anywhere, the members tell.
    assert detect(make_docx(["x"])) == "docx"
    assert detect(make_xlsx([["x"]])) == "xlsx"
    assert detect(make_ofd("x")) == "ofd"
    assert extract_file(io.BytesIO(make_pdf("named nothing"))).kind == "pdf"


def test_a_corrupt_pdf_gives_a_reason_not_an_exception():
    r = extract(b"%PDF-1.7\n this is not a PDF body at all")
    assert isinstance(r, Extracted) and not r.ok and r.kind == "pdf"
    assert r.text == "" and "PDF" in r.error


def test_a_truncated_docx_gives_a_reason():
    data = make_docx(["hello"])
    r = extract(data[: len(data) // 2])
    assert not r.ok and "damaged" in r.error


def test_an_empty_file_and_an_unknown_binary_give_reasons():
    assert extract(b"").error == "the file is empty"
    r = extract(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not r.ok and "binary" in r.error


def test_a_zip_bomb_is_refused_on_its_declared_size_before_reading(settings):
    settings.EXTRACT_MAX_UNZIPPED_MB = 1
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", "<OFD/>")
        z.writestr("Doc_0/Pages/Page_0/Content.xml", b"<a>" + b" " * (4 * 1024 * 1024) + b"</a>")
    data = buf.getvalue()
    assert len(data) < 64 * 1024  # small on the wire, large unpacked
    r = extract(data)
    assert not r.ok and "zip bomb" in r.error


def test_an_ofd_page_with_a_doctype_entity_is_refused():
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
              '<Page><TextObject><TextCode>&lol2;</TextCode></TextObject></Page>')
    r = extract(make_ofd("fine page", raw_page=laughs))
    assert not r.ok and r.kind == "ofd" and "DOCTYPE" in r.error


def test_an_ofd_without_pages_gives_a_reason():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("OFD.xml", "<OFD/>")
    r = extract(buf.getvalue())
    assert not r.ok and "Content.xml" in r.error


def test_text_beyond_the_cap_is_cut_and_marked_truncated(settings):
    settings.EXTRACT_MAX_TEXT_MB = 1
    r = extract(b"a" * (3 * 1024 * 1024))
    assert r.ok and r.truncated and len(r.text) == 1024 * 1024


def test_a_file_over_the_input_cap_is_refused(settings):
    settings.EXTRACT_MAX_INPUT_MB = 1
    r = extract_file(io.BytesIO(b"x" * (2 * 1024 * 1024)))
    assert not r.ok and "limit" in r.error
