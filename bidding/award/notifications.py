"""What the award tells people (core.notifications): the candidates are published (to
every bidder of the tender), an objection to them is answered (to the objector), the
notices are issued (to each bidder, its own: the award notice or the result notice) and
the contract is ready to sign (the winner and the tenderer).

Loaded by ``AwardConfig.ready()``. The stage's own ``accounts.services.notify`` calls
(organisation messages on the workspace) stay as they are; these are the personal,
per-user notifications with each user's choice of channel.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bidding.bids.selectors import current_bids
from bidding.tenders.notifications import (
    bidder_user_ids,
    tender_params,
    tenderer_user_ids,
    title_of,
)
from core.notifications.registry import Message, excerpt, register_kind
from core.timefmt import human, iso

from .models import AwardDecision, Contract, Notice, Objection, Publicity


def award_url(tender) -> str:
    return reverse("award:page", kwargs={"tender_id": tender.pk})


# --- the candidates are published -------------------------------------------------------


def publicity_message(event) -> Message | None:
    publicity = Publicity.objects.select_related("tender").filter(pk=event.object_id).first()
    if publicity is None:
        return None
    tender = publicity.tender
    bidders = current_bids(tender).values_list("bidder_id", flat=True)
    names = [c.get("bidder", "") for c in publicity.candidates]
    return Message(recipients=bidder_user_ids(bidders),
                   params={**tender_params(tender), "candidates": "、".join(names),
                           "ends_at": iso(publicity.ends_at)},
                   url=award_url(tender), tender_reference=tender.reference)


def render_publicity(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: the candidates are published") % p
    body = _("The winning candidates of “%(title)s” are published until %(end)s: "
             "%(candidates)s. A bidder may object to them in writing until then "
             "(Reg 54).") % {**p, "title": title_of(p), "end": human(p["ends_at"])}
    return title, body


# --- an objection to the candidates is answered -----------------------------------------


def objection_message(event) -> Message | None:
    objection = Objection.objects.select_related("tender").filter(pk=event.object_id).first()
    if objection is None:
        return None
    tender = objection.tender
    # The objector's own staff; other bidders are not told of it.
    return Message(recipients=bidder_user_ids([objection.bidder_id]),
                   params={**tender_params(tender), "objection": excerpt(objection.text),
                           "answer": excerpt(objection.answer)},
                   url=award_url(tender), tender_reference=tender.reference)


def render_objection(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: your objection to the candidates was answered") % p
    body = _("Your objection to the candidates of “%(title)s” was answered.\n"
             "Objection: %(objection)s\nAnswer: %(answer)s") % {**p, "title": title_of(p)}
    return title, body


# --- the notices are issued -------------------------------------------------------------


def notices_messages(event) -> list[Message]:
    decision = (AwardDecision.objects.select_related("tender", "winner__bidder")
                .filter(pk=event.object_id).first())
    if decision is None:
        return []
    tender = decision.tender
    messages = []
    for notice in Notice.objects.filter(tender=tender).order_by("pk"):
        # Each bidder its own notice, nobody else's.
        messages.append(Message(
            recipients=bidder_user_ids([notice.organisation_id]),
            params={**tender_params(tender), "won": notice.kind == Notice.Kind.AWARD,
                    "winner": decision.winner.bidder.name,
                    "contract_due": iso(decision.contract_due)},
            url=award_url(tender), tender_reference=tender.reference,
            key=f"award-notice:{notice.pk}"))
    return messages


def render_notice(p: dict) -> tuple[str, str]:
    if p.get("won"):
        title = _("%(reference)s: award notice — your bid won") % p
        body = _("Your bid won “%(title)s”. The award notice is on the award page. The "
                 "contract is to be concluded by %(due)s (Law 46).") % {
            **p, "title": title_of(p), "due": human(p["contract_due"])}
    else:
        title = _("%(reference)s: result notice") % p
        body = _("The award of “%(title)s” was decided: the winner is %(winner)s. Your "
                 "result notice is on the award page.") % {**p, "title": title_of(p)}
    return title, body


# --- the contract is ready to sign ------------------------------------------------------


def contract_message(event) -> Message | None:
    contract = Contract.objects.select_related("tender").filter(pk=event.object_id).first()
    if contract is None:
        return None
    tender = contract.tender
    decision = AwardDecision.objects.filter(tender=tender).first()
    recipients = set(bidder_user_ids([contract.winner_id])) | set(tenderer_user_ids(tender))
    return Message(recipients=recipients,
                   params={**tender_params(tender),
                           "contract_due": iso(decision.contract_due if decision else None)},
                   url=reverse("award:contract", kwargs={"tender_id": tender.pk}),
                   tender_reference=tender.reference)


def render_contract(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: the contract is ready to sign") % p
    body = _("The contract for “%(title)s” is drawn up. Both parties sign it on the "
             "contract page.") % {**p, "title": title_of(p)}
    if p.get("contract_due"):
        body += " " + _("It is to be concluded by %(due)s (Law 46).") % {
            "due": human(p["contract_due"])}
    return title, body


register_kind(
    "award.candidates_published", label=gettext_lazy("The candidates of a tender you bid "
                                                     "in are published"),
    default_email=True, actions=("award.publicity_opened",),
    recipients_for_event=publicity_message, render=render_publicity, order=50,
)
register_kind(
    "award.objection_answered",
    label=gettext_lazy("Your objection to the candidates was answered"),
    default_email=True, actions=("award.objection_answered",),
    recipients_for_event=objection_message, render=render_objection, order=51,
)
register_kind(
    "award.notice", label=gettext_lazy("Your award or result notice"),
    default_email=True, actions=("award.notices_issued",),
    recipients_for_event=notices_messages, render=render_notice, order=52,
)
register_kind(
    "award.contract_to_sign", label=gettext_lazy("The contract is ready to sign"),
    default_email=True, actions=("award.contract_prepared",),
    recipients_for_event=contract_message, render=render_contract, order=53,
)
