"""Write a synthetic bids market (one row per bid) for benchmarks and tests.

    python manage.py make_synthetic_tenders OUT.csv [--tenders 100000] [--seed 0]

Bidders belong to regions; a tender draws its bidders from one region and each bids
its cost (a random draw around the estimate); the lowest bid wins. Cartels of four to
six firms in some regions take a share of their region's tenders: the members bid
together, take turns winning at about the estimate, and the others add cover bids a
few per cent above. Columns: tender, bidder, amount, estimate, date, winner, collusive.
"""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
from django.core.management.base import BaseCommand

from supervision.screens.progress import ProgressBar


def generate(tenders: int, *, bidders: int = 5000, region_size: int = 40,
             cartels: int = 50, cartel_share: float = 0.4, seed: int = 0):
    """Yield row dicts."""
    rng = np.random.default_rng(seed)
    regions = max(1, bidders // region_size)
    members = {r: np.arange(r * region_size, (r + 1) * region_size) for r in range(regions)}
    cartel_of = {}
    for c in range(min(cartels, regions)):
        size = int(rng.integers(4, 7))
        cartel_of[c] = rng.choice(members[c], size=size, replace=False)
    turn = dict.fromkeys(cartel_of, 0)
    start = dt.date(2020, 1, 1)
    for t in range(tenders):
        region = int(rng.integers(regions))
        estimate = float(np.exp(rng.uniform(11, 17)))
        date = start + dt.timedelta(days=int(rng.integers(0, 1500)))
        if region in cartel_of and rng.random() < cartel_share:
            ring = cartel_of[region]
            k = turn[region] % len(ring)
            turn[region] += 1
            win = estimate * rng.uniform(0.97, 1.03)
            names = [int(ring[k])] + [int(x) for i, x in enumerate(ring) if i != k]
            amounts = [win] + [win * (1 + rng.uniform(0.02, 0.07)) for _ in ring[1:]]
            collusive = 1
        else:
            n = 2 + int(rng.poisson(3))
            names = [int(x) for x in rng.choice(members[region], size=min(n, region_size),
                                                 replace=False)]
            amounts = list(estimate * rng.lognormal(-0.08, 0.1, size=len(names)))
            collusive = 0
        low = int(np.argmin(amounts))
        for i, (b, a) in enumerate(zip(names, amounts, strict=True)):
            yield {"tender": f"T{t}", "bidder": f"F{b}", "amount": f"{a:.2f}",
                   "estimate": f"{estimate:.2f}", "date": date.isoformat(),
                   "winner": int(i == low), "collusive": collusive}


class Command(BaseCommand):
    help = "Write a synthetic bids market with cartels (for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("output")
        parser.add_argument("--tenders", type=int, default=100_000)
        parser.add_argument("--bidders", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **opts):
        bar = ProgressBar("generating")
        n = opts["tenders"]
        with open(opts["output"], "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["tender", "bidder", "amount", "estimate",
                                              "date", "winner", "collusive"])
            w.writeheader()
            last = None
            for row in generate(n, bidders=opts["bidders"], seed=opts["seed"]):
                w.writerow(row)
                if row["tender"] != last:
                    last = row["tender"]
                    k = int(last[1:]) + 1
                    if k % 1000 == 0 or k == n:
                        bar(k, n)
        self.stdout.write(f"{n} tenders -> {opts['output']}")
