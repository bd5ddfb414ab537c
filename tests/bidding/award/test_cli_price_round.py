"""The bidder's tool in a price competition: seal, submit and decrypt a second-round
price from the command line."""

import json
from datetime import timedelta

import pytest
import time_machine

from bidding.award.models import PriceOffer
from core import clock
from crypto import keys
from tests import factories
from tests.bidding.award.test_price_round import _round
from tests.bidding.bids.test_cli_submit import PASSPHRASE, Tool, refused

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_login_throttle():
    from django.core.cache import cache

    cache.clear()


def test_a_candidate_seals_submits_and_decrypts_its_second_round_price_from_the_cli(
        tmp_path, live_server):
    tender, users, bids, rnd, now = _round()
    home = tmp_path / "home"
    home.mkdir()
    tool = Tool(home, live_server.url)
    (tmp_path / "password").write_text(factories.PASSWORD + "\n")
    tool.ok("login", "--username", users[0].username, "--password-file",
            str(tmp_path / "password"))
    key_file = tmp_path / "bid.key"
    key_file.write_bytes(keys.private_key_to_pem(factories.PRIVATE_KEYS[users[0].username],
                                                 PASSPHRASE.encode()))
    (tmp_path / "custodians.json").write_bytes(factories.trust_file())
    tool.ok("pin-custodians", str(tmp_path / "custodians.json"))
    sheet = tmp_path / "sheet.json"
    sheet.write_text(json.dumps({
        "total_price": "9390000.00", "duration_days": 300, "quality": "合格",
        "project_manager": "张三", "project_manager_id": "闽135000000001"},
        ensure_ascii=False))
    args = ("--tender", tender.reference, "--key", str(key_file))
    out = tool.ok("price-round", *args, "--price-sheet", str(sheet))
    offer = PriceOffer.objects.get(round=rnd, bidder=users[0].organisation)
    assert offer.sha256 in out and offer.total_price is None
    refused(tool("price-round", *args, "--price-sheet", str(sheet)), "already submitted")
    with time_machine.travel(rnd.deadline + timedelta(minutes=1), tick=True):
        clock.tick()
        out = tool.ok("price-round-decrypt", *args)
    assert "decrypted" in out
    offer.refresh_from_db()
    assert (offer.status, offer.decrypted_by) == ("decrypted", "bidder")
    assert str(offer.total_price) == "9390000.00"
