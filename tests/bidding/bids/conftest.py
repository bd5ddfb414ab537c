"""Fixtures shared by the bid tests (a module's own fixture of the same name wins)."""

import pytest

from bidding.tenders import services
from tests import factories


@pytest.fixture
def tender():
    """A published tender, open for bids."""
    return factories.published_tender()


@pytest.fixture
def bidder(tender):
    """A bidder with a registered bid key who obtained the tender's documents."""
    user = factories.bidder_with_key()
    services.document_obtain(user=user, tender=tender)
    return user
