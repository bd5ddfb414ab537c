"""One clock: people read times in the centre's zone, marked, in one format per language;
machines read ISO 8601 with the offset."""

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from core import timefmt
from core.views import server_clock

ROOT = Path(__file__).resolve().parents[2]
# 2026-12-07 01:30:05 UTC is 09:30:05 in Beijing.
UTC_INSTANT = datetime(2026, 12, 7, 1, 30, 5, tzinfo=UTC)


def test_human_in_chinese_is_beijing_time_and_says_so():
    with translation.override("zh-hans"):
        assert timefmt.human(UTC_INSTANT) == "2026-12-07 09:30 北京时间"
        assert timefmt.human(UTC_INSTANT, seconds=True) == "2026-12-07 09:30:05 北京时间"


def test_human_in_english_is_beijing_time_marked_cst():
    with translation.override("en"):
        assert timefmt.human(UTC_INSTANT) == "2026-12-07 09:30 CST"
        assert timefmt.zone_label() == "CST"


def test_a_utc_time_late_in_the_day_lands_on_the_next_beijing_day():
    late = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    assert timefmt.human(late, lang="en") == "2026-12-07 04:00 CST"
    assert timefmt.day(late) == "2026-12-07"


def test_a_date_alone_is_just_the_date_in_both_languages():
    for lang in ("zh-hans", "en"):
        assert timefmt.human(date(2026, 12, 7), lang=lang) == "2026-12-07"


def test_nothing_renders_as_nothing_so_template_defaults_apply():
    assert timefmt.human(None) == "" and timefmt.iso(None) == "" and timefmt.day(None) == ""


def test_iso_carries_the_centre_offset():
    assert timefmt.iso(UTC_INSTANT) == "2026-12-07T09:30:05+08:00"
    assert datetime.fromisoformat(timefmt.iso(UTC_INSTANT)) == UTC_INSTANT


def test_another_centre_zone_is_marked_with_its_abbreviation(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    winter = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    summer = datetime(2026, 7, 7, 8, 30, tzinfo=UTC)
    assert timefmt.human(winter, lang="zh-hans") == "2026-12-07 09:30 CET"
    assert timefmt.human(summer, lang="en") == "2026-07-07 10:30 CEST"
    assert timefmt.iso(winter) == "2026-12-07T09:30:00+01:00"


def test_the_active_time_zone_does_not_move_the_centre_clock():
    from django.utils import timezone
    with timezone.override("America/New_York"):
        assert timefmt.human(UTC_INSTANT, lang="en") == "2026-12-07 09:30 CST"


def test_template_filters_render_the_same_strings():
    t = Template('{% load platform_tags %}{{ d|when }}|{{ d|when:"s" }}|{{ d|iso }}|'
                 '{{ d|day }}|{{ d|timetag }}')
    with translation.override("zh-hans"):
        out = t.render(Context({"d": UTC_INSTANT}))
    assert out.split("|") == [
        "2026-12-07 09:30 北京时间", "2026-12-07 09:30:05 北京时间", "2026-12-07T09:30:05+08:00",
        "2026-12-07",
        '<time datetime="2026-12-07T09:30:05+08:00">2026-12-07 09:30 北京时间</time>']


def test_countdown_tag_carries_target_and_server_now_and_a_static_sentence():
    t = Template('{% load platform_tags %}{% countdown d "deadline" %}')
    with translation.override("en"):
        out = t.render(Context({"d": UTC_INSTANT}))
    assert 'data-deadline="2026-12-07T09:30:05+08:00"' in out
    now = re.search(r'data-server-now="([^"]+)"', out).group(1)
    assert now.endswith("+08:00")
    assert 'aria-live="off"' in out
    assert "The bid deadline is 2026-12-07 09:30 CST." in out


def test_clock_endpoint_returns_the_server_time_in_iso_with_offset():
    response = server_clock(RequestFactory().get("/api/clock/"))
    body = json.loads(response.content)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00", body["now"])


def test_clock_endpoint_refuses_writes():
    assert server_clock(RequestFactory().post("/api/clock/")).status_code == 405


# Raw Django date formats with a time of day are what this replaced: "Y-m-d H:i", "H:i:s",
# "m-d H:i", "… T". Every time a person reads goes through |when / |timetag / |day.
RAW_TIME_FORMAT = re.compile(r"""\|date:\s*["'][^"']*[HhGgisaAPTcrU][^"']*["']""")


def _templates():
    for path in ROOT.rglob("*.html"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & {".venv", "node_modules", "var", ".git"}:
            continue
        yield path


def test_no_template_formats_a_time_of_day_by_hand():
    offenders = [f"{p.relative_to(ROOT)}:{n}: {m.group(0)}"
                 for p in _templates()
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 for m in RAW_TIME_FORMAT.finditer(line)]
    assert offenders == [], "use |when, |timetag or |iso:\n" + "\n".join(offenders)


@pytest.mark.parametrize("fmt", ['|date:"Y-m-d H:i"', "|date:'c'", '|date:"H:i:s"',
                                 '|date:"Y-m-d H:i T"', '|date:"m-d H:i"'])
def test_the_template_check_catches_hand_formats(fmt):
    assert RAW_TIME_FORMAT.search("{{ x" + fmt + " }}")


def test_the_template_check_leaves_plain_dates_alone():
    assert not RAW_TIME_FORMAT.search('{{ x|date:"Y-m-d" }}')


def test_a_refusal_names_the_earliest_deadline_in_the_human_format():
    from datetime import timedelta

    from django.core.exceptions import ValidationError

    from core import statutory

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        statutory.check_deadline_at_publication(
            now=UTC_INSTANT, docs_from=UTC_INSTANT, deadline=UTC_INSTANT + timedelta(days=3))
    text = " ".join(str(m) for m in refused.value.messages)
    earliest = timefmt.human(UTC_INSTANT + statutory.days("DOCS_TO_DEADLINE_MIN_DAYS"))
    assert earliest.endswith(" CST") and earliest in text


def test_server_now_tag_renders_the_server_clock_with_an_id():
    with translation.override("en"):
        out = Template('{% load platform_tags %}{% server_now "server-time" %}').render(Context())
    assert re.fullmatch(r'<time id="server-time" datetime="[^"]+\+08:00">'
                        r'\d{4}-\d\d-\d\d \d\d:\d\d CST</time>', out)
