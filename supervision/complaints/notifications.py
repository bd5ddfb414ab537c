"""What complaints tell people (core.notifications): the complainant when its complaint
is accepted, not accepted or decided (Reg 60-61); the objector when its objection to the
tender documents is answered (Reg 22); the supervisors when a complaint's deadline is
near or has passed.

Loaded by ``ComplaintsConfig.ready()``. The stage's own ``accounts.services.notify``
calls (organisation messages on the workspace) stay as they are; these are the
personal, per-user notifications with each user's choice of channel. Nothing imports
supervision: the kinds live here and are found through the registry.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation, User
from bidding.tenders.notifications import tender_params, title_of
from core.notifications.registry import Message, excerpt, register_kind
from core.timefmt import iso

from .models import Complaint, Objection


def organisation_user_ids(organisation_id) -> list[int]:
    """Everyone active at the organisation (a complainant need not be a bidder)."""
    return list(User.objects.filter(organisation_id=organisation_id, is_active=True)
                .values_list("pk", flat=True))


def supervisor_user_ids() -> list[int]:
    return list(User.objects.filter(organisation__kind=Organisation.Kind.SUPERVISOR,
                                    is_active=True)
                .values_list("pk", flat=True))


def complaint_url(c: Complaint) -> str:
    return reverse("complaints:detail", kwargs={"pk": c.pk})


def _complaint(event) -> Complaint | None:
    return Complaint.objects.select_related("tender").filter(pk=event.object_id).first()


def _to_complainant(c: Complaint, **params) -> Message:
    # The complainant's own people only: not the tenderer, not other bidders.
    return Message(recipients=organisation_user_ids(c.complainant_id),
                   params={**tender_params(c.tender), **params}, url=complaint_url(c),
                   tender_reference=c.tender.reference)


# --- the complaint accepted, not accepted, decided --------------------------------------


def handled_message(event) -> Message | None:
    c = _complaint(event)
    if c is None:
        return None
    if event.action == "complaints.accepted":
        return _to_complainant(c, step="accepted", decide_due=iso(c.decide_due))
    if event.action == "complaints.rejected":
        return _to_complainant(c, step="rejected", reason=excerpt(c.rejection_reason))
    return _to_complainant(c, step="decided", outcome=c.outcome,
                           decision=excerpt(c.decision), letter_sha256=c.letter_sha256)


def render_handled(p: dict) -> tuple[str, str]:
    title_ = title_of(p)
    if p["step"] == "accepted":
        title = _("%(reference)s: your complaint was accepted") % p
        body = _("Your complaint on “%(title)s” was accepted for review. A decision is due "
                 "by %(due)s.") % {**p, "title": title_, "due": p["decide_due"] or "—"}
    elif p["step"] == "rejected":
        title = _("%(reference)s: your complaint was not accepted") % p
        body = _("Your complaint on “%(title)s” was not accepted. Reason: %(reason)s") % {
            **p, "title": title_}
    else:
        try:
            outcome = str(Complaint.Outcome(p["outcome"]).label)
        except ValueError:
            outcome = p["outcome"]
        title = _("%(reference)s: your complaint was decided") % p
        body = _("Your complaint on “%(title)s” was decided: %(outcome)s.\n%(decision)s\n"
                 "The decision letter is on the complaint's page.") % {
            **p, "title": title_, "outcome": outcome}
    return title, body


# --- an objection to the tender documents answered --------------------------------------


def objection_message(event) -> Message | None:
    o = Objection.objects.select_related("tender").filter(pk=event.object_id).first()
    if o is None:
        return None
    return Message(recipients=organisation_user_ids(o.party_id),
                   params={**tender_params(o.tender), "objection": excerpt(o.text),
                           "answer": excerpt(o.answer)},
                   url=reverse("complaints:objections"), tender_reference=o.tender.reference)


def render_objection(p: dict) -> tuple[str, str]:
    title = _("%(reference)s: your objection to the tender documents was answered") % p
    body = _("Your objection to the tender documents of “%(title)s” was answered.\n"
             "Objection: %(objection)s\nAnswer: %(answer)s") % {**p, "title": title_of(p)}
    return title, body


# --- deadlines for the supervisors ------------------------------------------------------

DEADLINE_ACTIONS = ("complaints.accept_reminder", "complaints.decide_reminder",
                    "complaints.accept_overdue", "complaints.decide_overdue")


def deadline_message(event) -> Message | None:
    """The clock records a reminder a few working days before a complaint's deadline
    and an overdue mark once it passes (``services.complaints_tick``), once each."""
    c = _complaint(event)
    if c is None:
        return None
    stage, what = event.action.split(".", 1)[1].split("_", 1)
    due = c.accept_due if stage == "accept" else c.decide_due
    return Message(recipients=supervisor_user_ids(),
                   params={**tender_params(c.tender), "stage": stage,
                           "overdue": what == "overdue", "due": iso(due)},
                   url=complaint_url(c), tender_reference=c.tender.reference)


def render_deadline(p: dict) -> tuple[str, str]:
    what = _("the acceptance decision") if p["stage"] == "accept" else _("the decision")
    args = {**p, "what": what, "title": title_of(p), "due": p["due"] or "—"}
    if p.get("overdue"):
        title = _("%(reference)s: overdue complaint") % p
        body = _("Overdue: %(what)s on the complaint on “%(title)s” was due %(due)s.") % args
    else:
        title = _("%(reference)s: complaint deadline near") % p
        body = _("Due %(due)s: %(what)s on the complaint on “%(title)s”.") % args
    return title, body


register_kind(
    "complaints.handled", label=gettext_lazy("Your complaint is accepted, not accepted "
                                             "or decided"),
    default_email=True,
    actions=("complaints.accepted", "complaints.rejected", "complaints.decided"),
    recipients_for_event=handled_message, render=render_handled, order=60,
)
register_kind(
    "complaints.objection_answered",
    label=gettext_lazy("Your objection to tender documents was answered"),
    default_email=True, actions=("complaints.objection_answered",),
    recipients_for_event=objection_message, render=render_objection, order=61,
)
register_kind(
    "complaints.deadline", label=gettext_lazy("Supervisors: a complaint's deadline is near "
                                              "or has passed"),
    default_email=True, actions=DEADLINE_ACTIONS,
    recipients_for_event=deadline_message, render=render_deadline, order=62,
)
