"""Confirmation within the window, backups on decline or silence, the pledge."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from bidding.tenders import lifecycle
from core import clock
from crypto import keys as crypto_keys
from crypto import signing
from expert_pool import services
from expert_pool.models import Draw, DrawMember, GatewayMessage
from expert_pool.rules import committee_ready
from tests import factories

from .conftest import expert_user, make_pool, request, run_beacon

pytestmark = pytest.mark.django_db
M = DrawMember.Status


@pytest.fixture(autouse=True)
def _send_on_commit(django_capture_on_commit_callbacks, settings):
    """Messages go after commit; run those callbacks as they are scheduled. Every
    channel is on, the automatic call included."""
    settings.EXPERT_NOTIFY_CHANNELS = ["inapp", "email", "sms", "voice"]
    from django.db import transaction

    real = transaction.on_commit

    def now_or_after(func, using=None, robust=False):
        func()

    transaction.on_commit = now_or_after
    yield
    transaction.on_commit = real


@pytest.fixture
def setup(tender, operator):
    """Three road experts with accounts and two cost engineers: all five are called."""
    people = [expert_user(specialties=("A0201",)) for _ in range(3)]
    make_pool(2, specialties=("D0101",))
    draw = run_beacon(request(tender, operator, backups=0))
    return draw, {e.pk: u for e, u in people}


def _code(exc: ValidationError) -> str:
    return next(e.code for errs in exc.error_dict.values() for e in errs)


def _seat(draw, group=0, position=0):
    return DrawMember.objects.select_related("expert").get(draw=draw, group=group,
                                                           position=position)


def test_called_experts_are_notified_in_app_by_email_and_sms(setup, mailoutbox):
    draw, _users = setup
    called = draw.members.filter(status=M.CALLED)
    assert called.count() == 5
    channels = set(GatewayMessage.objects.values_list("channel", flat=True))
    assert channels == {"inapp", "email", "sms", "voice"}
    assert len(mailoutbox) == 5


@pytest.fixture
def backed(tender, operator):
    people = [expert_user(specialties=("A0201",)) for _ in range(5)]
    people += [expert_user(specialties=("D0101",)) for _ in range(4)]
    draw = run_beacon(request(tender, operator, backups=2, quotas=(("A0201", 3), ("D01", 2))))
    return draw, {e.pk: u for e, u in people}


def test_a_decline_calls_the_next_backup_and_logs_the_reason(backed):
    draw, users = backed
    seat = _seat(draw, 0, 0)
    services.member_respond(member=seat, user=users[seat.expert_id], accept=False,
                            reason="出差")
    assert _seat(draw, 0, 0).status == M.DECLINED
    assert _seat(draw, 0, 3).status == M.CALLED
    assert AuditEvent.objects.filter(action="expert_draw.declined").exists()


def test_a_decline_without_reason_is_refused(backed):
    draw, users = backed
    seat = _seat(draw, 0, 0)
    with pytest.raises(ValidationError):
        services.member_respond(member=seat, user=users[seat.expert_id], accept=False)


def test_only_the_drawn_expert_answers(backed):
    draw, users = backed
    with pytest.raises(PermissionDenied):
        services.member_respond(member=_seat(draw), user=factories.expert(), accept=True)


def test_a_backup_not_called_cannot_answer(backed):
    draw, users = backed
    seat = _seat(draw, 0, 3)
    with pytest.raises(ValidationError) as exc:
        services.member_respond(member=seat, user=users[seat.expert_id], accept=True)
    assert _code(exc.value) == "not_called"


def test_silence_past_the_window_times_out_and_calls_the_next_backup(backed, settings):
    settings.EXPERT_CONFIRM_WINDOW_MINUTES = 30
    draw, users = backed
    seat = _seat(draw, 0, 1)
    with time_machine.travel(seat.respond_by - timedelta(minutes=1), tick=False):
        from django.utils import timezone

        clock.tick(now=timezone.now())
        assert _seat(draw, 0, 1).status == M.CALLED
    with time_machine.travel(seat.respond_by + timedelta(seconds=1), tick=False):
        from django.utils import timezone

        clock.tick(now=timezone.now())
        with pytest.raises(ValidationError) as exc:
            services.member_respond(member=seat, user=users[seat.expert_id], accept=True)
    assert _seat(draw, 0, 1).status == M.TIMED_OUT
    assert _seat(draw, 0, 3).status == M.CALLED
    assert _code(exc.value) == "not_called"


def test_answering_after_the_window_is_refused(backed):
    draw, users = backed
    seat = _seat(draw, 0, 0)
    with pytest.raises(ValidationError) as exc:
        services.member_respond(member=seat, user=users[seat.expert_id], accept=True,
                                now=seat.respond_by + timedelta(seconds=1))
    assert _code(exc.value) == "confirm_window_closed"


def test_when_backups_run_out_the_draw_is_recorded_as_failed(tender, operator):
    people = [expert_user(specialties=("A0201",)) for _ in range(3)]
    make_pool(2, specialties=("D0101",))
    draw = run_beacon(request(tender, operator, backups=0))
    users = {e.pk: u for e, u in people}
    seat = _seat(draw, 0, 0)
    services.member_respond(member=seat, user=users[seat.expert_id], accept=False,
                            reason="生病")
    draw.refresh_from_db()
    assert draw.status == Draw.Status.FAILED
    assert "A0201" in draw.failure_reason


def _confirm_all(draw, users_by_expert):
    for m in draw.members.filter(status=M.CALLED).select_related("expert"):
        u = users_by_expert.get(m.expert_id) or _give_account(m.expert)
        users_by_expert[m.expert_id] = u
        services.member_respond(member=m, user=u, accept=True)
    return users_by_expert


def _give_account(expert):
    u = factories.expert()
    expert.user = u
    expert.save()
    return u


def test_the_pledge_with_an_otp_sent_by_sms(backed):
    draw, users = backed
    _confirm_all(draw, users)
    seat = _seat(draw, 0, 0)
    services.pledge_otp_send(member=seat, user=users[seat.expert_id])
    msg = GatewayMessage.objects.filter(channel="sms", expert=seat.expert).first()
    otp = msg.body.split()[-2] if " " in msg.body else ""
    import re

    otp = re.search(r"\d{6}", msg.body).group(0)
    with pytest.raises(ValidationError):
        services.pledge_sign(member=seat, user=users[seat.expert_id], otp="000000"
                             if otp != "000000" else "111111")
    services.pledge_sign(member=seat, user=users[seat.expert_id], otp=otp)
    assert _seat(draw, 0, 0).pledge_method == "otp"


def test_the_pledge_signed_with_the_experts_key(backed):
    draw, users = backed
    _confirm_all(draw, users)
    seat = _seat(draw, 0, 0)
    user = users[seat.expert_id]
    key = crypto_keys.generate_private_key()
    from accounts.models import PublicKey

    PublicKey.objects.create(user=user, purpose="bid", point=crypto_keys.public_key_bytes(key),
                             fingerprint=crypto_keys.key_fingerprint(key))
    wrong = signing.sign(key, signing.DRAW, b"something else")
    with pytest.raises(ValidationError):
        services.pledge_sign(member=seat, user=user, signature_b64=base64.b64encode(wrong)
                             .decode())
    sig = signing.sign(key, signing.DRAW, services.pledge_message(seat))
    services.pledge_sign(member=seat, user=user, signature_b64=base64.b64encode(sig).decode())
    assert _seat(draw, 0, 0).pledge_method == "key"


def test_the_pledge_before_confirming_is_refused(backed):
    draw, users = backed
    seat = _seat(draw, 0, 0)
    with pytest.raises(ValidationError) as exc:
        services.pledge_sign(member=seat, user=users[seat.expert_id], otp="123456")
    assert _code(exc.value) == "not_confirmed"


def test_evaluation_waits_for_a_complete_pledged_committee(backed):
    draw, users = backed
    assert committee_ready(draw.tender, None)
    _confirm_all(draw, users)
    for m in draw.members.filter(status=M.CONFIRMED).select_related("expert"):
        services.pledge_otp_send(member=m, user=users[m.expert_id])
        import re

        body = GatewayMessage.objects.filter(channel="sms", expert=m.expert).first().body
        services.pledge_sign(member=m, user=users[m.expert_id],
                             otp=re.search(r"\d{6}", body).group(0))
    draw.refresh_from_db()
    assert draw.status == Draw.Status.COMPLETE
    assert committee_ready(draw.tender, None) == ""


def test_a_keypress_on_the_automatic_call_confirms_or_declines(backed):
    draw, users = backed
    first, second = _seat(draw, 0, 0), _seat(draw, 0, 1)
    call = GatewayMessage.objects.filter(channel="voice", expert=first.expert).first()
    assert "按1" in call.body
    services.voice_keypress(message=call, key="1")
    assert _seat(draw, 0, 0).status == M.CONFIRMED
    call2 = GatewayMessage.objects.filter(channel="voice", expert=second.expert).first()
    services.voice_keypress(message=call2, key="2")
    assert _seat(draw, 0, 1).status == M.DECLINED
    assert _seat(draw, 0, 3).status == M.CALLED


def test_a_keypress_other_than_1_or_2_or_without_a_waiting_seat_is_refused(backed):
    draw, users = backed
    seat = _seat(draw, 0, 0)
    call = GatewayMessage.objects.filter(channel="voice", expert=seat.expert).first()
    with pytest.raises(ValidationError) as exc:
        services.voice_keypress(message=call, key="9")
    assert _code(exc.value) == "invalid"
    services.voice_keypress(message=call, key="1")
    with pytest.raises(ValidationError) as exc:
        services.voice_keypress(message=call, key="1")
    assert _code(exc.value) == "not_called"
    sms = GatewayMessage.objects.filter(channel="sms", expert=seat.expert).first()
    with pytest.raises(ValidationError):
        services.voice_keypress(message=sms, key="1")


def test_evaluation_cannot_start_without_a_complete_committee(tender):
    from bidding.tenders.models import Tender

    Tender.objects.filter(pk=tender.pk).update(status=Tender.Status.OPENED)
    tender.refresh_from_db()
    with pytest.raises(lifecycle.TransitionNotAllowed) as exc:
        lifecycle.tender_transition(tender=tender, to=Tender.Status.EVALUATION,
                                    by=lifecycle.SYSTEM)
    assert "committee" in str(exc.value)
