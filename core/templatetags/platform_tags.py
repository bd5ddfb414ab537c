from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy, ngettext

from core import statutory, timefmt

register = template.Library()


@register.filter
def yuan(value) -> str:
    """12345.5 -> "12,345.50" (amounts are always shown with grouping and cents)."""
    try:
        return f"{Decimal(value):,.2f}"
    except (InvalidOperation, TypeError, ValueError):
        return "—"


# Times: every page shows them through core.timefmt (one format per language, the
# centre's zone, marked). Never ``|date:"Y-m-d H:i"`` in a template (a test greps).


@register.filter
def when(value, arg: str = "") -> str:
    """``{{ tender.deadline|when }}`` -> "2026-12-07 09:30 北京时间" / "… CST";
    ``|when:"s"`` adds the seconds. None -> "" (so ``|default:"—"`` still works)."""
    return timefmt.human(value, seconds=arg == "s")


@register.filter
def day(value) -> str:
    """The calendar day in the centre's zone: "2026-12-07"."""
    return timefmt.day(value)


@register.filter
def iso(value) -> str:
    """ISO 8601 with the offset, for ``datetime=""`` and ``data-`` attributes."""
    return timefmt.iso(value)


@register.filter
def timetag(value, arg: str = "") -> str:
    """``<time datetime="ISO">human</time>``; ``|timetag:"s"`` with seconds, ``"d"`` a
    date alone. None -> ""."""
    if value is None or value == "":
        return ""
    text = timefmt.day(value) if arg == "d" else timefmt.human(value, seconds=arg == "s")
    return format_html('<time datetime="{}">{}</time>', timefmt.iso(value), text)


@register.simple_tag
def server_now(element_id: str = "") -> str:
    """The server's clock at render time, as a ``<time>`` element (the footer):
    ``{% server_now "server-time" %}`` gives it that id."""
    now = timezone.now()
    if not element_id:
        return timetag(now)
    return format_html('<time id="{}" datetime="{}">{}</time>', element_id, timefmt.iso(now),
                       timefmt.human(now))


COUNTDOWN_KINDS = {
    # kind: (sentence with the time left, static sentence for screen readers, when over)
    "deadline": (gettext_lazy("%(left)s until the bid deadline"),
                 gettext_lazy("The bid deadline is %(at)s."), gettext_lazy("Bidding closed")),
    "opening": (gettext_lazy("%(left)s until the opening"),
                gettext_lazy("The opening starts at %(at)s."),
                gettext_lazy("The opening has started")),
    "window": (gettext_lazy("%(left)s until the decryption window closes"),
               gettext_lazy("The decryption window closes at %(at)s."),
               gettext_lazy("The decryption window has closed")),
}


@register.simple_tag
def countdown(target, kind: str = "deadline") -> str:
    """A countdown to ``target`` run by static/js/countdown.js from the *server's* clock:
    the page carries the target and the server's time at render (``data-deadline``,
    ``data-server-now``, both ISO 8601 with the offset), the script measures the
    browser's skew once and resyncs from ``GET /api/clock/``. The ticking text is
    ``aria-live="off"`` and hidden from screen readers, which read one static sentence
    naming the time instead. Without the script the static sentence is what shows."""
    if target is None or target == "":
        return ""
    left, static, over = COUNTDOWN_KINDS[kind]
    try:
        clock_url = reverse("server-clock")
    except NoReverseMatch:  # not wired yet: the script keeps the render-time reference
        clock_url = ""
    return format_html(
        '<span class="clock-countdown" data-deadline="{}" data-server-now="{}" '
        'data-clock-url="{}" data-text="{}" data-over="{}" data-day="{}" data-days="{}" '
        'data-zone="{}" data-zone-label="{}">'
        '<span class="countdown" aria-live="off" aria-hidden="true"></span>'
        '<span class="countdown-static">{}</span></span>',
        timefmt.iso(target), timefmt.now_iso(), clock_url, str(left), str(over),
        ngettext("%(n)s day", "%(n)s days", 1), ngettext("%(n)s day", "%(n)s days", 2),
        settings.TIME_ZONE, timefmt.zone_label() if settings.TIME_ZONE in timefmt.BEIJING_ZONES
        else "",
        static % {"at": timefmt.human(target)},
    )


@register.simple_tag
def countdown_script() -> str:
    """The script that runs ``{% countdown %}`` (a file: the CSP allows no inline script)."""
    return format_html('<script src="{}" defer></script>', static("js/countdown.js"))


@register.simple_tag
def rule(name: str):
    """The number in force for a statutory rule (core/statutory.py), so page text never
    repeats a number the rules module owns: ``{% rule "BOND_REFUND_DAYS" as days %}``."""
    value = statutory.value(name)
    if isinstance(value, Decimal) and name.endswith("_RATIO"):
        return format((value * 100).normalize(), "f")  # a ratio reads as a percentage: "2"
    return value
