"""The opening record (开标记录): built from plain data, rendered with reportlab in a CJK
font, signed by the platform (pyHanko), published on the tender's page."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from core import timefmt
from core.pdf.fonts import cjk_font
from core.pdf.sign import sign_pdf
from core.pdf.text import lines, para


@dataclass
class RecordRow:
    order: str
    bidder: str
    credit_code: str
    total_price: str
    duration: str
    quality: str
    manager: str
    bond: str
    status: str
    digest: str
    extra: dict = field(default_factory=dict)


@dataclass
class RecordData:
    reference: str
    title: str
    tenderer: str
    agency: str
    max_price: str
    estimate: str
    opening_time: str
    window: str
    announce_mode: str
    merkle_root: str
    merkle_size: int
    rows: list[RecordRow]
    objections: list[tuple[str, str, str, str, str]]  # bidder, time, text, answer, time
    confirmations: list[tuple[str, str, str]]  # bidder, how, time
    closed_at: str
    deadline: str = "—"  # the bid deadline, as the tender page and receipts say it


def _t(dt) -> str:
    return timefmt.document(dt, seconds=True)


def record_data(session) -> RecordData:
    """Everything the record states, read once from the database."""
    from bidding.bids.models import BidBond

    tender = session.tender
    bonds = {b.bidder_id: b for b in BidBond.objects.filter(tender=tender)}
    rows = []
    status_zh = {"decrypted": "已解密", "revoked": "未解密（投标人原因，视为撤销）",
                 "withdrawn": "未解密（非投标人原因，视为撤回）", "pending": "待解密",
                 "rejected": "拒绝：投标人加密所致，托管人亦无法解密（证据已存档）"}
    for item in session.bids.select_related("bid__bidder").order_by(
            "announce_order", "bid__submitted_at"):
        sheet = item.price_sheet or {}
        bond = bonds.get(item.bid.bidder_id)
        bond_text = "未缴" if bond is None else (
            f"{bond.amount:,.2f}" + ("" if bond.from_basic_account else "（非基本账户）"))
        by = {"bidder": "投标人解密", "custodians": "托管人联合解密"}.get(item.decrypted_by, "")
        rows.append(RecordRow(
            order=str(item.announce_order or "—"), bidder=item.bid.bidder.name,
            credit_code=item.bid.bidder.credit_code,
            total_price=str(sheet.get("total_price", "—")),
            duration=str(sheet.get("duration_days", "—")),
            quality=str(sheet.get("quality", "—")),
            manager=f"{sheet.get('project_manager', '—')} {sheet.get('project_manager_id', '')}",
            bond=bond_text, status=f"{status_zh.get(item.status, item.status)} {by}".strip(),
            digest=item.bid.sha256, extra=dict(sheet.get("items") or {}),
        ))
    return RecordData(
        reference=tender.reference, title=tender.title, tenderer=tender.tenderer.name,
        agency=tender.agency.name if tender.agency else "—",
        max_price=f"{tender.max_price:,.2f}", estimate=f"{tender.estimate:,.2f}",
        opening_time=_t(session.started_at),
        window=f"{tender.decryption_window_minutes} 分钟（至 {_t(session.window_ends_at)}）",
        announce_mode=tender.get_announce_mode_display(),
        merkle_root=session.merkle_root, merkle_size=session.merkle_size, rows=rows,
        objections=[(o.bidder.name, _t(o.raised_at), o.text, o.answer or "（未答复）",
                     _t(o.answered_at)) for o in session.objections.select_related("bidder")],
        confirmations=[(c.bidder.name, "逾期未确认，视为确认" if c.deemed else "已确认",
                        _t(c.confirmed_at)) for c in session.confirmations.select_related(
                            "bidder")],
        closed_at=_t(session.closed_at), deadline=timefmt.document(tender.deadline),
    )


def render(data: RecordData) -> bytes:
    font = cjk_font()
    h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=11.5, leading=16, spaceBefore=8,
                        spaceAfter=4)
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    small = ParagraphStyle("s", fontName=font, fontSize=7.5, leading=10, wordWrap="CJK")
    grid = TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b1")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ecf5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ])

    def p(text, style=body):
        return para(text, style)

    story = [
        p("开标记录 / Bid Opening Record", h1),
        p(f"{data.reference}　{data.title}"),
        Spacer(1, 3 * mm),
    ]
    facts = [
        ("招标人 Tenderer", data.tenderer), ("招标代理 Agency", data.agency),
        ("投标截止时间 Bid deadline", data.deadline),
        ("开标时间 Opening time", data.opening_time), ("解密时限 Decryption window", data.window),
        ("最高投标限价 Maximum price（元）", data.max_price),
        ("唱标方式 Announcement", data.announce_mode),
        ("投标文件数 Envelopes at deadline", str(data.merkle_size)),
        ("Merkle 根 Root of envelope digests", data.merkle_root),
    ]
    t = Table([[p(k), p(v)] for k, v in facts], colWidths=[70 * mm, 190 * mm])
    t.setStyle(grid)
    story += [t, p("唱标 / Announced bids", h2)]
    head = ["序", "投标人", "投标报价（元）", "工期（日）", "质量目标", "项目经理", "保证金",
            "状态", "密文摘要 SHA-256"]
    rows = [[p(h) for h in head]]
    for r in data.rows:
        rows.append([p(r.order), lines(r.bidder, r.credit_code, style=small), p(r.total_price),
                     p(r.duration), p(r.quality), p(r.manager, small), p(r.bond, small),
                     p(r.status, small), p(r.digest, small)])
        for k, v in r.extra.items():
            rows.append(["", p(f"{k}：{v}", small), "", "", "", "", "", "", ""])
    t = Table(rows, colWidths=[8 * mm, 48 * mm, 27 * mm, 16 * mm, 18 * mm, 32 * mm, 24 * mm,
                               30 * mm, 57 * mm], repeatRows=1)
    t.setStyle(grid)
    story.append(t)
    story.append(p("异议及答复 / Objections and answers", h2))
    if data.objections:
        rows = [[p(h) for h in ("投标人", "提出时间", "异议", "答复", "答复时间")]]
        rows += [[p(c) for c in o] for o in data.objections]
        t = Table(rows, colWidths=[45 * mm, 30 * mm, 75 * mm, 75 * mm, 30 * mm], repeatRows=1)
        t.setStyle(grid)
        story.append(t)
    else:
        story.append(p("无异议。No objections were raised."))
    story.append(p("投标人确认 / Confirmations", h2))
    rows = [[p(h) for h in ("投标人", "确认情况", "时间")]]
    rows += [[p(c) for c in conf] for conf in data.confirmations]
    t = Table(rows, colWidths=[90 * mm, 80 * mm, 60 * mm])
    t.setStyle(grid)
    story += [t, Spacer(1, 4 * mm), p(
        f"本记录由平台于 {data.closed_at} 生成并加盖电子签名；各投标人可用其投标回执与 Merkle "
        "包含证明核验本记录包含其投标文件且未被增删替换。This record was generated and "
        "digitally signed by the platform. Each bidder can check with its receipt and its "
        "Merkle inclusion proof that its envelope is among those above and that none was "
        "added, dropped or swapped after the deadline.")]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                      topMargin=12 * mm, bottomMargin=12 * mm,
                      title=f"开标记录 {data.reference}", author="公共资源交易平台").build(story)
    return buf.getvalue()


def opening_record_pdf(session) -> bytes:
    """The signed opening record of a session, as PDF bytes (in Chinese, the language of
    record, with English headings)."""
    from django.utils import translation

    with translation.override("zh-hans"):
        pdf = render(record_data(session))
    return sign_pdf(pdf, reason=f"开标记录 {session.tender.reference}",
                    location="公共资源交易平台")
