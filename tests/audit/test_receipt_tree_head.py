"""Every bid receipt carries the audit log's latest signed tree head, so every bidder keeps
one outside the platform's database."""

import pytest

from audit.services import audit_checkpoint, audit_verify, kept_tree_heads
from core import platform_keys
from crypto import keys, log, receipts
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_bid_receipt_contains_the_latest_signed_tree_head():
    tender = factories.published_tender()
    bidder = factories.bidder_with_key()
    head = audit_checkpoint()
    bid = factories.submit_bid(tender, bidder, b"a sealed bid")
    body = receipts.receipt_verify(bid.receipt, platform_keys.verify_key())
    sth = receipts.receipt_tree_head(body)
    assert sth == head.sth
    assert log.sth_verify(sth, platform_keys.verify_key())["size"] == head.seq


def test_the_tree_head_from_a_receipt_is_a_kept_head_for_the_verifier():
    tender = factories.published_tender()
    bidder = factories.bidder_with_key()
    audit_checkpoint()
    bid = factories.submit_bid(tender, bidder, b"a sealed bid")
    kept = kept_tree_heads([receipts.receipt_tree_head(bid.receipt)])
    pinned = keys.verify_key_from_pem(platform_keys.verify_key_pem().encode())
    assert audit_verify(kept=kept, platform_key=pinned).ok


def test_an_altered_tree_head_breaks_the_receipt_signature():
    key = keys.generate_signing_key()
    sth = log.sth_sign(key, size=3, root="ab" * 32, timestamp="2026-12-06T10:00:00+00:00")
    receipt = receipts.receipt_issue(key, tender_id="T", bidder_id="B", sha256="cd" * 32,
                                     size=10, server_time="2026-12-06T10:00:01+00:00",
                                     tree_head=sth)
    assert receipts.receipt_verify(receipt, key.public_key())["tree_head"] == sth
    forged = dict(receipt, tree_head=dict(sth, size=2))
    with pytest.raises(Exception, match="signature"):
        receipts.receipt_verify(forged, key.public_key())


def test_a_receipt_before_any_tree_head_has_none():
    key = keys.generate_signing_key()
    receipt = receipts.receipt_issue(key, tender_id="T", bidder_id="B", sha256="cd" * 32,
                                     size=10, server_time="2026-12-06T10:00:01+00:00")
    assert "tree_head" not in receipt and receipts.receipt_tree_head(receipt) is None
