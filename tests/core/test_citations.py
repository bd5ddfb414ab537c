"""Statutory citations read in the reader's language (core.citations)."""

import pytest
from django.utils import translation

from core import citations, statutory


@pytest.mark.parametrize("n, zh", [(1, "一"), (10, "十"), (16, "十六"), (24, "二十四"),
                                   (57, "五十七"), (100, "一百"), (105, "一百零五"),
                                   (110, "一百一十"), (121, "一百二十一")])
def test_article_numbers_are_written_in_chinese_numerals(n, zh):
    assert citations.chinese_number(n) == zh


@pytest.mark.parametrize("source, zh", [
    ("Law 24", "《招标投标法》第二十四条"),
    ("Law 23, Reg 21", "《招标投标法》第二十三条、《招标投标法实施条例》第二十一条"),
    ("Reg 31 (local: promptly)", "《招标投标法实施条例》第三十一条（本地规则：“及时”）"),
    ("E-Rules 29-30 (local)", "《电子招标投标办法》第二十九至三十条（本地规则）"),
    ("Administrative Penalty Law art 42", "《行政处罚法》第四十二条"),
    ("APL 60 (local)", "《行政处罚法》第六十条（本地规则）"),
    ("MOFCOM Order 13 art 21 (local)", "商务部令第13号第二十一条（本地规则）"),
    ("local", "本地规则"),
    ("E-Rules (local)", "《电子招标投标办法》（本地规则）"),
])
def test_a_source_reads_as_the_instrument_and_article_in_chinese(source, zh):
    assert citations.cite(source, "zh-hans") == zh


def test_english_keeps_the_compact_form_readme_explains():
    assert citations.cite("Reg 31 (local: promptly)", "en") == "Reg 31 (local: promptly)"


def test_every_rule_source_in_chinese_has_no_english_abbreviation_left():
    for name in statutory.RULES:
        with translation.override("zh-hans"):
            text = statutory.source(name)
        for abbreviation in ("Law ", "Reg ", "E-Rules", "APL", "local", "art "):
            assert abbreviation not in text, (name, text)
