"""Identity screens on one tender: the same value on bids of different bidders, another
bidder's name inside a bid, identical unit prices, related companies in one lot.

Rows are mappings with ``bidder`` (id), optionally ``bidder_name``, ``bid`` (id) and
the fields of SAME_VALUE_FIELDS. In the platform they come from Bid.claims (machine
fingerprint, document author, contact, phone, email, project manager, CA key),
Bid.upload_ip and Bid.user_agent, BidBond.payer_account and the decrypted price sheet
(``unit_prices``: item -> unit price). Source: Reg 40 deemed collusion (DOMAIN.md), and
Reg 34 for related companies.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations

from .documents import bidder_names, names_in, normalised_text
from .result import HIGH, LOW, MEDIUM, ScreenResult, quiet, raised

# field -> (severity, Chinese label, English label). High where the law deems collusion
# on the fact alone; medium where an innocent shared network or agent is possible.
SAME_VALUE_FIELDS: dict[str, tuple[str, str, str]] = {
    "fingerprint": (HIGH, "机器码/MAC/硬盘序列号", "machine fingerprint (machine code, MAC, disk)"),
    "author": (HIGH, "文档作者", "document author"),
    "last_modified_by": (HIGH, "文档最后修改人", "document last modified by"),
    "file_company": (MEDIUM, "文档单位属性", "document company property"),
    "ca_key": (HIGH, "CA 数字证书", "CA key"),
    "project_manager": (HIGH, "项目经理", "project manager"),
    "payer_account": (HIGH, "保证金付款账户", "bond payer account"),
    "upload_ip": (MEDIUM, "上传 IP", "upload IP"),
    "contact": (MEDIUM, "联系人", "contact person"),
    "phone": (MEDIUM, "联系电话", "phone"),
    "email": (MEDIUM, "电子邮箱", "email"),
    "device": (LOW, "设备标识", "device"),
}


def _norm(field: str, value) -> str:
    if value is None:
        return ""
    s = str(value).strip().lower()
    if field == "phone":
        s = re.sub(r"\D", "", s)
        return s[-11:] if len(s) >= 7 else ""
    if field in ("payer_account", "fingerprint", "ca_key"):
        s = re.sub(r"[\s:-]", "", s)
    return re.sub(r"\s+", " ", s)


def _bid_id(b: Mapping, i: int):
    return b.get("bid", i)


def screen_same_value(bids: Sequence[Mapping], field: str) -> ScreenResult:
    """The same ``field`` value on bids of two or more different bidders."""
    severity, zh_label, en_label = SAME_VALUE_FIELDS.get(field, (MEDIUM, field, field))
    code = f"same_{field}"
    seen: dict[str, list[tuple[int, Mapping]]] = defaultdict(list)
    for i, b in enumerate(bids):
        v = _norm(field, b.get(field))
        if v:
            seen[v].append((i, b))
    shared = {v: rows for v, rows in seen.items()
              if len({str(b.get("bidder", i)) for i, b in rows}) > 1}
    if not shared:
        return quiet(code, 0.0)
    groups = [{"value": v, "bids": [_bid_id(b, i) for i, b in rows],
               "bidders": sorted({str(b.get("bidder", i)) for i, b in rows})}
              for v, rows in shared.items()]
    n = sum(len(g["bidders"]) for g in groups)
    listing = "; ".join(f"{g['value']} ({', '.join(g['bidders'])})" for g in groups)
    return raised(code, severity, float(n),
                  f"{n} 个不同投标人的投标使用了相同的{zh_label}：{listing}。",
                  f"{n} different bidders' bids share the same {en_label}: {listing}.",
                  field=field, groups=groups)


def screen_same_values(bids: Sequence[Mapping]) -> list[ScreenResult]:
    """screen_same_value for every field present on at least one bid."""
    present = {f for b in bids for f in SAME_VALUE_FIELDS if b.get(f) not in (None, "")}
    return [screen_same_value(bids, f) for f in SAME_VALUE_FIELDS if f in present]


def screen_related_companies(bids: Sequence[Mapping], *, field: str = "legal_rep"
                             ) -> ScreenResult:
    """Two bidders in one lot with the same legal representative (or another control
    key given as ``field``): Reg 34 forbids related companies bidding in one lot."""
    r = screen_same_value(bids, field)
    r.code = "related_companies"
    if r.fired:
        r.severity = HIGH
        listing = "; ".join(f"{g['value']} ({', '.join(g['bidders'])})"
                            for g in r.evidence["groups"])
        r.explanation_zh = f"同一法定代表人控制的多家公司在同一标段投标：{listing}。"
        r.explanation_en = (f"Companies with the same legal representative bid in one lot: "
                            f"{listing}.")
    return r


def screen_other_bidder_name(bids: Sequence[Mapping], *, min_len: int = 4) -> ScreenResult:
    """Another bidder's name (``bidder_name``) inside a bid's ``text``."""
    names = bidder_names(bids, min_len)
    hits = []
    texts = [b.get("text") or "" for b in bids]
    # Threads: the search is numpy on the whole document, which runs without the
    # interpreter lock.
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        found_all = list(pool.map(lambda t: names_in(t, names) if t and names else {}, texts))
    for i, b in enumerate(bids):
        text = texts[i]
        if not text:
            continue
        own = str(b.get("bidder"))
        found = {k: at for k, at in found_all[i].items() if k != own}
        for bidder, at in sorted(found.items()):
            name = names[bidder]
            low = normalised_text(text)
            hits.append({"bid": _bid_id(b, i), "bidder": own,
                         "name_found": name, "of_bidder": bidder,
                         "context": low[max(0, at - 30):at + len(name) + 30]})
    if not hits:
        return quiet("other_bidder_name", 0.0)
    listing = "; ".join(f"{h['bidder']} ⊃ {h['name_found']}" for h in hits)
    return raised("other_bidder_name", HIGH, float(len(hits)),
                  f"投标文件中出现其他投标人的名称：{listing}。",
                  f"A bid's documents carry another bidder's name: {listing}.", hits=hits)


def screen_identical_unit_prices(bids: Sequence[Mapping], *, min_items: int = 3,
                                 min_share: float = 0.5) -> ScreenResult:
    """Identical unit prices across two bills of quantities (``unit_prices``: item ->
    price). Items priced the same by every bidder (provisional sums fixed by the
    tenderer) do not count. Raised for a pair of bidders sharing at least ``min_share``
    of their comparable items, and at least ``min_items`` of them."""
    sheets = [(i, b, {str(k): round(float(v), 4) for k, v in (b.get("unit_prices") or {}).items()})
              for i, b in enumerate(bids)]
    sheets = [s for s in sheets if s[2]]
    if len(sheets) < 2:
        return quiet("identical_unit_prices", 0.0)
    fixed = set()
    if len(sheets) >= 3:
        items = set.intersection(*(set(s[2]) for s in sheets))
        fixed = {k for k in items if len({s[2][k] for s in sheets}) == 1}
    pairs, best = [], 0.0
    for (i, a, pa), (j, b, pb) in combinations(sheets, 2):
        if str(a.get("bidder", i)) == str(b.get("bidder", j)):
            continue
        common = [k for k in set(pa) & set(pb) if k not in fixed]
        if not common:
            continue
        same = sorted(k for k in common if pa[k] == pb[k])
        share = len(same) / len(common)
        best = max(best, share)
        if len(same) >= min_items and share >= min_share:
            pairs.append({"bids": [_bid_id(a, i), _bid_id(b, j)],
                          "bidders": [str(a.get("bidder", i)), str(b.get("bidder", j))],
                          "items": same[:50], "share": round(share, 3)})
    if not pairs:
        return quiet("identical_unit_prices", best)
    listing = "; ".join(f"{'/'.join(p['bidders'])} {p['share']:.0%}" for p in pairs)
    return raised("identical_unit_prices", HIGH if best >= 0.8 else MEDIUM, best,
                  f"工程量清单中大量单价完全相同：{listing}。",
                  f"Bills of quantities share identical unit prices: {listing}.", pairs=pairs)
