"""Child-process side of the end-to-end opening test (``test_opening_stack.py``).

Runs with the stack's environment (its own PostgreSQL database, the shared var/ and
media/ directories), never inside pytest's process, so the data it writes is what the
running servers see:

* ``setup``: three custodians, a host, three bidders with keys and sealed bids on a
  public tender (announced as decrypted, custodians' fallback); the deadline moved
  into the past and the lifecycle tick run, which starts the opening. Prints JSON with
  the tender, every user's session cookie, each bidder's data keys (unwrapped with its
  own private key, as its tool would) and each custodian's decrypted share.
* ``close-window <tender id>``: the decryption window's end moved into the past, then
  the tick.
* ``finish <tender id>``: the confirmation time's end moved into the past, then the
  tick (which writes and signs the record).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradecentre.settings")
    import django

    django.setup()


def _session_cookie(user) -> str:
    """A logged-in session for ``user``, as the login view would leave it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _spread_ids() -> None:
    """Start tender ids at a random point. Redis pub/sub channels ignore the database
    number, so another stack on the same Redis (a benchmark, another test run) with
    the same tender id would otherwise share the hall's group."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('bidding_tender', 'id')")
        (sequence,) = cursor.fetchone()
        cursor.execute(f"ALTER SEQUENCE {sequence} RESTART WITH %s",
                       [secrets.randbelow(10**9) + 10**6])


def setup() -> dict:
    _django()
    from django.test.utils import override_settings
    from django.utils import timezone

    from bidding.tenders.models import Tender
    from core import platform_keys, tasks
    from tests import factories
    from tests.bidding.opening.test_services import custodian_share, data_keys

    platform_keys.signing_key()  # made once here, before two servers could race for it
    platform_keys.document_certificate()
    _spread_ids()
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        custodians = factories.ensure_custodians(3)
        host = factories.tenderer()
        bidders = [factories.bidder_with_key() for _ in range(3)]
        observer = factories.supervisor()
    tender = factories.published_tender(user=host, announce_mode="as_decrypted",
                                        public_opening=True, decryption_fallback="custodians")
    bids = [factories.submit_bid(tender, u, f"标书正文 {u.username} ".encode() * 200)
            for u in bidders]
    # The deadline passes: move it just behind now and let the clock start the opening.
    Tender.objects.filter(pk=tender.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    tasks.clock_tick()
    tender.refresh_from_db()
    assert tender.status == Tender.Status.OPENING, tender.status
    return {
        "tender": tender.pk,
        "reference": tender.reference,
        "host": {"name": host.organisation.name, "session": _session_cookie(host)},
        "observer": {"session": _session_cookie(observer)},
        "bidders": [
            {"username": u.username, "name": u.organisation.name,
             "credit_code": u.organisation.credit_code, "session": _session_cookie(u),
             "sha256": bid.sha256,
             **dict(zip(("bid_key", "price_sheet_key"), data_keys(bid, u), strict=True))}
            for u, bid in zip(bidders, bids, strict=True)
        ],
        "custodians": [
            {"username": c.username, "session": _session_cookie(c),
             "share": custodian_share(tender, c)}
            for c in custodians
        ],
    }


def move_and_tick(what: str, tender_id: int) -> dict:
    _django()
    from django.utils import timezone

    from bidding.opening.models import OpeningSession
    from core import tasks

    past = timezone.now() - timedelta(seconds=1)
    field = {"close-window": "window_ends_at", "finish": "confirm_until"}[what]
    OpeningSession.objects.filter(tender_id=tender_id).update(**{field: past})
    tasks.clock_tick()
    session = OpeningSession.objects.get(tender_id=tender_id)
    return {"phase": session.phase, "tender_status": session.tender.status}


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "setup":
        result = setup()
    else:
        result = move_and_tick(command, int(sys.argv[2]))
    sys.stdout.write("\n@@JSON@@" + json.dumps(result, ensure_ascii=False) + "\n")
