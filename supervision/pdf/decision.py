"""The penalty decision letter (行政处罚决定书): built from plain data, rendered with
reportlab in a CJK font (every user-entered string escaped by ``core.pdf.text``), signed by
the platform (pyHanko)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from core import timefmt
from core.pdf.fonts import cjk_font
from core.pdf.sign import sign_pdf
from core.pdf.text import lines, para

KIND_ZH = {"warning": "警告 Warning", "fine": "罚款 Fine",
           "debarment": "取消投标资格 Disqualified from bidding",
           "expert_suspension": "禁止参加评标 Barred from evaluating",
           "expert_removal": "取消评标专家资格 Removed from the expert pool"}
SUBJECT_ZH = {"bidder": "投标人", "tenderer": "招标人", "agency": "招标代理", "expert": "评标专家"}
SOURCE_ZH = {"flag": "风险预警 Red flag", "complaint": "投诉 Complaint",
             "inspection": "检查 Inspection", "spot_check": "抽查 Spot check"}


@dataclass
class DecisionData:
    number: str
    case_number: str
    source: str
    tender: str
    opened_at: str
    decided_at: str
    decided_by: str
    findings: str
    legal_basis: str
    reasons: str
    sanctions: list[tuple[str, str, str, str]]  # party, penalty, amount, period
    evidence: list[tuple[str, str, str]]  # description, sha256, audit reference


def _day(d) -> str:
    return d.strftime("%Y-%m-%d") if d else "—"


def decision_data(decision) -> DecisionData:
    """Everything the letter states, read once from the database."""
    case = decision.case
    sanctions = []
    for s in decision.sanctions.all():
        period = (f"{_day(s.starts)} 至 {_day(s.until)}" if s.until else
                  (f"{_day(s.starts)} 起" if s.kind == "expert_removal" else "—"))
        sanctions.append((
            f"{SUBJECT_ZH.get(s.subject_kind, s.subject_kind)} {s.subject_name}\n{s.subject_code}",
            KIND_ZH.get(s.kind, s.kind), f"{s.amount:,.2f} 元" if s.amount is not None else "—",
            period))
    evidence = [(e.description, e.sha256 or "—",
                 (f"#{e.record_event_seq} {e.record_event_hash[:16]}…"
                  if e.record_event_seq else "—")
                 + f"\n#{e.event_seq} {(e.event_hash or '')[:16]}…")
                for e in case.evidence.all()]
    return DecisionData(
        number=decision.number, case_number=case.number,
        source=f"{SOURCE_ZH.get(case.source_kind, case.source_kind)} · {case.source_display}",
        tender=case.tender_reference or "—",
        opened_at=timefmt.day(case.opened_at),
        decided_at=timefmt.document(decision.decided_at),
        decided_by=decision.decided_by.get_full_name() or decision.decided_by.username,
        findings=case.reasons, legal_basis=decision.legal_basis, reasons=decision.reasons,
        sanctions=sanctions, evidence=evidence)


def render(data: DecisionData) -> bytes:
    font = cjk_font()
    h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=4,
                        alignment=1)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=11.5, leading=16, spaceBefore=8,
                        spaceAfter=4)
    body = ParagraphStyle("b", fontName=font, fontSize=9.5, leading=14, wordWrap="CJK")
    small = ParagraphStyle("s", fontName=font, fontSize=7.5, leading=10, wordWrap="CJK")
    grid = TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b1")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ecf5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ])

    def p(text, style=body):
        return para(text, style)

    story = [p("行政处罚决定书 / Penalty Decision", h1), p(data.number), Spacer(1, 3 * mm)]
    facts = [("立案编号 Case", data.case_number), ("案件来源 Source", data.source),
             ("项目 Tender", data.tender), ("立案日期 Opened", data.opened_at),
             ("决定日期 Decided", data.decided_at), ("承办人 Decided by", data.decided_by)]
    t = Table([[p(k), p(v)] for k, v in facts], colWidths=[45 * mm, 135 * mm])
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b1")),
                           ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [t, p("查明的事实 / Findings", h2), p(data.findings),
              p("处罚依据 / Legal basis", h2), p(data.legal_basis),
              p("处罚理由 / Reasons", h2), p(data.reasons), p("处罚决定 / Penalties", h2)]
    rows = [[p(h) for h in ("当事人 Party", "处罚 Penalty", "金额 Amount", "期限 Period")]]
    rows += [[lines(*party.split("\n"), style=small), p(kind), p(amount), p(period)]
             for party, kind, amount, period in data.sanctions]
    t = Table(rows, colWidths=[60 * mm, 50 * mm, 30 * mm, 40 * mm], repeatRows=1)
    t.setStyle(grid)
    story.append(t)
    story.append(p("证据 / Evidence (platform records, with audit references)", h2))
    if data.evidence:
        rows = [[p(h) for h in ("记录 Record", "SHA-256", "审计事件 Audit events")]]
        rows += [[p(d, small), p(h, small), lines(*ref.split("\n"), style=small)]
                 for d, h, ref in data.evidence]
        t = Table(rows, colWidths=[70 * mm, 65 * mm, 45 * mm], repeatRows=1)
        t.setStyle(grid)
        story.append(t)
    else:
        story.append(p("无附加证据。No evidence attached."))
    story += [Spacer(1, 4 * mm), p(
        "当事人如不服本决定，可依法申请行政复议或者提起行政诉讼。本决定书由平台生成并加盖电子"
        "签名；所列证据可凭审计事件序号与哈希在审计日志中核验。If a party disagrees with "
        "this decision it may apply for administrative reconsideration or bring an "
        "administrative lawsuit. This letter was generated and digitally signed by the "
        "platform; each piece of evidence can be checked in the audit log by its event "
        "number and hash.", small)]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                      topMargin=15 * mm, bottomMargin=15 * mm,
                      title=f"行政处罚决定书 {data.number}",
                      author="公共资源交易平台").build(story)
    return buf.getvalue()


def decision_pdf(decision) -> bytes:
    """The signed decision letter of a penalty decision, as PDF bytes (in Chinese, the
    language of record, with English headings)."""
    from django.utils import translation

    with translation.override("zh-hans"):
        pdf = render(decision_data(decision))
    return sign_pdf(pdf, reason=f"行政处罚决定书 {decision.number}",
                    location="公共资源交易平台")
