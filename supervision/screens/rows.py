"""Reading bids from a CSV file (one row per bid) into row dicts, refusing bad input
with one clear line (InputError)."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

REQUIRED = ("tender", "amount")
OPTIONAL = ("bidder", "estimate", "date", "year", "winner")
NUMERIC = ("amount", "estimate", "max_price")
FLAGS01 = ("winner", "disqualified", "collusive")
DATES = ("date", "published", "deadline")


class InputError(ValueError):
    """Bad input; the message is one line a user can act on."""


def _date(value: str, name: str, line: int) -> dt.datetime:
    s = value.strip()
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(s[:19], fmt)
        except ValueError:
            continue
    raise InputError(f"line {line}: column '{name}' is not a date: {value!r}")


def _number(value: str, name: str, line: int) -> float:
    try:
        x = float(value.strip().replace(",", ""))
    except ValueError:
        raise InputError(f"line {line}: column '{name}' is not a number: {value!r}")
    if not math.isfinite(x):
        raise InputError(f"line {line}: column '{name}' is not a finite number: {value!r}")
    return x


def load_csv(path: str | Path, *, require: tuple[str, ...] = ()) -> tuple[list[dict], list[str]]:
    """Rows and the header's column names. Refuses a missing file, an empty file, a
    missing required column, and non-numeric or non-positive amounts."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    with p.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        if not header:
            raise InputError(f"{p}: the file is empty")
        reader.fieldnames = header
        missing = [c for c in (*REQUIRED, *require) if c not in header]
        if missing:
            raise InputError(f"{p}: missing required column(s): {', '.join(missing)} "
                             f"(found: {', '.join(header)})")
        rows = []
        for line, raw in enumerate(reader, start=2):
            row: dict = {}
            for k, v in raw.items():
                if k is None:
                    continue
                v = (v or "").strip()
                if v == "":
                    row[k] = None
                elif k in NUMERIC:
                    row[k] = _number(v, k, line)
                elif k in FLAGS01:
                    x = _number(v, k, line)
                    if x not in (0, 1):
                        raise InputError(f"line {line}: column '{k}' must be 0 or 1: {v!r}")
                    row[k] = int(x)
                elif k in DATES:
                    row[k] = _date(v, k, line)
                elif k == "year":
                    row[k] = int(_number(v, k, line))
                else:
                    row[k] = v
            if row.get("tender") is None:
                raise InputError(f"line {line}: column 'tender' is empty")
            if row.get("amount") is None:
                raise InputError(f"line {line}: column 'amount' is empty")
            if row["amount"] <= 0:
                raise InputError(f"line {line}: column 'amount' must be positive: {row['amount']}")
            rows.append(row)
    if not rows:
        raise InputError(f"{p}: the file has a header but no bids")
    return rows, header
