"""How drawn experts are told: a pluggable channel per medium.

Each channel sends one message to one expert. The embedded default sends in-app
messages (on the expert's own page) and email, and a simulated SMS/voice gateway
writes what a real gateway would send to ``GatewayMessage``, shown on the gateway
page. A real SMS provider or an automatic voice call (语音通知, press 1 to confirm,
2 to decline) is a class with the same ``send`` registered in ``CHANNELS``.
Messages are sent after the transaction that called the expert commits.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from django.conf import settings
from django.core.mail import send_mail

from .models import Expert, GatewayMessage

log = logging.getLogger(__name__)


class Channel(ABC):
    name = ""

    @abstractmethod
    def send(self, expert: Expert, subject: str, body: str) -> None:
        """Deliver one message to the expert by this channel."""


class InAppChannel(Channel):
    """Shown on the expert's own page only: an organisation-wide notice would tell the
    expert's colleagues that they were drawn."""

    name = "inapp"

    def send(self, expert, subject, body):
        GatewayMessage.objects.create(channel=self.name, to=expert.code, expert=expert,
                                      body=f"{subject}\n{body}")


class EmailChannel(Channel):
    name = "email"

    def send(self, expert, subject, body):
        if not expert.email:
            return
        send_mail(subject, body, None, [expert.email], fail_silently=True)
        GatewayMessage.objects.create(channel=self.name, to=expert.email, expert=expert,
                                      body=f"{subject}\n{body}")


class SimulatedSmsChannel(Channel):
    name = "sms"

    def send(self, expert, subject, body):
        if expert.phone:
            GatewayMessage.objects.create(channel=self.name, to=expert.phone, expert=expert,
                                          body=f"【评标专家抽取】{body}")


class SimulatedVoiceChannel(Channel):
    """An automatic call: the message is read out and the expert presses 1 or 2."""

    name = "voice"

    def send(self, expert, subject, body):
        if expert.phone:
            GatewayMessage.objects.create(channel=self.name, to=expert.phone, expert=expert,
                                          body=f"{body} 确认参加请按1，不参加请按2。")


CHANNELS: dict[str, Channel] = {
    c.name: c for c in (InAppChannel(), EmailChannel(), SimulatedSmsChannel(),
                        SimulatedVoiceChannel())
}


def register_channel(channel: Channel) -> None:
    CHANNELS[channel.name] = channel


def send(expert: Expert, subject: str, body: str) -> list[str]:
    """Send through every configured channel; one failing channel does not stop the rest."""
    sent = []
    for name in getattr(settings, "EXPERT_NOTIFY_CHANNELS",
                        ["inapp", "email", "sms", "voice"]):
        channel = CHANNELS.get(name)
        if channel is None:
            continue
        try:
            channel.send(expert, subject, body)
            sent.append(name)
        except Exception:
            log.exception("expert notification through %s failed", name)
    return sent
