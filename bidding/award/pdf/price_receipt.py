"""The receipt for a second-round price offer as a PDF: the first round's receipt
layout (``bidding.bids.pdf.receipt.signed_receipt_pdf``) with the round's rows, the
signed JSON receipt inside, the whole file signed by the platform."""

from __future__ import annotations

from django.utils import timezone

from bidding.bids.pdf.receipt import signed_receipt_pdf
from core import timefmt
from core.pdf.sign import sign_pdf

LOCATION = "公共资源交易平台"


def price_offer_receipt_pdf(offer) -> bytes:
    r = offer.receipt
    rnd = offer.round
    tender = rnd.tender
    local = timezone.localtime(offer.submitted_at)
    rows = [
        ("招标项目 Tender", f"{tender.reference}  {tender.title}"),
        ("二次竞价 Price round", r["tender_id"]),
        ("投标人 Bidder", f"{offer.bidder.name}（{offer.bidder.credit_code}）"),
        ("接收时间 Server time", f"{timefmt.document(local, seconds=True)} ({r['server_time']})"),
        ("截止时间 Deadline", timefmt.document(rnd.deadline)),
        ("密文大小 Size", f"{r['size']:,} bytes"),
        ("密文摘要 SHA-256", r["sha256"]),
    ]
    head = r.get("tree_head")
    if head:
        rows.append(("审计日志树头 Audit tree head",
                     f"size {head.get('size')} · root {head.get('root')}"))
    title = f"二次竞价报价接收回执 {tender.reference}"
    pdf = signed_receipt_pdf(
        r, rows=rows, title="二次竞价报价接收回执 / Price Round Offer Receipt",
        doc_title=title,
        intro="本平台已于下列时间收到贵单位二次竞价的加密报价单。截止前任何人无法解密；"
              "所有报价在竞价结束时一并公布。The platform received your sealed second-round "
              "price sheet at the time below. Nobody can decrypt it before the deadline; "
              "every price is announced together when the round closes.",
        verify="python -m ggzy_bid verify-receipt receipt.json --platform-key platform.pub "
               "--file price-round.ggzy")
    return sign_pdf(pdf, reason=title, location=LOCATION)
