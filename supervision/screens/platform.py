"""From the platform's records to the engine's row dicts (duck-typed: no Django import).

Where each screened value lives in this platform:

| row key | source |
|---|---|
| tender, bidder, bidder_name | Bid.tender_id, Bid.bidder_id, Bid.bidder.name |
| amount, unit_prices, contact, phone, email, project_manager | the decrypted price sheet |
| fingerprint | Bid.claims["machine_fingerprint"] (crypto/evidence.py) |
| author, last_modified_by, file_company | Bid.claims file_author, file_last_modified_by, |
| | file_company (read from the bid file's metadata by the bidder's tool) |
| ca_key | Bid.bidder_key_fingerprint |
| upload_ip, device | Bid.upload_ip, Bid.user_agent |
| payer_account | BidBond.payer_account |
| text | the text extracted from the decrypted bid files |
| winner, disqualified | the opening's result |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_CLAIMS = {"machine_fingerprint": "fingerprint", "file_author": "author",
           "file_last_modified_by": "last_modified_by", "file_company": "file_company"}
_SHEET = ("unit_prices", "contact", "phone", "email", "project_manager")


def bid_row(bid: Any, *, bond: Any = None, sheet: Mapping | None = None,
            text: str | None = None, **extra: Any) -> dict:
    """One bid as a row for the screens. ``sheet`` is the decrypted price sheet (its
    ``total`` is the bid's amount); ``extra`` adds or overrides keys (winner, ...)."""
    sheet = sheet or {}
    bidder = getattr(bid, "bidder", None)
    row: dict = {
        "tender": getattr(bid, "tender_id", None),
        "bid": str(getattr(bid, "public_id", "") or getattr(bid, "pk", "")),
        "bidder": str(getattr(bid, "bidder_id", "")),
        "bidder_name": getattr(bidder, "name", "") or "",
        "amount": sheet.get("total"),
        "upload_ip": getattr(bid, "upload_ip", None),
        "device": getattr(bid, "user_agent", "") or None,
        "ca_key": getattr(bid, "bidder_key_fingerprint", "") or None,
        "payer_account": getattr(bond, "payer_account", None) if bond is not None else None,
        "text": text,
    }
    claims = getattr(bid, "claims", None) or {}
    for claim, key in _CLAIMS.items():
        if claims.get(claim):
            row[key] = str(claims[claim])
    for key in _SHEET:
        if sheet.get(key):
            row[key] = sheet[key]
    row.update(extra)
    return row
