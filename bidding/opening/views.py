"""The opening hall page."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from .policies import HallRefused, access_hall


def opening_hall(request, tender_id):
    """The live opening hall (不见面开标). The page is a shell: hall.js connects to
    ``/ws/openings/<id>/`` and renders the state it receives."""
    try:
        tender, role = access_hall(request.user, tender_id)
    except HallRefused:
        raise Http404(_("No such opening hall.")) from None
    hall_i18n = {
        "waiting": _("Waiting for the opening"), "decrypting": _("Decryption window open"),
        "custodians": _("Custodians opening undecrypted bids"),
        "confirming": _("Bidders confirming the record"),
        "closed": _("Closed: the record is published"), "connected": _("Live"),
        "reconnecting": _("Reconnecting…"), "decrypted": _("Decrypted"),
        "pending": _("Awaiting decryption"), "revoked": _("Not decrypted (revoked)"),
        "withdrawn": _("Not decrypted (withdrawn)"), "by_bidder": _("by the bidder"),
        "by_custodians": _("by the custodians"), "deemed": _("no answer: deemed confirmed"),
        "confirmed": _("confirmed"), "no_key": _("No key in this browser: choose your key file."),
        "done": _("Done."), "unanswered": _("Awaiting the host's answer"), "answer": _("Answer"),
        "proof_ok": _("Verified: your envelope is in the tree whose root the record "
                      "publishes."),
        "proof_bad": _("The proof does not match the published root: report this to the "
                       "supervisor."),
        "role_public": _("You are watching as a member of the public."),
        "role_host": _("You host this opening: answer objections as they come."),
        "role_observer": _("You are observing this opening."),
        "role_custodian": _("You are a custodian of this tender: you hold a share of every "
                            "bid's key."),
        "custodian_key": _("Your custodian key file (PEM)"),
        "custodian_shares": _("Decrypt my shares here and hand them over"),
        "passphrase": _("Passphrase"),
    }
    return render(request, "opening/hall.html", {
        "tender": tender, "role": role, "hall_i18n": hall_i18n,
        "bidder_id": request.user.organisation.credit_code
        if role == "bidder" else "",
    })
