"""The decision letter on a complaint (投诉处理决定书): plain data, rendered in a CJK font
with every user-supplied string escaped (core.pdf.text), signed by the platform."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from core import timefmt
from core.pdf.fonts import cjk_font
from core.pdf.sign import sign_pdf
from core.pdf.text import para

OUTCOME_ZH = {"upheld": "投诉成立", "partly_upheld": "投诉部分成立", "dismissed": "驳回投诉"}
MATTER_ZH = {"documents": "招标文件（第二十二条）", "opening": "开标（第四十四条）",
             "evaluation": "评标结果（第五十四条）", "other": "其他违法行为"}
PAUSE_ZH = {"expert_review": "专家评审", "testing": "检验、检测、鉴定"}


@dataclass
class LetterData:
    number: str
    reference: str
    title: str
    tenderer: str
    complainant: str
    complainant_code: str
    matter: str
    filed_at: str
    accepted_at: str
    decided_at: str
    text: str
    requests: str
    objection: str
    pauses: list[tuple[str, str, str, str]]
    suspensions: list[tuple[str, str, str]]
    evidence: list[tuple[str, str]]
    outcome: str
    decision: str
    handled_by: str


def _t(dt) -> str:
    return timefmt.document(dt)


def letter_data(c) -> LetterData:
    o = c.objection
    objection = "—"
    if o is not None:
        objection = f"{_t(o.raised_at)}：{o.text}\n答复：{o.answer or '（逾期未答复）'}"
    return LetterData(
        number=f"TS-{timezone.localtime(c.filed_at):%Y}-{c.pk:05d}",
        reference=c.tender.reference, title=c.tender.title, tenderer=c.tender.tenderer.name,
        complainant=c.complainant.name, complainant_code=c.complainant.credit_code,
        matter=MATTER_ZH.get(c.matter, c.matter), filed_at=_t(c.filed_at),
        accepted_at=_t(c.accepted_at), decided_at=_t(c.decided_at), text=c.text,
        requests=c.requests or "—", objection=objection,
        pauses=[(PAUSE_ZH.get(p.reason, p.reason), _t(p.started_at), _t(p.ended_at),
                 str(p.working_days)) for p in c.pauses.all()],
        suspensions=[(_t(s.suspended_at), _t(s.resumed_at), s.reason)
                     for s in c.suspensions.all()],
        evidence=[(e.name, e.sha256) for e in c.evidence.all()],
        outcome=OUTCOME_ZH.get(c.outcome, c.outcome), decision=c.decision,
        handled_by=str(c.handled_by) if c.handled_by else "—",
    )


def render(data: LetterData) -> bytes:
    font = cjk_font()
    h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=6,
                        alignment=1)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=11.5, leading=16, spaceBefore=8,
                        spaceAfter=4)
    body = ParagraphStyle("b", fontName=font, fontSize=9.5, leading=14, wordWrap="CJK")
    small = ParagraphStyle("s", fontName=font, fontSize=7.5, leading=10, wordWrap="CJK")
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b1")),
                       ("VALIGN", (0, 0), (-1, -1), "TOP")])

    def p(text, style=body):
        return para(text, style)

    story = [p("投诉处理决定书 / Decision on a Complaint", h1), p(f"编号 No. {data.number}"),
             Spacer(1, 3 * mm)]
    facts = [("项目 Tender", f"{data.reference}　{data.title}"),
             ("招标人 Tenderer", data.tenderer),
             ("投诉人 Complainant", f"{data.complainant}（{data.complainant_code}）"),
             ("投诉事项 Matter", data.matter), ("投诉时间 Filed", data.filed_at),
             ("受理时间 Accepted", data.accepted_at), ("决定时间 Decided", data.decided_at)]
    t = Table([[p(k), p(v)] for k, v in facts], colWidths=[45 * mm, 135 * mm])
    t.setStyle(grid)
    story += [t, p("投诉事实与理由 / Facts and grounds", h2), p(data.text),
              p("投诉请求 / Requests", h2), p(data.requests),
              p("异议及答复 / Prior objection (Reg 60)", h2), p(data.objection)]
    if data.evidence:
        story.append(p("证据材料 / Evidence (SHA-256)", h2))
        t = Table([[p(n, small), p(h, small)] for n, h in data.evidence],
                  colWidths=[70 * mm, 110 * mm])
        t.setStyle(grid)
        story.append(t)
    if data.pauses:
        story.append(p("期间中止（专家评审、检验检测，不计入处理期限，第六十一条）/ "
                       "Time excluded (Reg 61)", h2))
        rows = [[p(h) for h in ("事由", "开始", "结束", "工作日")]]
        rows += [[p(c) for c in r] for r in data.pauses]
        t = Table(rows, colWidths=[50 * mm, 45 * mm, 45 * mm, 40 * mm])
        t.setStyle(grid)
        story.append(t)
    if data.suspensions:
        story.append(p("暂停招标投标活动（第六十二条）/ Tender suspended (Reg 62)", h2))
        rows = [[p(h) for h in ("暂停", "恢复", "理由")]]
        rows += [[p(c) for c in r] for r in data.suspensions]
        t = Table(rows, colWidths=[40 * mm, 40 * mm, 100 * mm])
        t.setStyle(grid)
        story.append(t)
    story += [p("处理决定 / Decision", h2), p(f"结论 Outcome：{data.outcome}"), p(data.decision),
              Spacer(1, 4 * mm),
              p(f"处理人 Handled by：{data.handled_by}"),
              p("依据《中华人民共和国招标投标法实施条例》第六十条至第六十二条作出。投诉人对本决定"
                "不服的，可依法申请行政复议或者提起行政诉讼。Decided under Articles 60 to 62 "
                "of the Regulations on the Implementation of the Tendering and Bidding Law. "
                "The complainant may apply for administrative reconsideration or bring an "
                "administrative lawsuit.", small)]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                      topMargin=15 * mm, bottomMargin=15 * mm,
                      title=f"投诉处理决定书 {data.number}", author="行政监督部门").build(story)
    return buf.getvalue()


def decision_letter_pdf(complaint) -> bytes:
    """The signed decision letter, in Chinese (the language of record) with English
    headings."""
    from django.utils import translation

    with translation.override("zh-hans"):
        pdf = render(letter_data(complaint))
    return sign_pdf(pdf, reason=f"投诉处理决定书 {complaint.tender.reference}",
                    location="公共资源交易平台")
