"""What the tender stage tells people (core.notifications): answers to questions and
amendments, to every bidder that obtained the documents (Law 22's register).

Loaded by ``TendersConfig.ready()``. Later stages import ``registered_bidder_ids`` and
``tender_params`` to say the same things the same way.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from accounts.models import Role, User
from core.notifications.registry import Message, excerpt, register_kind
from core.timefmt import human, iso

from .models import Amendment, Clarification, DocumentRegistration, Tender


def tenderer_user_ids(tender) -> list[int]:
    """The tenderer's and its agency's active staff."""
    return list(User.objects.filter(organisation_id__in=list(tender.owner_organisations()),
                                    role=Role.TENDERER, is_active=True)
                .values_list("pk", flat=True))


def bidder_user_ids(organisation_ids) -> list[int]:
    """The active bidder staff of these organisations."""
    return list(User.objects.filter(organisation_id__in=list(organisation_ids),
                                    role=Role.BIDDER, is_active=True)
                .values_list("pk", flat=True))


def registered_bidder_ids(tender: Tender) -> list[int]:
    """Everyone at an organisation that obtained this tender's documents."""
    orgs = DocumentRegistration.objects.filter(tender=tender).values_list(
        "organisation_id", flat=True)
    return bidder_user_ids(orgs)


def tender_params(tender: Tender) -> dict:
    return {"reference": tender.reference, "title": tender.title,
            "title_en": tender.title_en, "deadline": iso(tender.deadline)}


def tender_url(tender: Tender) -> str:
    return reverse("tenders:tender_detail", kwargs={"tender_id": tender.pk})


def title_of(params: dict) -> str:
    """The tender's title in the active language (its English title where there is one)."""
    if not (get_language() or "").startswith("zh") and params.get("title_en"):
        return params["title_en"]
    return params.get("title", "")


# --- answers to questions --------------------------------------------------------------


def answer_message(event) -> Message | None:
    item = Clarification.objects.select_related("tender").filter(pk=event.object_id).first()
    if item is None:
        return None
    tender = item.tender
    return Message(
        recipients=registered_bidder_ids(tender),
        params={**tender_params(tender), "question": excerpt(item.question),
                "answer": excerpt(item.answer)},
        url=tender_url(tender), tender_reference=tender.reference,
    )


def render_answer(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: a question was answered") % p
    body = _("A question about “%(title)s” was answered.\nQuestion: %(question)s\n"
             "Answer: %(answer)s\nBid deadline: %(deadline)s") % {
        **p, "title": title_of(p), "deadline": human(p["deadline"])}
    return title, body


# --- amendments ------------------------------------------------------------------------


def amendment_message(event) -> Message | None:
    item = Amendment.objects.select_related("tender").filter(pk=event.object_id).first()
    if item is None:
        return None
    tender = item.tender
    return Message(
        recipients=registered_bidder_ids(tender),
        params={**tender_params(tender), "number": item.number, "text": excerpt(item.text),
                "deadline": iso(item.new_deadline), "old_deadline": iso(item.old_deadline)},
        url=tender_url(tender), tender_reference=tender.reference,
    )


def render_amendment(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: amendment No. %(number)s") % p
    if p["deadline"] != p["old_deadline"]:
        deadline = _("The bid deadline moved from %(old)s to %(new)s.") % {
            "old": human(p["old_deadline"]), "new": human(p["deadline"])}
    else:
        deadline = _("The bid deadline stays %(new)s.") % {"new": human(p["deadline"])}
    body = _("Amendment No. %(number)s to “%(title)s” was published: %(text)s") % {
        **p, "title": title_of(p)} + "\n" + deadline
    return title, body


register_kind(
    "tender.answer", label=gettext_lazy("Answers to questions on tenders you obtained"),
    default_email=True, actions=("clarification.answer",),
    recipients_for_event=answer_message, render=render_answer, order=10,
)
register_kind(
    "tender.amendment", label=gettext_lazy("Amendments to tenders you obtained"),
    default_email=True, actions=("amendment.publish",),
    recipients_for_event=amendment_message, render=render_amendment, order=11,
)
