"""``python -m ggzy_bid``: the sealing tool (see :mod:`ggzy_bid.cli`)."""

from ggzy_bid.cli import main

raise SystemExit(main())
