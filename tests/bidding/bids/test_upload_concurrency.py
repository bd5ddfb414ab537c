"""Two attempts at the same chunk at once (a client retrying through another process while
its first attempt still streams): they are served one after the other on the upload's
file lock, the later one is refused as a duplicate, and their bytes never mix."""

import hashlib
import io
import os
import threading

import pytest
from django.db import connection

from bidding.bids import services as bids
from bidding.tenders import services
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


class Gated(io.RawIOBase):
    """The first half of ``data`` at once, the rest once ``gate`` is set."""

    def __init__(self, data: bytes, reached: threading.Event, gate: threading.Event):
        self.data, self.pos, self.reached, self.gate = data, 0, reached, gate

    def read(self, n=-1):
        if self.pos >= len(self.data) // 2 and not self.gate.is_set():
            self.reached.set()
            self.gate.wait(30)
        n = len(self.data) - self.pos if n is None or n < 0 else n
        block = self.data[self.pos:self.pos + min(n, len(self.data) // 2 or 1)]
        self.pos += len(block)
        return block


def test_two_attempts_at_one_chunk_are_served_in_turn_and_the_later_is_a_duplicate():
    tender = factories.published_tender()
    user = factories.bidder_with_key()
    services.document_obtain(user=user, tender=tender)
    blob = factories.seal_for(tender, user, os.urandom(5000))
    upload = bids.bid_upload_start(user=user, tender=tender, size=len(blob),
                                   price_sheet=factories.price_sheet_for(tender, user))
    other = bytes(b ^ 0xFF for b in blob)  # what a mix would show
    reached, gate = threading.Event(), threading.Event()
    results = {}

    def attempt(name, stream, data):
        try:
            results[name] = bids.bid_upload_chunk(
                user=user, upload_id=upload.public_id, index=0, stream=stream,
                length=len(data), sha256=hashlib.sha256(data).hexdigest())
        except Exception as exc:  # the refusal is the result
            results[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=attempt, args=("first", Gated(blob, reached, gate), blob))
    first.start()
    assert reached.wait(30)  # the first attempt is half-way through its bytes
    second = threading.Thread(target=attempt, args=("second", io.BytesIO(other), other))
    second.start()
    second.join(0.5)  # it cannot finish while the first holds the upload's file
    assert second.is_alive() and "second" not in results
    gate.set()
    first.join(30)
    second.join(30)

    assert results["first"].received_bytes == len(blob)
    refused = results["second"]
    assert isinstance(refused, bids.UploadConflict) and refused.code == "chunk_duplicate"
    with open(bids._path(upload.storage_name), "rb") as fh:
        assert fh.read() == blob
    bid = bids.bid_upload_complete(user=user, upload_id=upload.public_id)
    assert bid.sha256 == hashlib.sha256(blob).hexdigest()
