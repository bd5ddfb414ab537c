"""The seeding command at a small size: a pool a draw can run on, with bidders' relations."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import Organisation
from bidding.tenders import services as tender_services
from expert_pool import draw as D
from expert_pool.models import Expert, Relation

from .conftest import request, run_beacon

pytestmark = pytest.mark.django_db


def test_seed_experts_small_makes_a_drawable_pool_with_bidder_relations(tender, operator):
    call_command("seed_experts", "--experts", "400", "--bidders", "10", "--seed", "7")
    assert Expert.objects.count() == 400
    assert Relation.objects.exclude(person_name="").exists()
    assert Expert.objects.filter(employer__kind=Organisation.Kind.SUPERVISOR).exists()
    for user in [u for o in Organisation.objects.filter(kind="bidder", name__contains="建设工程")
                 for u in o.members.all()][:10]:
        tender_services.document_obtain(user=user, tender=tender)
    draw = run_beacon(request(tender, operator, region_mode="any", backups=1,
                              quotas=(("A", 3), ("D", 2))))
    assert draw.status == "drawn" and D.verify(draw).ok
    reasons = {r for row in draw.exclusions for r in row["reasons"]}
    assert {"recent_employer_is_party", "related_to_party"} <= reasons
