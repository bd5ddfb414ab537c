"""Screen outside bid data for collusion and write one risk score per tender.

    python manage.py screen_bids INPUT.csv --output SCORES.csv [--train LABELLED.csv]

INPUT has one row per bid: tender, amount (required); bidder, estimate, date or year,
winner (optional; more columns such as disqualified, published, deadline, legal_rep
enable more screens). Screens whose columns are absent are skipped and listed.
"""

from __future__ import annotations

import csv

from django.core.management.base import BaseCommand, CommandError

from supervision.screens import score
from supervision.screens.market import Market
from supervision.screens.progress import ProgressBar
from supervision.screens.rows import InputError, load_csv


class Command(BaseCommand):
    help = "Score tenders in a bids CSV for collusion (unsupervised, or learned with --train)."

    def add_arguments(self, parser):
        parser.add_argument("input", help="CSV, one row per bid: tender, amount, ...")
        parser.add_argument("--output", required=True, help="CSV to write: tender, score, flags")
        parser.add_argument("--train", help="labelled CSV: the same columns plus collusive 0/1")

    def handle(self, *args, **opts):
        try:
            rows, _ = load_csv(opts["input"])
            train = None
            if opts["train"]:
                train_rows, _ = load_csv(opts["train"], require=("collusive",))
                labels = score.tender_labels(train_rows)
                _check_labels(train_rows, labels)
                train = (train_rows, labels)
        except InputError as exc:
            raise CommandError(str(exc))

        model = None
        if train:
            train_rows, labels = train
            bar = ProgressBar("training screens", _Raw(self.stderr))
            screening = score.screen_market(Market.from_rows(train_rows), progress=bar)
            try:
                model = score.fit_learned(screening, labels)
            except ValueError as exc:
                raise CommandError(f"{opts['train']}: {exc}")

        market = Market.from_rows(rows)
        bar = ProgressBar("screening", _Raw(self.stderr))
        screening = score.screen_market(market, progress=bar)
        if model is not None:
            scores = score.learned_scores(model, screening)
        else:
            scores = score.unsupervised_scores(screening)

        ranked = sorted(screening.tenders, key=lambda t: -scores[t])
        try:
            with open(opts["output"], "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(["tender", "score", "flags"])
                for t in ranked:
                    w.writerow([t, f"{scores[t]:.6f}", score.flags_text(screening.tenders[t])])
        except OSError as exc:
            raise CommandError(f"{opts['output']}: cannot write: {exc.strerror}")

        mode = "learned" if model is not None else "unsupervised"
        self.stdout.write(f"{len(ranked)} tenders scored ({mode}) -> {opts['output']}")
        if screening.skipped:
            self.stdout.write("skipped (columns absent): " + "; ".join(screening.skipped))


class _Raw:
    """The command's stderr without the trailing newline and colour Django adds, so the
    bar can redraw itself in place."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, style_func=lambda x: x, ending="")

    def flush(self) -> None:
        self.wrapper.flush()


def _check_labels(rows, labels) -> None:
    for r in rows:
        if r.get("collusive") is None:
            raise InputError(f"tender {r['tender']}: column 'collusive' is empty")
        if r["collusive"] != labels[r["tender"]]:
            raise InputError(f"tender {r['tender']}: 'collusive' differs between its bids")
