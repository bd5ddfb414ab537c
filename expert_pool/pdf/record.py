"""The draw record as a PDF: parameters, counts, exclusions by reason, the commitment,
the public input and, after the award, the revealed secret; signed by the platform.

Every string that comes from users or data goes through ``core.pdf.text.para``, which
escapes it (``xml.sax.saxutils.escape``) so reportlab never reads it as markup."""

from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from core import timefmt
from core.pdf.fonts import cjk_font
from core.pdf.sign import sign_pdf
from core.pdf.text import para

from .. import avoidance, selectors


def _table(rows, body, mono):
    t = Table([[para(k, body), para(v, mono if len(str(v)) > 60 else body)] for k, v in rows],
              colWidths=[55 * mm, 115 * mm])
    t.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#b8c1cc")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return t


def draw_record_pdf(draw) -> bytes:
    """Render and sign the record of ``draw`` (names never appear: counts and digests)."""
    font = cjk_font()
    title = ParagraphStyle("t", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    h2 = ParagraphStyle("h", fontName=font, fontSize=12, leading=18, spaceBefore=6)
    body = ParagraphStyle("b", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    mono = ParagraphStyle("m", fontName="Courier", fontSize=8, leading=11, wordWrap="CJK")
    tender = draw.tender
    p = draw.params
    progress = selectors.draw_progress(draw)
    params = [
        ("招标项目 Tender", f"{tender.reference}  {tender.title}"),
        ("抽取 Draw", f"#{draw.pk} (attempt {draw.attempt}) · {draw.get_status_display()}"),
        ("申请时间 Requested", timefmt.document(draw.requested_at, seconds=True)),
        ("委员会 Committee", f"{p.get('committee_size')} = {p.get('tenderer_reps')} 招标人代表 "
                             f"+ {p.get('committee_size', 0) - p.get('tenderer_reps', 0)} 专家"),
        ("地域 Region", f"{p.get('region_mode')} ({p.get('region')})"),
        ("备选 Backups per specialty", str(p.get("backups"))),
    ]
    groups = [(f"{g['specialty']} × {g['count']}",
               f"{len(g['candidates'])} eligible · digest {g['digest']}") for g in draw.groups]
    excl = [(str(avoidance.REASON_LABELS[k]), str(n))
            for k, n in selectors.exclusion_counts(draw).items()]
    crypto_rows = [
        ("承诺 Commitment", draw.commitment),
        ("排除名单摘要 Exclusions digest", draw.exclusions_digest),
        ("公共随机源 Beacon", f"{draw.beacon} {draw.beacon_round}"),
        ("公共输入 Public input", draw.public_input or "—"),
        ("秘密 Secret", bytes(draw.secret).hex() if draw.secret_revealed_at
         else "评标结束、中标后公开 revealed after the award"),
        ("平台签名 Signature", draw.signature or "—"),
    ]
    counts = [("席位 Seats", str(progress["seats"])), ("已确认 Confirmed",
              str(progress["confirmed"])), ("已承诺 Pledged", str(progress["pledged"])),
              ("拒绝 Declined", str(progress["declined"])),
              ("未答复 No answer", str(progress["timed_out"]))]
    if draw.failure_reason:
        counts.append(("失败原因 Failure", draw.failure_reason))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=f"评标专家抽取记录 {tender.reference}",
                            author="公共资源交易平台", leftMargin=20 * mm, rightMargin=20 * mm)
    doc.build([
        para("评标专家抽取记录 / Expert Draw Record", title),
        _table(params, body, mono), Spacer(1, 4 * mm),
        para("专业配额 Quotas", h2), _table(groups, body, mono), Spacer(1, 4 * mm),
        para("回避排除（按原因）Exclusions by reason", h2), _table(excl, body, mono),
        Spacer(1, 4 * mm),
        para("可验证随机 Verifiable draw", h2), _table(crypto_rows, body, mono),
        Spacer(1, 4 * mm),
        para("进度 Progress", h2), _table(counts, body, mono), Spacer(1, 4 * mm),
        para("核验 Verify: python manage.py verify_draw " + str(draw.pk), body),
    ])
    return sign_pdf(buf.getvalue(), reason="Expert draw record", location="GGZY")
