"""The custodians' tool in a price competition: ``price-round-share`` fetches the
second-round sheets nobody decrypted, unwraps this custodian's share of each locally,
checks the round's deadline and window against its own clock, and hands over the shares."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bidding.award import price_round
from bidding.award.models import PriceOffer, PriceRound, PriceRoundShare
from bidding.tenders import custody as tender_custody
from core import clock
from crypto import keys
from tests import factories
from tests.bidding.award.test_price_round import _round, _seal
from tests.bidding.bids.test_cli_submit import PASSPHRASE, Tool, refused

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_login_throttle():
    from django.core.cache import cache

    cache.clear()


def _custodian_tool(tmp_path, live_server, custodian, n):
    home = tmp_path / f"home{n}"
    home.mkdir()
    tool = Tool(home, live_server.url)
    (tmp_path / "password").write_text(factories.PASSWORD + "\n")
    tool.ok("login", "--username", custodian.username, "--password-file",
            str(tmp_path / "password"))
    key_file = tmp_path / f"custodian{n}.key"
    key_file.write_bytes(keys.private_key_to_pem(factories.PRIVATE_KEYS[custodian.username],
                                                 PASSPHRASE.encode()))
    return tool, key_file


def test_custodians_open_an_undecrypted_second_round_sheet_from_the_cli(tmp_path,
                                                                        live_server):
    tender, users, bids, rnd, now = _round()
    sheet = _seal(tender, users[0], "9200000.00")
    price_round.price_offer_submit(user=users[0], tender=tender, sheet=sheet, now=now)
    seats = tender_custody.seats(tender)
    tools = [_custodian_tool(tmp_path, live_server, s.custodian, i)
             for i, s in enumerate(seats[: tender.opening_threshold])]
    args = ("--tender", tender.reference)

    # Still sealing: nothing to hand over.
    refused(tools[0][0]("price-round-share", *args, "--key", str(tools[0][1])),
            "not waiting for custodians")

    clock.tick(now=rnd.deadline)  # the hall opens; nobody decrypts
    rnd.refresh_from_db()
    clock.tick(now=rnd.window_ends_at)  # the window ends: the sheet goes to the custodians
    rnd.refresh_from_db()
    assert rnd.phase == PriceRound.Phase.CUSTODIANS

    # The platform says the window is over, but by this machine's clock it is not yet
    # (the round's times are ahead of the real clock here): no share leaves the machine.
    real = timezone.now()
    assert rnd.window_ends_at > real
    refused(tools[0][0]("price-round-share", *args, "--key", str(tools[0][1])),
            "has not passed by this machine's clock")
    assert not PriceRoundShare.objects.filter(round=rnd).exists()

    # The round's times as they would be once passed by the custodian's clock too.
    PriceRound.objects.filter(pk=rnd.pk).update(
        deadline=real - timedelta(hours=2), window_ends_at=real - timedelta(hours=1),
        custodians_until=real + timedelta(hours=1))
    for tool, key_file in tools:
        out = tool.ok("price-round-share", *args, "--key", str(key_file))
        assert "shares of 1 price sheet(s) handed over" in out
    offer = PriceOffer.objects.get(round=rnd, bidder=users[0].organisation)
    assert (offer.status, offer.decrypted_by) == ("decrypted", "custodians")
    assert str(offer.total_price) == "9200000.00"
    rnd.refresh_from_db()
    assert rnd.phase == PriceRound.Phase.CLOSED


def test_a_bidder_key_is_not_a_custodian_key(tmp_path, live_server):
    tender, users, bids, rnd, now = _round()
    sheet = _seal(tender, users[0], "9200000.00")
    price_round.price_offer_submit(user=users[0], tender=tender, sheet=sheet, now=now)
    clock.tick(now=rnd.deadline)
    rnd.refresh_from_db()
    clock.tick(now=rnd.window_ends_at)
    real = timezone.now()
    PriceRound.objects.filter(pk=rnd.pk).update(
        deadline=real - timedelta(hours=2), window_ends_at=real - timedelta(hours=1))
    seat = tender_custody.seats(tender)[0]
    tool, _ = _custodian_tool(tmp_path, live_server, seat.custodian, 0)
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(keys.private_key_to_pem(factories.PRIVATE_KEYS[users[1].username],
                                              PASSPHRASE.encode()))
    proc = tool("price-round-share", "--tender", tender.reference, "--key", str(wrong))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    note, error = proc.stderr.splitlines()
    assert note.startswith("note: could not decrypt your share") and "not a custodian" in note
    assert error.startswith("error: no share to hand over")
    assert not PriceRoundShare.objects.exists()
