"""The bidder's tool at the opening: decrypt with your own key, prove inclusion."""

import json
from datetime import timedelta

import pytest
import time_machine

from bidding.opening.models import BidOpening
from core import tasks
from crypto import keys
from tests import factories
from tests.bidding.bids.test_cli_submit import PASSPHRASE, Tool, refused

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_login_throttle():
    """Every test logs in from 127.0.0.1 and the login throttle (30 a minute) counts per
    address across tests: each test starts with a fresh count."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def opening(tmp_path, live_server):
    tender = factories.published_tender()
    users = [factories.bidder_with_key() for _ in range(3)]
    for user in users:
        factories.submit_bid(tender, user)
    home = tmp_path / "home"
    home.mkdir()
    tool = Tool(home, live_server.url)
    (tmp_path / "password").write_text(factories.PASSWORD + "\n")
    tool.ok("login", "--username", users[0].username, "--password-file",
            str(tmp_path / "password"))
    key_file = tmp_path / "bid.key"
    key_file.write_bytes(keys.private_key_to_pem(factories.PRIVATE_KEYS[users[0].username],
                                                 PASSPHRASE.encode()))
    traveller = time_machine.travel(tender.deadline + timedelta(seconds=1), tick=True)
    traveller.start()
    tasks.clock_tick()
    yield tender, users, tool, key_file
    traveller.stop()


def test_a_bidder_decrypts_from_the_command_line(opening):
    tender, users, tool, key_file = opening
    out = tool.ok("hall-decrypt", "--tender", tender.reference, "--key", str(key_file))
    assert "your bid is decrypted" in out
    item = BidOpening.objects.get(bid__bidder=users[0].organisation)
    assert item.status == "decrypted" and item.decrypted_by == "bidder"
    refused(tool("hall-decrypt", "--tender", tender.reference, "--key", str(key_file)),
            "already decrypted")


def test_the_wrong_key_is_refused_in_one_line(opening, tmp_path):
    tender, users, tool, key_file = opening
    other = tmp_path / "other.key"
    other.write_bytes(keys.private_key_to_pem(keys.generate_private_key(), PASSPHRASE.encode()))
    refused(tool("hall-decrypt", "--tender", tender.reference, "--key", str(other)), "error")


def test_inclusion_is_proved_online_and_offline(opening, tmp_path):
    tender, users, tool, key_file = opening
    out = tool.ok("inclusion", "--tender", tender.reference, "-o", str(tmp_path / "proof.json"))
    assert out.startswith("OK: envelope")
    session = tender.opening.__class__.objects.get(tender=tender)
    tool.ok("inclusion", str(tmp_path / "proof.json"), "--root", session.merkle_root,
            "--size", str(session.merkle_size))
    proof = json.loads((tmp_path / "proof.json").read_text())
    proof["digest"] = "ab" * 32
    (tmp_path / "forged.json").write_text(json.dumps(proof))
    refused(tool("inclusion", str(tmp_path / "forged.json"), "--root", session.merkle_root,
                 "--size", str(session.merkle_size)), "root")
    refused(tool("inclusion", str(tmp_path / "proof.json"), "--root", session.merkle_root,
                 "--size", str(session.merkle_size + 1)), "record says")


def test_custodians_hand_over_shares_from_the_command_line(opening, tmp_path):
    tender, users, tool, key_file = opening
    session = tender.opening.__class__.objects.get(tender=tender)
    with time_machine.travel(session.window_ends_at + timedelta(seconds=1), tick=True):
        tasks.clock_tick()
        custodians = [s.custodian for s in tender.key_shares.select_related("custodian")]
        for custodian in custodians[:2]:
            home = tmp_path / custodian.username
            home.mkdir()
            ctool = Tool(home, tool.env["GGZY_SERVER"])
            (tmp_path / "pw").write_text(factories.PASSWORD + "\n")
            ctool.ok("login", "--username", custodian.username, "--password-file",
                     str(tmp_path / "pw"))
            ckey = tmp_path / f"{custodian.username}.key"
            ckey.write_bytes(keys.private_key_to_pem(factories.PRIVATE_KEYS[custodian.username],
                                                     PASSPHRASE.encode()))
            # The tool runs on the real clock, before the tender's deadline (only the
            # server travels in time here): it refuses unless told its clock is wrong.
            refused(ctool("hall-share", "--tender", tender.reference, "--key", str(ckey)),
                    "has not passed by this machine's clock")
            out = ctool.ok("hall-share", "--tender", tender.reference, "--key", str(ckey),
                           "--ignore-deadline")
            assert "handed over" in out
        # A bidder has no share to hand over.
        refused(tool("hall-share", "--tender", tender.reference, "--key", str(key_file),
                     "--ignore-deadline"), "no share")
    statuses = set(BidOpening.objects.values_list("status", "decrypted_by"))
    assert statuses == {("decrypted", "custodians")}
