"""The evaluation report (评标报告): built from plain data, rendered with reportlab in a
CJK font (every user string escaped through ``core.pdf.text``), signed by the platform.

Members sign the SHA-256 of the report as stored (``EvaluationReport.sha256``). The
final copy adds a signature page (signatures, written dissent, deemed agreement, Reg 53)
and names the digest the members signed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from core.pdf.fonts import cjk_font
from core.pdf.sign import sign_pdf
from core.pdf.text import para


@dataclass
class ReportData:
    reference: str
    title: str
    tenderer: str
    method: str
    formula: str
    aggregation: str
    members: list[tuple]  # label, name, kind, status
    bids: list[tuple]  # code, bidder, credit code, price, qualified, reason
    qualification: list[tuple]  # code, member, item, verdict, reason, void
    scoring: list[tuple]  # stage, code, criterion, member, value, void
    aggregates: list[tuple]  # code, technical, commercial, price score, total, rank
    outliers: list[tuple]  # member, code, criterion, value, others' mean, deviation
    working: list[tuple]  # zh, en
    candidates: list[tuple]  # rank, code, bidder, score, price
    clarifications: list[tuple]  # code, question, answer, attachment
    generated_at: str
    signatures: list[tuple] = field(default_factory=list)  # member, kind, key, dissent, time
    sha256: str = ""


def _t(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M:%S") if dt else "—"


def _name(member) -> str:
    if member.expert_id:
        return member.expert.name
    return member.user.get_full_name() or member.user.get_username()


def report_data(report, *, final: bool = False) -> ReportData:
    """Everything the report states, read once from the database."""
    from ..models import Score
    from ..services import price_result

    tender = report.tender
    committee = tender.committee
    members = list(committee.members.select_related("expert", "user").order_by("pk"))
    kind_zh = {"expert": "评标专家", "tenderer_rep": "招标人代表"}
    mrows = []
    for m in members:
        status = "主任委员" if committee.chair_id == m.pk else "委员"
        if not m.active:
            status = f"已更换（{_t(m.replaced_at)}）：{m.reason}；其评审结论无效（条例第48条）"
        mrows.append((m.label, _name(m), kind_zh.get(m.kind, m.kind), status))
    bids = list(committee.bids.select_related("bid__bidder").order_by("code"))
    brows = [(b.code, b.bid.bidder.name, b.bid.bidder.credit_code, f"{b.price:,.2f}",
              {True: "通过", False: "否决", None: "—"}[b.qualified], b.rejection_reason)
             for b in bids]
    from ..rules import REJECTION_ZH

    qrows, srows = [], []
    for s in (Score.objects.filter(evaluated_bid__committee=committee)
              .select_related("member", "criterion", "evaluated_bid")
              .order_by("stage", "evaluated_bid__code", "criterion__number", "member_id")):
        if s.stage == "qualification":
            item = (REJECTION_ZH.get(s.rejection, s.rejection) if s.rejection
                    else f"{s.criterion.number}. {s.criterion.name}")
            qrows.append((s.evaluated_bid.code, s.member.label, item,
                          "合格" if s.passed else "不合格", s.reason, s.void))
        else:
            srows.append(("技术" if s.stage == "technical" else "商务", s.evaluated_bid.code,
                          f"{s.criterion.number}. {s.criterion.name}", s.member.label,
                          str(s.value), s.void))
    arows = [(b.code, _v(b.technical), _v(b.commercial), _v(b.price_score), _v(b.total),
              str(b.rank or "—")) for b in bids if b.qualified]
    outs = [(o.member.label, o.evaluated_bid.code, f"{o.criterion.number}. {o.criterion.name}",
             str(o.value), str(o.others_mean), str(o.deviation))
            for o in committee.outliers.select_related("member", "criterion", "evaluated_bid")]
    try:
        working = [(s.zh, s.en) for s in price_result(committee).explanation]
    except Exception:  # noqa: BLE001 - the working is shown as far as it can be computed
        working = [("无有效报价可计算。", "No valid price to compute.")]
    by_id = {str(b.bid.public_id): b for b in bids}
    cands = [(str(c["rank"] or "—"), by_id[c["bid"]].code, by_id[c["bid"]].bid.bidder.name,
              c["score"] or "—", c["price"]) for c in report.candidates]
    clar = [(c.evaluated_bid.code, c.question, c.answer or "（未答复）",
             c.attachment_name + (f" SHA-256 {c.attachment_sha256}" if c.attachment_sha256
                                  else ""))
            for c in committee.clarifications.select_related("evaluated_bid")]
    sigs = []
    if final:
        kind_sig = {"signed": "已签名", "dissent": "签名并持不同意见",
                    "deemed": "未签名且未说明理由，视为同意"}
        for s in report.signatures.select_related("member").order_by("member_id"):
            sigs.append((s.member.label, kind_sig.get(s.kind, s.kind), s.key_fingerprint or "—",
                         s.dissent or "—", _t(s.signed_at)))
    return ReportData(
        reference=tender.reference, title=tender.title, tenderer=tender.tenderer.name,
        method=tender.get_evaluation_method_display(),
        formula=tender.get_price_formula_display(),
        aggregation=tender.get_score_aggregation_display(), members=mrows, bids=brows,
        qualification=qrows, scoring=srows, aggregates=arows, outliers=outs, working=working,
        candidates=cands, clarifications=clar, generated_at=_t(report.generated_at),
        signatures=sigs, sha256=report.sha256 if final else "")


def _v(value) -> str:
    return "—" if value is None else str(value)


def render(data: ReportData) -> bytes:
    font = cjk_font()
    h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=11.5, leading=16, spaceBefore=8,
                        spaceAfter=4)
    body = ParagraphStyle("b", fontName=font, fontSize=8.5, leading=12, wordWrap="CJK")
    grid = TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b1")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ecf5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ])

    def p(text, style=body):
        return para(text, style)

    def table(head, rows, widths):
        t = Table([[p(h) for h in head]] + [[p(c) for c in r] for r in rows],
                  colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(grid)
        return t

    story = [p("评标报告 / Evaluation Report", h1), p(f"{data.reference}　{data.title}"),
             Spacer(1, 3 * mm)]
    facts = [("招标人 Tenderer", data.tenderer), ("评标方法 Method", data.method),
             ("价格分公式 Price formula", data.formula),
             ("评分汇总 Aggregation", data.aggregation),
             ("生成时间 Drawn up", data.generated_at)]
    story.append(table(["项目 Item", "内容 Content"], facts, [55, 125]))
    story += [p("评标委员会 / Committee", h2),
              table(["编号", "姓名", "身份", "情况"], data.members, [15, 35, 30, 100])]
    story += [p("投标人及暗标编号 / Bids and code numbers", h2),
              table(["编号", "投标人", "统一社会信用代码", "报价（元）", "资格评审", "否决理由"],
                    data.bids, [14, 45, 35, 26, 16, 44])]
    story.append(p("资格评审 / Qualification review", h2))
    story.append(table(["编号", "委员", "评审项", "结论", "理由", "效力"],
                       [r[:5] + ("作废" if r[5] else "有效",) for r in data.qualification]
                       or [("—",) * 6], [14, 14, 60, 18, 58, 16]))
    story.append(p("技术与商务评分 / Technical and commercial scores", h2))
    story.append(table(["阶段", "编号", "评分项", "委员", "得分", "效力"],
                       [r[:5] + ("作废" if r[5] else "有效",) for r in data.scoring]
                       or [("—",) * 6], [14, 14, 74, 16, 20, 16]))
    story.append(p("评分异常 / Outlying scores", h2))
    story.append(table(["委员", "编号", "评分项", "得分", "其他委员均值", "偏离"],
                       data.outliers or [("无", "", "", "", "", "")], [16, 14, 70, 20, 30, 24]))
    story.append(p("价格分计算过程 / Price score working", h2))
    for zh, en in data.working:
        story += [p(zh), p(en)]
    story.append(p("汇总与排序 / Totals and ranking", h2))
    story.append(table(["编号", "技术分", "商务分", "价格分", "总分", "排名"],
                       data.aggregates or [("—",) * 6], [20, 30, 30, 30, 30, 20]))
    story.append(p("推荐中标候选人 / Recommended candidates (Reg 53: at most 3)", h2))
    story.append(table(["名次", "编号", "投标人", "总分", "报价（元）"],
                       data.candidates or [("—",) * 5], [18, 18, 80, 30, 34]))
    story.append(p("澄清 / Clarifications (Reg 52)", h2))
    story.append(table(["编号", "问题", "答复", "附件"],
                       data.clarifications or [("无", "", "", "")], [14, 60, 66, 40]))
    if data.signatures:
        story.append(p("签名 / Signatures (Reg 53)", h2))
        story.append(p(f"委员签署的报告摘要 SHA-256 / Digest signed: {data.sha256}"))
        story.append(table(["委员", "签署情况", "密钥指纹", "不同意见", "时间"],
                           data.signatures, [14, 34, 50, 52, 30]))
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm,
                      topMargin=12 * mm, bottomMargin=12 * mm,
                      title=f"评标报告 {data.reference}", author="公共资源交易平台").build(story)
    return buf.getvalue()


def evaluation_report_pdf(report, *, final: bool = False) -> bytes:
    """The signed evaluation report as PDF bytes (Chinese, with English headings)."""
    from django.utils import translation

    with translation.override("zh-hans"):
        pdf = render(report_data(report, final=final))
    return sign_pdf(pdf, reason=f"评标报告 {report.tender.reference}",
                    location="公共资源交易平台")
