"""``python -m ggzy_bid``: the sealing tool (see :mod:`crypto.cli`)."""

from ggzy_bid.cli import main

raise SystemExit(main())
