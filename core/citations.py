"""Statutory citations in the reader's language.

core.statutory names each rule's source in one compact form an auditor can search for
("Law 24", "Reg 31 (local: promptly)", "E-Rules 29-30 (local)"); README "Statutory rules"
lists the instruments. People read it in their own language: in Chinese
"《招标投标法》第二十四条", "《招标投标法实施条例》第三十一条（本地规则：及时）". English keeps the
compact form, which is what the English interface has always shown.
"""

from __future__ import annotations

import re

from django.utils import translation

# Abbreviation -> the instrument's Chinese title (the abbreviations README uses).
INSTRUMENTS_ZH = {
    "Law": "《招标投标法》",
    "Reg": "《招标投标法实施条例》",
    "E-Rules": "《电子招标投标办法》",
    "APL": "《行政处罚法》",
    "Administrative Penalty Law": "《行政处罚法》",
    "MOFCOM Order 13": "商务部令第13号",
}
QUALIFIERS_ZH = {
    "local": "本地规则",
    "local practice": "本地做法",
    "local cap": "本地上限",
    "local: promptly": "本地规则：“及时”",
}
_DIGITS = "零一二三四五六七八九"

_ARTICLE = re.compile(
    r"(?P<inst>Administrative Penalty Law|MOFCOM Order 13|E-Rules|Law|Reg|APL)"
    r"(?: art)?\s+(?P<first>\d+)(?:-(?P<last>\d+))?")


_BARE = re.compile(r"\b(?:E-Rules|APL)\b(?!\s*\d)")


def chinese_number(n: int) -> str:
    """1 -> 一, 24 -> 二十四, 110 -> 一百一十 (article numbers: 1..999)."""
    if not 0 < n < 1000:
        return str(n)
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    out = ""
    if hundreds:
        out += _DIGITS[hundreds] + "百"
        if rest and tens == 0:
            out += "零"
    if tens:
        out += ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    if units:
        out += _DIGITS[units]
    return out


def _article_zh(match: re.Match) -> str:
    inst = INSTRUMENTS_ZH[match["inst"]]
    first = chinese_number(int(match["first"]))
    if match["last"]:
        return f"{inst}第{first}至{chinese_number(int(match['last']))}条"
    return f"{inst}第{first}条"


def _qualifier_zh(match: re.Match) -> str:
    inner = match[1].strip()
    return "（" + QUALIFIERS_ZH.get(inner, inner) + "）"


def cite(source: str, lang: str | None = None) -> str:
    """``source`` as a reader of ``lang`` (default: the active language) reads it."""
    lang = lang or translation.get_language() or ""
    if not lang.lower().startswith("zh"):
        return source
    if source in QUALIFIERS_ZH:  # a local rule with no article behind it
        return QUALIFIERS_ZH[source]
    text = _ARTICLE.sub(_article_zh, source).replace(" price competition", "竞价")
    text = _BARE.sub(lambda m: INSTRUMENTS_ZH[m[0]], text)  # an instrument as a whole
    text = re.sub(r"\s*\(([^)]*)\)", _qualifier_zh, text)
    return text.replace(", ", "、")
