"""Audit events in words, in the reader's language, beside the raw action id."""

import pytest
from django.test import Client
from django.utils import translation

from audit.describe import SENTENCES, describe
from audit.models import AuditEvent
from audit.services import audit_record
from tests import factories

pytestmark = pytest.mark.django_db


def _event(action, actor="bidder-b"):
    return audit_record(actor=actor, action=action, object_type="bid", object_id=7,
                        payload={"x": 1})


def test_a_bid_submission_reads_as_words_in_chinese_and_in_english():
    e = _event("bid.submit")
    with translation.override("zh-hans"):
        assert describe(e) == "bidder-b 提交了投标文件"
    with translation.override("en"):
        assert describe(e) == "bidder-b submitted a bid"


def test_the_clock_is_named_in_words_not_by_its_label():
    e = _event("opening.window_closed", actor="clock")
    with translation.override("zh-hans"):
        assert describe(e) == "系统时钟 结束了解密时段"
    with translation.override("en"):
        assert describe(e) == "The clock closed the decryption window"


def test_an_action_without_words_falls_back_to_its_id():
    assert describe(_event("test.unknown_action")) == "test.unknown_action"


def test_every_sentence_fills_the_actor_and_has_a_chinese_translation():
    e = AuditEvent(actor="u", action="")
    for action in SENTENCES:
        e.action = action
        with translation.override("en"):
            english = describe(e)
        with translation.override("zh-hans"):
            chinese = describe(e)
        assert english.startswith("u ") and chinese.startswith("u "), action
        assert english != chinese, f"{action} has no Chinese translation"


def _audit_page(lang):
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(factories.supervisor())
    return client.get("/supervision/audit/").content.decode()


def test_the_audit_page_shows_words_beside_the_raw_id_in_the_readers_language():
    _event("bid.submit")
    _event("test.unknown_action")
    zh = _audit_page("zh-hans")
    assert "bidder-b 提交了投标文件" in zh
    assert '<small class="mono muted">bid.submit</small>' in zh  # the id stays for auditors
    assert '<span class="mono">test.unknown_action</span>' in zh
    en = _audit_page("en")
    assert "bidder-b submitted a bid" in en and "提交了投标文件" not in en
    assert '<small class="mono muted">bid.submit</small>' in en
