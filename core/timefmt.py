"""How people read times: one module, one format per language, the centre's time zone.

Everything a person reads (pages, error messages, notifications, the human parts of
receipts and PDFs) shows a time in the trading centre's zone (``settings.TIME_ZONE``,
``Asia/Shanghai`` by default), marked with the zone, in one format per language:

    zh-hans  2026-12-07 09:30 北京时间      (``seconds=True``: 2026-12-07 09:30:05 北京时间)
    en       2026-12-07 09:30 CST          (``seconds=True``: 2026-12-07 09:30:05 CST)
    a date   2026-12-07                    (both languages; ``day()``)

For Asia/Shanghai the mark is 北京时间 in Chinese and CST (China Standard Time) in
English; for any other zone it is the zone's own abbreviation at that instant (CET/CEST,
UTC, ...; "UTC+04" where the zone database has no letters).

Documents (PDFs) read ``document()``: the same format in the centre's own language
(``settings.LANGUAGE_CODE``), whoever downloads them, so a stored or signed PDF never
depends on the reader's language.

Machines read ``iso()``: ISO 8601 with the offset, in the centre's zone
(``2026-12-07T09:30:00+08:00``), which is also what the API's serializers emit.

The same instant always gives the same string in a given language, so a deadline on the
tender page, in a receipt's human part and in the opening record is the same text.
Signed machine fields (a receipt's ``server_time``, audit times) keep their own format:
this module only renders for people.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone, translation

# Zones that are Beijing time under another name in the zone database.
BEIJING_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking",
                           "Asia/Harbin", "PRC"})


def centre_zone() -> tzinfo:
    """The trading centre's zone (``settings.TIME_ZONE``), whatever zone is active."""
    return ZoneInfo(settings.TIME_ZONE)


def _is_zh(lang: str | None) -> bool:
    lang = lang or translation.get_language() or settings.LANGUAGE_CODE
    return lang.lower().startswith("zh")


def _aware(value) -> datetime | None:
    """A datetime (aware, or naive meaning the centre's zone) or an ISO string."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if timezone.is_naive(value):
        value = value.replace(tzinfo=centre_zone())
    return value.astimezone(centre_zone())


def local(value) -> datetime | None:
    """The instant in the centre's zone (None stays None)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=centre_zone())
    return _aware(value)


def zone_label(dt=None, *, lang: str | None = None) -> str:
    """北京时间 / CST for Beijing time; otherwise the zone's abbreviation at ``dt`` (now
    when not given), so summer and winter time are told apart."""
    if settings.TIME_ZONE in BEIJING_ZONES:
        return "北京时间" if _is_zh(lang) else "CST"
    at = _aware(dt) if dt is not None else timezone.now().astimezone(centre_zone())
    name = at.tzname() or settings.TIME_ZONE
    return f"UTC{name}" if name[:1] in "+-" else name


def human(value, *, seconds: bool = False, lang: str | None = None) -> str:
    """The one way a person reads a time: ``2026-12-07 09:30 北京时间`` (zh),
    ``2026-12-07 09:30 CST`` (en); a date alone as ``2026-12-07``; None as "".
    ``lang`` defaults to the active language."""
    if value is None or value == "":
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return day(value)
    at = _aware(value)
    clock = at.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{at:%Y-%m-%d} {clock} {zone_label(at, lang=lang)}"


def document(value, *, seconds: bool = False) -> str:
    """``human()`` in the centre's own language (``settings.LANGUAGE_CODE``, Chinese):
    for documents that do not depend on who downloads them (PDFs: records, receipts,
    letters, watermarks). "—" for None, as a document's empty cell."""
    if value is None or value == "":
        return "—"
    return human(value, seconds=seconds, lang=settings.LANGUAGE_CODE)


def day(value) -> str:
    """The calendar day in the centre's zone: ``2026-12-07`` ("" for None)."""
    if value is None or value == "":
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return _aware(value).date().isoformat()


def iso(value) -> str:
    """ISO 8601 with the offset, in the centre's zone: ``2026-12-07T09:30:00+08:00``
    ("" for None). A date alone stays ``2026-12-07``."""
    if value is None or value == "":
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return _aware(value).isoformat()


def now_iso() -> str:
    """The server's clock now, as ``iso()`` (the countdowns' reference)."""
    return iso(timezone.now())
