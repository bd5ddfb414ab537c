"""What the open data never shows: drafts; before the opening, who obtained the documents
or bid (Law 22); the evaluation experts and the award committee (Law 37, Interim 8)."""

from __future__ import annotations

import json

import pytest

from bidding.tenders import services as tender_services
from bidding.tenders.models import Tender
from supervision.opendata import ocds
from tests import factories
from tests.supervision.opendata import helpers

pytestmark = pytest.mark.django_db


def _text(tender: Tender) -> str:
    return json.dumps(ocds.releases_for(tender), ensure_ascii=False)


def _everything() -> str:
    package = ocds.release_package(ocds.published_tenders(), uri="http://testserver/x")
    return json.dumps(package, ensure_ascii=False)


def test_a_draft_is_never_exported():
    draft = factories.draft_tender(title="尚未发布的草稿项目")
    factories.published_tender()
    assert ocds.releases_for(draft) == []
    text = _everything()
    assert draft.reference not in text and "尚未发布的草稿项目" not in text


def test_before_the_opening_nobody_who_obtained_documents_or_bid_appears():
    tender = factories.published_tender()
    bidder = factories.bidder_with_key()
    factories.submit_bid(tender, bidder)  # obtains the documents and bids
    asker = factories.bidder_with_key()
    tender_services.document_obtain(user=asker, tender=tender)
    tender_services.clarification_ask(user=asker, tender=tender, question="是否接受联合体？")
    text = _text(tender)
    for org in (bidder.organisation, asker.organisation):
        assert org.name not in text and org.credit_code not in text
    for release in ocds.releases_for(tender):
        assert "tenderers" not in release.get("tender", {})
        assert "numberOfTenderers" not in release.get("tender", {})
        assert {r for p in release["parties"] for r in p["roles"]} == {"buyer",
                                                                     "procuringEntity"}
        assert "awards" not in release and "bids" not in release.get("tender", {})


def test_a_tender_failed_before_the_opening_keeps_its_bidders_secret():
    tender, bidder = helpers.failed_before_opening()
    releases = ocds.releases_for(tender)
    assert releases[-1]["tender"]["status"] == "unsuccessful"
    text = _text(tender)
    assert bidder.organisation.name not in text
    assert "numberOfTenderers" not in text


def test_after_the_opening_the_bidders_are_tenderers_with_their_number():
    tender, users, bids = helpers.opened()
    opening = [r for r in ocds.releases_for(tender) if r["id"].endswith("-opening")]
    assert len(opening) == 1
    section = opening[0]["tender"]
    assert section["numberOfTenderers"] == len(users)
    assert sorted(t["name"] for t in section["tenderers"]) == sorted(
        u.organisation.name for u in users)
    tenderer_parties = [p for p in opening[0]["parties"] if "tenderer" in p["roles"]]
    assert sorted(p["identifier"]["id"] for p in tenderer_parties) == sorted(
        u.organisation.credit_code for u in users)
    # the releases before the opening still do not name them
    first = ocds.releases_for(tender)[0]
    assert all(u.organisation.name not in json.dumps(first, ensure_ascii=False)
               for u in users)


def test_no_expert_nor_award_committee_member_appears_even_after_the_award():
    tender, users, bids, ranked = helpers.candidates()
    draw, experts, _ = factories.complete_draw(tender)
    pool = factories.award_pool(tender, 3)
    from bidding.award import decision

    decision.award_direct(user=tender.created_by, tender=tender,
                          now=tender.publicity.ends_at + helpers.timedelta(minutes=1))
    tender.refresh_from_db()
    text = _text(tender)
    names = [m.expert.name for m in draw.members.select_related("expert")]
    assert names and not any(n in text for n in names)
    assert not any(u.username in text for u in experts)
    assert not any(p.name in text for p in pool)
    assert "committee" not in text.lower()
