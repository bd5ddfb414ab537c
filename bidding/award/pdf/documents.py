"""The award's documents: the award report (定标报告), the award notice (中标通知书) and
the result notices (中标结果通知书). Plain data in, signed PDF bytes out; every string is
escaped (``core.pdf.text``) and every document signed (``core.pdf.sign``)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from core import timefmt
from core.pdf.fonts import cjk_font
from core.pdf.sign import sign_pdf
from core.pdf.text import para

LOCATION = "公共资源交易平台"


def when(dt) -> str:
    return timefmt.document(dt, seconds=True)


def _styles():
    font = cjk_font()
    return (ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=4),
            ParagraphStyle("h2", fontName=font, fontSize=11.5, leading=16, spaceBefore=8,
                           spaceAfter=4),
            ParagraphStyle("b", fontName=font, fontSize=9.5, leading=14, wordWrap="CJK"))


_GRID = TableStyle([
    ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b1")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
])


def _build(story, title: str) -> bytes:
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                      topMargin=15 * mm, bottomMargin=15 * mm, title=title,
                      author=LOCATION).build(story)
    return buf.getvalue()


def _table(rows, body, widths):
    t = Table([[para(c, body) for c in row] for row in rows], colWidths=widths, repeatRows=1)
    t.setStyle(_GRID)
    return t


@dataclass
class ReportData:
    reference: str
    title: str
    tenderer: str
    method: str
    winner: str
    winner_code: str
    price: str
    decided_at: str
    candidates: list[tuple[str, str, str, str]]  # bidder, credit code, rank, price
    record: dict


def award_report_pdf(data: ReportData) -> bytes:
    h1, h2, body = _styles()
    story = [para("定标报告 / Award Report", h1), para(f"{data.reference}　{data.title}", body),
             Spacer(1, 3 * mm),
             _table([("招标人 Tenderer", data.tenderer), ("定标方法 Method", data.method),
                     ("中标人 Winner", f"{data.winner}（{data.winner_code}）"),
                     ("中标价 Price（元）", data.price), ("定标时间 Decided at", data.decided_at)],
                    body, [60 * mm, 120 * mm]),
             para("中标候选人 / Candidates", h2),
             _table([("投标人", "统一社会信用代码", "排名", "报价（元）")] + data.candidates,
                    body, [70 * mm, 50 * mm, 20 * mm, 40 * mm])]
    rec = data.record
    if rec.get("committee"):
        story += [para("定标委员会 / Award committee", h2),
                  _table([("成员", "职务", "主持")] + [
                      (m["name"], m.get("title", ""), "是" if m.get("chair") else "")
                      for m in rec["committee"]], body, [70 * mm, 80 * mm, 30 * mm])]
    for rnd in rec.get("rounds", []):
        story += [para(f"第 {rnd['number']} 轮投票 / Round {rnd['number']}", h2),
                  _table([("委员", "投票")] + [(b["member"], b["choice_name"])
                                              for b in rnd["ballots"]],
                         body, [80 * mm, 100 * mm]),
                  para("计票 Tally: " + "；".join(f"{k} {v}" for k, v in rnd["tally"]) +
                       "。结果 Outcome: " + rnd["outcome_text"], body)]
    if rec.get("lottery"):
        lot = rec["lottery"]
        story += [para("抽签 / Lottery", h2), _table([
            ("承诺 Commitment", lot["commitment"]), ("候选摘要 Candidates digest",
                                                     lot["candidates_digest"]),
            ("公开输入 Public input", lot["public_input"]), ("密钥 Secret", lot["secret"]),
            ("参数 Params", json.dumps(lot["params"], ensure_ascii=False, sort_keys=True)),
            ("结果 Result", lot["result_name"])], body, [50 * mm, 130 * mm])]
    if rec.get("opinions"):
        story += [para("集体议事意见 / Opinions", h2),
                  _table([("委员", "意见", "倾向")] + [
                      (o["member"], o["text"], o["preferred_name"]) for o in rec["opinions"]],
                      body, [40 * mm, 100 * mm, 40 * mm])]
    if rec.get("price_round"):
        pr = rec["price_round"]
        reasons = {"first_round_price_stands": "未二次报价，以首轮报价为准 first-round price",
                   "above_max_price": "高于最高投标限价 above the maximum price",
                   "above_first_round": "高于本人首轮报价 above its first-round price",
                   "no_total_price": "无有效总价 no total price",
                   "not_opened": "未能解密 not opened", "": ""}
        story += [para("二次竞价 / Second price round", h2),
                  _table([("投标人", "首轮报价", "二次报价", "有效", "说明")] + [
                      (e.get("bidder", ""), e["first_round_price"], e["price"] or "—",
                       "是" if e["valid"] else "否", reasons.get(e["reason"], e["reason"]))
                      for e in pr["entries"]], body,
                      [50 * mm, 32 * mm, 32 * mm, 14 * mm, 52 * mm]),
                  para("规则 Rules: 最低有效报价中标；报价相同时按评标报告顺序在先者中标"
                       "（lowest valid price wins; ties: earlier in the evaluation report）"
                       + ("；本次平局已按此规则处理 (tie broken)" if pr.get("tie_broken")
                          else "") + f"。最高投标限价 Maximum price: {pr['max_price']}；"
                       f"截止 Deadline: {pr.get('deadline', '')}。", body)]
    if rec.get("chair_reason"):
        story += [para("主持人决定及理由 / The chair's decision and reason", h2),
                  para(rec["chair_reason"], body)]
    story += [Spacer(1, 4 * mm), para("本报告由平台生成并加盖电子签名。This report was "
                                      "generated and digitally signed by the platform.", body)]
    pdf = _build(story, f"定标报告 {data.reference}")
    return sign_pdf(pdf, reason=f"定标报告 {data.reference}", location=LOCATION)


@dataclass
class NoticeData:
    kind: str  # "award" | "result"
    reference: str
    title: str
    tenderer: str
    addressee: str
    addressee_code: str
    winner: str
    price: str
    issued_at: str
    contract_due: str


def notice_pdf(data: NoticeData) -> bytes:
    h1, _h2, body = _styles()
    if data.kind == "award":
        title = "中标通知书 / Award Notice"
        text = (f"{data.addressee}：你方参加 {data.reference}「{data.title}」的投标，经定标，"
                f"确定你方为中标人，中标价 {data.price} 元。请于 {data.contract_due} 前与招标人"
                "订立书面合同（《招标投标法》第四十六条）。You are the successful bidder at "
                f"{data.price} yuan; conclude the contract by {data.contract_due} (Law 46).")
    else:
        title = "中标结果通知书 / Result Notice"
        text = (f"{data.addressee}：你方参加 {data.reference}「{data.title}」的投标，经定标，"
                f"中标人为 {data.winner}，中标价 {data.price} 元。感谢参与。The award went to "
                f"{data.winner} at {data.price} yuan (Law 45).")
    story = [para(title, h1), para(f"{data.reference}　{data.title}", body), Spacer(1, 4 * mm),
             para(text, body), Spacer(1, 4 * mm),
             _table([("收件人 To", f"{data.addressee}（{data.addressee_code}）"),
                     ("招标人 Tenderer", data.tenderer),
                     ("发出时间 Issued at", data.issued_at)], body, [50 * mm, 130 * mm]),
             Spacer(1, 4 * mm),
             para("中标通知书与中标结果通知书同时发出（《招标投标法》第四十五条），由平台加盖电子签名。"
                  "Issued to every bidder at the same time (Law 45), signed by the platform.",
                  body)]
    pdf = _build(story, f"{title} {data.reference}")
    return sign_pdf(pdf, reason=f"{title} {data.reference}", location=LOCATION)
