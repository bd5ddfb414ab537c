"""Page text takes statutory numbers from core/statutory.py ({% rule %}), so a local
override changes what the pages say, and no page repeats a number by hand."""

from django.template import Context, Template

from core import statutory


def _render(text: str) -> str:
    return Template("{% load platform_tags %}" + text).render(Context({}))


def test_the_tag_gives_the_number_in_force():
    assert _render('{% rule "DOCS_AVAILABLE_MIN_DAYS" %}') == str(
        statutory.value("DOCS_AVAILABLE_MIN_DAYS"))


def test_a_ratio_reads_as_a_percentage():
    assert _render('{% rule "BOND_MAX_RATIO" %}') == "2"


def test_a_local_override_changes_the_page_text(settings):
    settings.STATUTORY_OVERRIDES = {"BOND_REFUND_AFTER_CANCELLATION_DAYS": 7}
    assert _render('{% rule "BOND_REFUND_AFTER_CANCELLATION_DAYS" as d %}{{ d }} days') == "7 days"
