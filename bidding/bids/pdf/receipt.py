"""The bid receipt as a PDF: the same signed statement as the JSON, for the file."""

from __future__ import annotations

import io
import json

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from core import platform_keys, timefmt
from core.pdf.fonts import cjk_font
from core.pdf.text import para


def receipt_pdf(bid) -> bytes:
    """Render a bid's receipt: tender, bidder, digest, size, server time, signature."""
    r = bid.receipt
    tender = bid.tender
    local = timezone.localtime(bid.submitted_at)
    rows = [
        ("招标项目 Tender", f"{tender.reference}  {tender.title}"),
        ("投标人 Bidder", f"{bid.bidder.name}（{bid.bidder.credit_code}）"),
        ("版本 Version", str(bid.version)),
        ("投标截止时间 Bid deadline", timefmt.document(tender.deadline)),
        ("接收时间 Server time", f"{timefmt.document(local, seconds=True)} ({r['server_time']})"),
        ("密文大小 Size", f"{bid.size:,} bytes"),
        ("密文摘要 SHA-256", r["sha256"]),
        ("报价单摘要 Price sheet SHA-256", bid.price_sheet_sha256),
    ]
    return signed_receipt_pdf(
        r, rows=rows, title="投标文件接收回执 / Bid Receipt",
        doc_title=f"投标文件接收回执 {tender.reference}",
        intro="本平台已于下列时间收到贵单位加密投标文件。开标前任何人无法解密。"
              "The platform received your sealed bid at the time below. Nobody can "
              "decrypt it before the opening.",
        verify="python -m ggzy_bid verify-receipt receipt.json --platform-key "
               "platform.pub --file bid.ggzy")


def signed_receipt_pdf(r: dict, *, rows: list[tuple[str, str]], title: str, doc_title: str,
                       intro: str, verify: str) -> bytes:
    """A signed receipt (``crypto.receipts``) as a PDF: ``rows`` (label, value; escaped),
    then the platform key and signature rows, how to verify, and the JSON itself. Shared
    by every stage that receives sealed bytes (bids; the award's second price round)."""
    font = cjk_font()
    title_style = ParagraphStyle("t", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    body = ParagraphStyle("b", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    mono = ParagraphStyle("m", fontName="Courier", fontSize=8, leading=11, wordWrap="CJK")
    rows = [*rows, ("平台公钥指纹 Platform key", r["key"]),
            ("签名 Signature (Ed25519)", r["signature"])]
    table = Table(
        [[para(k, body), para(v, mono if len(v) > 60 else body)] for k, v in rows],
        colWidths=[48 * mm, 122 * mm],
    )
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#b8c1cc")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=doc_title,
                            author="公共资源交易平台", leftMargin=20 * mm, rightMargin=20 * mm)
    doc.build([
        para(title, title_style),
        para(intro, body),
        Spacer(1, 6 * mm), table, Spacer(1, 6 * mm),
        para("核验：" + verify, body),
        para(f"Platform verify key (Ed25519, base64): {platform_keys.verify_key_b64()}", mono),
        Spacer(1, 4 * mm),
        para("Signed receipt (JSON):", body),
        para(json.dumps(r, ensure_ascii=False, sort_keys=True), mono),
    ])
    return buf.getvalue()
