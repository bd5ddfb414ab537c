"""What the opening tells whoever listens (supervision), without knowing who listens."""

from django.dispatch import Signal

#: A bid was rejected at the opening because nobody can open it, and only its bidder can
#: have caused that. Sent inside the rejecting transaction with ``item`` (the
#: BidOpening), ``tender`` and ``proof`` (a JSON-ready dict).
bid_rejected_unopenable = Signal()

#: The opening of a tender is closed: its record is signed and published and the tender
#: moved on. Sent after the closing transaction commits, with ``tender`` and ``session``.
opening_closed = Signal()
