"""``python -m crypto``: the sealing tool (see :mod:`crypto.cli`)."""

from .cli import main

raise SystemExit(main())
