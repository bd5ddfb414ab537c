"""The evaluation report (评标报告): built from plain data, rendered with reportlab in a
CJK font (every user string escaped through ``core.pdf.text``), signed by the platform.

Members sign the SHA-256 of the report as stored (``EvaluationReport.sha256``). The
final copy adds a signature page (signatures, written dissent, deemed agreement, Reg 53)
and names the digest the members signed.
"""

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
from core.pdf.text import para


@dataclass
class ScoreTable:
    """One criterion's scores: bids as rows, members as columns, the committee's score."""

    stage: str  # 技术 | 商务
    criterion: str  # "3. name"
    max_score: str
    rows: list[tuple]  # code, [value per member column or "—"], committee score


@dataclass
class ReportData:
    reference: str
    title: str
    tenderer: str
    method: str
    formula: str
    aggregation: str
    members: list[tuple]  # label, name, kind, status
    columns: list[str]  # member column heads, in member order ("M3（作废）" when void)
    bids: list[tuple]  # code, bidder, credit code, price, qualified, reason
    qualification_criteria: list[tuple]  # number, name
    qualification: list[tuple]  # code, [verdict summary per member column]
    verdicts: list[tuple]  # code, member, item, verdict, reason, void — fails and reasons
    scoring: list[ScoreTable]
    aggregates: list[tuple]  # code, technical, commercial, price score, total, rank
    outliers: list[tuple]  # member, code, criterion, value, others' mean, deviation
    working: list[tuple]  # zh, en
    candidates: list[tuple]  # rank, code, bidder, score, price
    clarifications: list[tuple]  # code, question, answer, attachment
    generated_at: str
    # stage, now qualified, dropped, members reopened, cause, time (rules.REQUALIFICATION)
    reopenings: list[tuple] = field(default_factory=list)
    signatures: list[tuple] = field(default_factory=list)  # member, kind, key, dissent, time
    sha256: str = ""


def _t(dt) -> str:
    return timefmt.document(dt, seconds=True)


def _name(member) -> str:
    if member.expert_id:
        return member.expert.name
    return member.user.get_full_name() or member.user.get_username()


def _ground(code: str) -> str:
    """A Reg 51 ground as its item number: "第51条(3)"."""
    from ..rules import Rejection

    values = list(Rejection.values)
    return f"第51条({values.index(code) + 1})" if code in values else code


def report_data(report, *, final: bool = False) -> ReportData:
    """Everything the report states, read once from the database."""
    from ..models import Score
    from ..rules import REJECTION_ZH, aggregate
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
    column = {m.pk: i for i, m in enumerate(members)}
    heads = [f"{m.label}（作废）" if m.void else m.label for m in members]
    bids = list(committee.bids.select_related("bid__bidder").order_by("code"))
    brows = [(b.code, b.bid.bidder.name, b.bid.bidder.credit_code, f"{b.price:,.2f}",
              {True: "通过", False: "否决", None: "—"}[b.qualified], b.rejection_reason)
             for b in bids]
    qual_criteria = [(c.number, c.name) for c in tender.criteria.filter(stage="qualification")
                     .order_by("number")]

    # Qualification: one cell per bid and member naming what the member failed; every
    # verdict that failed or carries a reason, with its reason, in the list below it.
    failed: dict[tuple, list[str]] = {}
    seen: set[tuple] = set()
    verdicts = []
    # Scoring: (stage, criterion) -> code -> member column -> value.
    cells: dict[tuple, dict[str, dict[int, object]]] = {}
    valid: dict[tuple, list] = {}
    criteria: dict[tuple, object] = {}
    scores = (Score.objects.filter(evaluated_bid__committee=committee)
              .select_related("criterion", "evaluated_bid")
              .order_by("stage", "evaluated_bid__code", "criterion__number", "member_id")
              .only("stage", "value", "passed", "rejection", "reason", "void", "member_id",
                    "criterion__number", "criterion__name", "criterion__max_score",
                    "criterion__stage", "evaluated_bid__code"))
    labels = {m.pk: m.label for m in members}
    for s in scores.iterator(chunk_size=5000):
        code = s.evaluated_bid.code
        if s.stage == "qualification":
            seen.add((code, s.member_id))
            if s.rejection:
                item = f"{_ground(s.rejection)} {REJECTION_ZH.get(s.rejection, s.rejection)}"
                failed.setdefault((code, s.member_id), []).append(_ground(s.rejection))
            else:
                item = f"{s.criterion.number}. {s.criterion.name}"
                if not s.passed:
                    failed.setdefault((code, s.member_id), []).append(
                        f"第{s.criterion.number}项")
            if not s.passed or s.reason:
                verdicts.append((code, labels[s.member_id], item,
                                 "合格" if s.passed else "不合格", s.reason, s.void))
        else:
            key = (s.stage, s.criterion.number)
            criteria[key] = s.criterion
            cells.setdefault(key, {}).setdefault(code, {})[column[s.member_id]] = s.value
            if not s.void:
                valid.setdefault((key, code), []).append(s.value)
    qrows = []
    for b in bids:
        row = []
        for m in members:
            if (b.code, m.pk) not in seen:
                row.append("—")
            elif (b.code, m.pk) in failed:
                row.append("不合格：" + "、".join(failed[(b.code, m.pk)]))
            else:
                row.append("合格")
        qrows.append((b.code, row))
    method = tender.score_aggregation
    tables = []
    for key in sorted(cells, key=lambda k: (0 if k[0] == "technical" else 1, k[1])):
        c = criteria[key]
        rows = []
        for code in sorted(cells[key]):
            by_member = cells[key][code]
            values = valid.get((key, code))
            rows.append((code, [str(by_member[i]) if i in by_member else "—"
                                for i in range(len(members))],
                         str(aggregate(values, method)) if values else "—"))
        tables.append(ScoreTable(stage="技术" if key[0] == "technical" else "商务",
                                 criterion=f"{c.number}. {c.name}", max_score=str(c.max_score),
                                 rows=rows))
    arows = [(b.code, _v(b.technical), _v(b.commercial), _v(b.price_score), _v(b.total),
              str(b.rank or "—")) for b in bids if b.qualified]
    outs = [(o.member.label, o.evaluated_bid.code, f"{o.criterion.number}. {o.criterion.name}",
             str(o.value), str(o.others_mean), str(o.deviation))
            for o in committee.outliers.select_related("member", "criterion", "evaluated_bid")
            .order_by("evaluated_bid__code", "criterion__number", "member_id")]
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
    stage_zh = {"technical": "技术评分", "commercial": "商务评分"}
    reopen = [(stage_zh.get(r.stage, r.stage), "、".join(r.bids) or "—",
               "、".join(r.dropped) or "—", "、".join(r.members) or "—", r.cause.label,
               _t(r.at)) for r in committee.reopenings.select_related("cause")]
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
        aggregation=tender.get_score_aggregation_display(), members=mrows, columns=heads,
        bids=brows, qualification_criteria=qual_criteria, qualification=qrows,
        verdicts=verdicts, scoring=tables, aggregates=arows, outliers=outs, working=working,
        candidates=cands, clarifications=clar, generated_at=_t(report.generated_at),
        reopenings=reopen,
        signatures=sigs, sha256=report.sha256 if final else "")


def _v(value) -> str:
    return "—" if value is None else str(value)


# A4 landscape: the score matrices need the width (a column per member).
PAGE = landscape(A4)
MARGIN = 12 * mm
WIDTH = PAGE[0] - 2 * MARGIN
# The widths below were drawn for 180 mm; they are stretched to the landscape width.
STRETCH = WIDTH / (180 * mm)


def render(data: ReportData) -> bytes:
    font = cjk_font()
    h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=11.5, leading=16, spaceBefore=8,
                        spaceAfter=4)
    h3 = ParagraphStyle("h3", fontName=font, fontSize=9.5, leading=13, spaceBefore=6,
                        spaceAfter=2, keepWithNext=1)
    body = ParagraphStyle("b", fontName=font, fontSize=8.5, leading=12, wordWrap="CJK")
    line = colors.HexColor("#9aa5b1")
    head_bg = colors.HexColor("#e6ecf5")
    grid = TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, line),
        ("BACKGROUND", (0, 0), (-1, 0), head_bg),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ])
    # The matrices hold only the platform's own strings (code numbers, member labels,
    # numbers, verdict words): plain cells, drawn as text, no markup parsed.
    matrix = TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 7.5),
        ("LEADING", (0, 0), (-1, -1), 9),
        ("TOPPADDING", (0, 0), (-1, -1), 1.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
        ("GRID", (0, 0), (-1, -1), 0.4, line),
        ("BACKGROUND", (0, 0), (-1, 0), head_bg),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
    ])

    def p(text, style=body):
        return para(text, style)

    def table(head, rows, widths):
        t = Table([[p(h) for h in head]] + [[p(c) for c in r] for r in rows],
                  colWidths=[w * STRETCH * mm for w in widths], repeatRows=1)
        t.setStyle(grid)
        return t

    def member_matrix(first: str, rows: list[tuple], last: str | None):
        """Rows (code, [per member], last?) with the header repeated on every page."""
        n = len(data.columns)
        code_w, last_w = 22 * mm, (24 * mm if last else 0)
        col_w = (WIDTH - code_w - last_w) / max(1, n)
        head = [first, *data.columns] + ([last] if last else [])
        body_rows = [[r[0], *r[1]] + ([r[2]] if last else []) for r in rows]
        t = Table([head] + body_rows, colWidths=[code_w] + [col_w] * n
                  + ([last_w] if last else []), repeatRows=1)
        t.setStyle(matrix)
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
    story.append(p("评审项：" + "；".join(f"第{n}项 {name}"
                                       for n, name in data.qualification_criteria)
                   if data.qualification_criteria else "评审项：无"))
    story.append(p("每格为该委员对该投标的结论：“合格”为全部评审项合格；“不合格”列出其不合格的"
                   "评审项及援引的否决情形（条例第51条）。标注“作废”的委员已被更换，其结论无效"
                   "（条例第48条）。"))
    story.append(Spacer(1, 2 * mm))
    story.append(member_matrix("编号", data.qualification, None) if data.qualification
                 else p("—"))
    story.append(p("不合格结论及理由 / Failing verdicts and reasons", h3))
    story.append(table(["编号", "委员", "评审项", "结论", "理由", "效力"],
                       [r[:5] + ("作废" if r[5] else "有效",) for r in data.verdicts]
                       or [("无", "", "", "", "", "")], [14, 14, 60, 18, 58, 16]))

    story.append(p("技术与商务评分 / Technical and commercial scores", h2))
    story.append(p(f"每个评分项一张表：行为投标（编号），列为委员，末列为委员会得分（{data.aggregation}，"
                   "不计作废的评分）。标注“作废”的委员已被更换，其评分无效（条例第48条）。"))
    if not data.scoring:
        story.append(p("—"))
    for st in data.scoring:
        story.append(p(f"{st.stage}评分项 {st.criterion}（满分 {st.max_score}）", h3))
        story.append(member_matrix(f"{st.stage}{st.criterion.split('.')[0]} / 编号", st.rows,
                                   "委员会得分"))

    if data.reopenings:
        story.append(p("资格评审重新汇总后重开的评分 / Scoring reopened after the qualification "
                       "review was settled again with a replacement's verdicts (Reg 48)", h3))
        story.append(table(["阶段", "新通过资格的投标", "不再通过的投标", "重开的委员",
                            "更换后委员", "时间"], data.reopenings, [20, 34, 30, 40, 24, 32]))

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

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillColor(colors.HexColor("#52606d"))
        canvas.drawString(MARGIN, 6 * mm, f"评标报告 {data.reference}")
        canvas.drawRightString(PAGE[0] - MARGIN, 6 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
                      topMargin=MARGIN, bottomMargin=MARGIN,
                      title=f"评标报告 {data.reference}", author="公共资源交易平台").build(
        story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def evaluation_report_pdf(report, *, final: bool = False) -> bytes:
    """The signed evaluation report as PDF bytes (Chinese, with English headings)."""
    from django.utils import translation

    with translation.override("zh-hans"):
        pdf = render(report_data(report, final=final))
    return sign_pdf(pdf, reason=f"评标报告 {report.tender.reference}",
                    location="公共资源交易平台")
