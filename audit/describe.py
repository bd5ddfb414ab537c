"""An audit event in words, in the reader's language: "bidder-b submitted a bid" /
"bidder-b 提交了投标文件". The raw action id stays the record; this is for people reading
it. Actions not listed here are shown by their id. Audit imports no domain app: the
sentences are keyed by action id only."""

from django.utils.translation import gettext_lazy as _

# Actors that are not users (audit_record(actor="clock") and the like).
ACTORS = {
    "clock": _("The clock"),
    "system": _("The system"),
    "platform": _("The platform"),
    "custodians": _("The custodians"),
    "": _("The system"),
}

SENTENCES = {
    # tenders and their documents
    "tender.create": _("%(actor)s created a tender"),
    "tender.update": _("%(actor)s edited a tender"),
    "tender.transition": _("%(actor)s moved a tender to its next stage"),
    "tender.deadline_moved": _("%(actor)s moved a tender's deadline"),
    "tender.custody_endorse": _("%(actor)s endorsed the key custody of a tender"),
    "document.add": _("%(actor)s added a tender document"),
    "document.remove": _("%(actor)s removed a tender document"),
    "document.obtain": _("%(actor)s obtained the tender documents"),
    "clarification.ask": _("%(actor)s asked a question about a tender"),
    "clarification.answer": _("%(actor)s answered a question about a tender"),
    "amendment.publish": _("%(actor)s published an amendment"),
    # bids and bonds
    "bid.upload_start": _("%(actor)s started uploading a bid"),
    "bid.submit": _("%(actor)s submitted a bid"),
    "bid.withdraw": _("%(actor)s withdrew a bid"),
    "bond.record": _("%(actor)s recorded a bid bond"),
    "bond.refund": _("%(actor)s refunded a bid bond"),
    # the opening
    "opening.start": _("%(actor)s started the opening"),
    "opening.signin": _("%(actor)s signed in at the opening"),
    "opening.share": _("%(actor)s handed in a key share"),
    "opening.custodians_closed": _("%(actor)s closed the custodians' window"),
    "opening.decrypt": _("%(actor)s decrypted a bid"),
    "opening.decrypt_failed": _("%(actor)s could not decrypt a bid"),
    "opening.window_closed": _("%(actor)s closed the decryption window"),
    "opening.reject": _("%(actor)s rejected a bid at the opening"),
    "opening.announce": _("%(actor)s announced the bids"),
    "opening.objection": _("%(actor)s raised an objection at the opening"),
    "opening.answer": _("%(actor)s answered an objection at the opening"),
    "opening.confirm": _("%(actor)s confirmed the opening record"),
    "opening.record": _("%(actor)s drew up the opening record"),
    "opening.document_access": _("%(actor)s opened a bid document"),
    # the expert draw
    "expert_draw.committed": _("%(actor)s committed to an expert draw"),
    "expert_draw.revealed": _("%(actor)s revealed an expert draw"),
    "expert_draw.drawn": _("%(actor)s drew experts"),
    "expert_draw.confirmed": _("%(actor)s confirmed taking part as an expert"),
    "expert_draw.complete": _("%(actor)s completed an expert draw"),
    "expert_draw.failed": _("%(actor)s recorded that an expert draw failed"),
    "expert_draw.timed_out": _("%(actor)s recorded that an expert did not answer in time"),
    "expert_draw.abandoned": _("%(actor)s abandoned an expert draw"),
    # evaluation
    "evaluation.committee_formed": _("%(actor)s formed the evaluation committee"),
    "evaluation.chair_elected": _("%(actor)s elected the committee's chair"),
    "evaluation.chair_vote": _("%(actor)s voted for the committee's chair"),
    "evaluation.draft_saved": _("%(actor)s saved a draft score sheet"),
    "evaluation.sheet_submitted": _("%(actor)s submitted a score sheet"),
    "evaluation.stage_locked": _("%(actor)s closed an evaluation stage"),
    "evaluation.clarification_requested": _("%(actor)s asked a bidder for a clarification"),
    "evaluation.clarification_answered": _("%(actor)s answered a clarification request"),
    "evaluation.report_drawn_up": _("%(actor)s drew up the evaluation report"),
    "evaluation.report_signed": _("%(actor)s signed the evaluation report"),
    "evaluation.report_refused": _("%(actor)s refused to sign the evaluation report"),
    "evaluation.report_completed": _("%(actor)s completed the evaluation report"),
    "evaluation.failed": _("%(actor)s recorded that the evaluation failed"),
    "evaluation.member_replaced": _("%(actor)s replaced a committee member"),
    # award
    "award.publicity_opened": _("%(actor)s published the candidates"),
    "award.objection_raised": _("%(actor)s raised an objection to the candidates"),
    "award.objection_answered": _("%(actor)s answered an objection to the candidates"),
    "award.decided": _("%(actor)s decided the award"),
    "award.notices_issued": _("%(actor)s issued the award notices"),
    "award.contract_prepared": _("%(actor)s prepared the contract"),
    "award.contract_signed": _("%(actor)s signed the contract"),
    "award.contract_amended": _("%(actor)s amended the contract"),
    "award.ballot_cast": _("%(actor)s cast a ballot"),
    "award.price_offer_submitted": _("%(actor)s submitted a price offer"),
    # complaints and supervision
    "complaints.filed": _("%(actor)s filed a complaint"),
    "complaints.accepted": _("%(actor)s accepted a complaint"),
    "complaints.rejected": _("%(actor)s rejected a complaint"),
    "complaints.decided": _("%(actor)s decided a complaint"),
    "complaints.tender_suspended": _("%(actor)s suspended a tender"),
    "complaints.tender_resumed": _("%(actor)s resumed a tender"),
    "supervision.case_open": _("%(actor)s opened a supervision case"),
    "supervision.case_step": _("%(actor)s recorded a step in a supervision case"),
    "supervision.case_evidence": _("%(actor)s added evidence to a supervision case"),
    "supervision.case_decide": _("%(actor)s decided a supervision case"),
    # inspections
    "inspections.plan_created": _("%(actor)s created an inspection plan"),
    "inspections.round_drawn": _("%(actor)s drew an inspection round"),
    "inspections.finding_recorded": _("%(actor)s recorded an inspection finding"),
    "inspections.result_published": _("%(actor)s published inspection results"),
    # accounts and keys
    "accounts.two_factor_enrol": _("%(actor)s enrolled in two-factor sign-in"),
    "accounts.two_factor_confirm": _("%(actor)s confirmed two-factor sign-in"),
    "accounts.two_factor_reset": _("%(actor)s reset two-factor sign-in"),
    "accounts.two_factor_locked": _("%(actor)s was locked out of two-factor sign-in"),
    "key.register": _("%(actor)s registered a key"),
    "organisation.register": _("%(actor)s registered an organisation"),
    "mandate.grant": _("%(actor)s granted a mandate"),
    # added for every action the services record
    "tender.cancel": _("%(actor)s cancelled a tender"),
    "tender.suspend": _("%(actor)s suspended a tender"),
    "tender.resume": _("%(actor)s resumed a tender"),
    "award.committee_appointed": _("%(actor)s appointed the award committee"),
    "award.committee_committed": _("%(actor)s committed to the award committee draw"),
    "award.committee_drawn": _("%(actor)s drew the award committee"),
    "award.lottery_committed": _("%(actor)s committed to the award lottery"),
    "award.lottery_drawn": _("%(actor)s drew the award lottery"),
    "award.objection_overdue": _(
        "%(actor)s recorded that an objection to the candidates was not answered in time"
    ),
    "award.opinion_recorded": _("%(actor)s recorded an award committee member's opinion"),
    "award.payment_recorded": _("%(actor)s recorded a contract payment"),
    "award.pool_member_added": _("%(actor)s added a member to the award committee pool"),
    "award.price_offer_decrypt_failed": _("%(actor)s could not decrypt a price offer"),
    "award.price_offer_decrypted": _("%(actor)s decrypted a price offer"),
    "award.price_offer_rejected": _("%(actor)s rejected a price offer"),
    "award.price_round_announced": _("%(actor)s announced the price round's offers"),
    "award.price_round_custodians_closed": _(
        "%(actor)s closed the custodians' window of the price round"
    ),
    "award.price_round_hall_opened": _("%(actor)s opened the price round's hall"),
    "award.price_round_opened": _("%(actor)s opened a price round"),
    "award.price_round_share": _("%(actor)s handed in a key share for the price round"),
    "award.price_round_window_closed": _("%(actor)s closed the price round's decryption window"),
    "award.round_closed": _("%(actor)s closed a voting round"),
    "award.round_opened": _("%(actor)s opened a voting round"),
    "award.supervisor_report": _("%(actor)s reported the award to the supervisor"),
    "calendar.day_cleared": _("%(actor)s cleared a day in the working-day calendar"),
    "calendar.day_set": _("%(actor)s set a day in the working-day calendar"),
    "calendar.year_defined": _("%(actor)s defined a year of the working-day calendar"),
    "complaints.evidence_added": _("%(actor)s added evidence to a complaint"),
    "complaints.objection_answered": _("%(actor)s answered an objection to the tender documents"),
    "complaints.objection_overdue": _(
        "%(actor)s recorded that an objection to the tender documents was not answered in time"
    ),
    "complaints.objection_raised": _("%(actor)s raised an objection to the tender documents"),
    "complaints.paused": _("%(actor)s paused a complaint's clock"),
    "complaints.resumed_clock": _("%(actor)s resumed a complaint's clock"),
    "evaluation.backup_called": _("%(actor)s called a backup expert"),
    "evaluation.qualification_resettled": _("%(actor)s settled the qualification review again"),
    "evaluation.report_deemed": _(
        "%(actor)s recorded that a member is deemed to agree with the report"
    ),
    "evaluation.score_outlier": _("%(actor)s flagged an outlying score"),
    "expert.admitted": _("%(actor)s admitted an expert to the pool"),
    "expert.applied": _("%(actor)s applied to join the expert pool"),
    "expert.imported": _("%(actor)s imported experts"),
    "expert.penalised": _("%(actor)s penalised an expert"),
    "expert.profile_updated": _("%(actor)s updated an expert's profile"),
    "expert.rated": _("%(actor)s rated an expert"),
    "expert.suspended": _("%(actor)s suspended an expert"),
    "expert_draw.beacon_committed": _("%(actor)s committed to a beacon value for an expert draw"),
    "expert_draw.beacon_recorded": _("%(actor)s recorded the beacon value of an expert draw"),
    "expert_draw.beacon_revealed": _("%(actor)s revealed a beacon value for an expert draw"),
    "expert_draw.pledged": _("%(actor)s signed the no-conflict pledge"),
    "inspections.case_requested": _("%(actor)s asked for a supervision case from an inspection"),
    "inspections.expert_rated": _("%(actor)s rated an expert in a spot check"),
    "inspections.filed": _("%(actor)s filed a report for the record"),
    "inspections.filing_acknowledged": _("%(actor)s acknowledged a filing"),
    "inspections.filing_returned": _("%(actor)s returned a filing for correction"),
    "inspections.inspector_active": _("%(actor)s changed whether an inspector is active"),
    "inspections.inspector_registered": _("%(actor)s registered an inspector"),
    "inspections.matter_created": _("%(actor)s added a matter to the inspection list"),
    "inspections.parties_synced": _("%(actor)s brought the inspected parties up to date"),
    "inspections.party_added": _("%(actor)s added a party to be inspected"),
    "inspections.round_committed": _("%(actor)s committed to an inspection draw"),
    "inspections.spot_check_committed": _("%(actor)s committed to a spot check draw"),
    "inspections.spot_check_drawn": _("%(actor)s drew a spot check"),
    "supervision.case_overdue": _("%(actor)s recorded that a supervision case is overdue"),
    "supervision.case_penalty_decision": _("%(actor)s issued a penalty decision"),
    "supervision.case_subject": _("%(actor)s named the subject of a supervision case"),
}


def actor_display(actor: str) -> str:
    """The actor as a reader knows it: a user's name, or "the clock" for the clock."""
    label = ACTORS.get(actor or "")
    return str(label) if label is not None else actor


def describe(event) -> str:
    """The event in words, in the active language; the raw action id if it has none."""
    sentence = SENTENCES.get(event.action)
    if sentence is None:
        return event.action
    return str(sentence) % {"actor": actor_display(event.actor)}


def has_words(action: str) -> bool:
    return action in SENTENCES
