"""The screen_bids batch command on the shared bid-rigging data, and its refusals."""

import csv
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "bid-rigging"
BRAZIL = DATA / "brazil.csv"
OHIO = DATA / "ohio-school-milk.csv"

needs_data = pytest.mark.skipif(not BRAZIL.exists(), reason="shared bid-rigging data absent")


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("screen_bids", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def tenders_in(path):
    return {r["tender"] for r in read(path)}


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@needs_data
def test_unsupervised_scores_one_row_per_tender_in_range(tmp_path):
    out_csv = tmp_path / "scores.csv"
    stdout, stderr = run(BRAZIL, "--output", out_csv)
    rows = read(out_csv)
    assert list(rows[0]) == ["tender", "score", "flags"]
    assert {r["tender"] for r in rows} == tenders_in(BRAZIL)
    scores = [float(r["score"]) for r in rows]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)  # ranked for review
    assert max(scores) - min(scores) > 0.2  # the score separates tenders
    assert any("R024" in r["flags"] for r in rows)
    assert "unsupervised" in stdout
    assert "skipped (columns absent):" in stdout and "R036 (needs disqualified)" in stdout
    assert "screening [" in stderr  # the progress bar


@needs_data
def test_learned_mode_trains_on_labelled_tenders_and_scores_probabilities(tmp_path):
    sample = tmp_path / "ohio_sample.csv"
    rows = read(OHIO)
    keep = sorted({r["tender"] for r in rows}, key=int)[:400]
    write(sample, list(rows[0]), [list(r.values()) for r in rows if r["tender"] in set(keep)])
    out_csv = tmp_path / "scores.csv"
    stdout, _ = run(sample, "--output", out_csv, "--train", BRAZIL)
    scored = read(out_csv)
    assert {r["tender"] for r in scored} == set(keep)
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in scored)
    assert "learned" in stdout
    # Ohio has no estimate: the screens that need one are reported as skipped.
    assert "price_hugging_cap (needs estimate or max_price)" in stdout


def test_minimal_columns_are_enough_and_the_rest_is_skipped(tmp_path):
    src = write(tmp_path / "in.csv", ["tender", "amount"],
                [["a", "100"], ["a", "100"], ["a", "150"], ["b", "90"], ["b", "130"]])
    out_csv = tmp_path / "scores.csv"
    stdout, _ = run(src, "--output", out_csv)
    rows = {r["tender"]: r for r in read(out_csv)}
    assert set(rows) == {"a", "b"}
    assert "identical_prices" in rows["a"]["flags"]
    assert "cobidding_group (needs bidder)" in stdout
    assert "R024 (needs winner)" in stdout


@pytest.mark.parametrize(("header", "rows", "message"), [
    (["tender", "bidder"], [["1", "A"]], "missing required column(s): amount"),
    (["tender", "amount"], [["1", "12,5x"]], "line 2: column 'amount' is not a number"),
    (["tender", "amount"], [["1", "-3"]], "column 'amount' must be positive"),
    (["tender", "amount"], [], "has a header but no bids"),
    (["tender", "amount", "winner"], [["1", "5", "2"]], "column 'winner' must be 0 or 1"),
])
def test_bad_input_is_refused_with_one_clear_line(tmp_path, header, rows, message):
    src = write(tmp_path / "in.csv", header, rows)
    with pytest.raises(CommandError) as exc:
        run(src, "--output", tmp_path / "out.csv")
    assert message in str(exc.value) and "\n" not in str(exc.value)
    assert not (tmp_path / "out.csv").exists()


def test_an_empty_file_is_refused(tmp_path):
    src = tmp_path / "empty.csv"
    src.write_text("")
    with pytest.raises(CommandError, match="the file is empty"):
        run(src, "--output", tmp_path / "out.csv")


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "nope.csv", "--output", tmp_path / "out.csv")


def test_training_data_without_labels_is_refused(tmp_path):
    src = write(tmp_path / "in.csv", ["tender", "amount"], [["1", "5"], ["1", "6"]])
    with pytest.raises(CommandError, match="missing required column.*collusive"):
        run(src, "--output", tmp_path / "out.csv", "--train", src)


def test_training_data_with_one_class_only_is_refused(tmp_path):
    src = write(tmp_path / "in.csv", ["tender", "amount", "collusive"],
                [["1", "5", "0"], ["1", "6", "0"], ["2", "5", "0"]])
    with pytest.raises(CommandError, match="both collusive 0 and 1"):
        run(src, "--output", tmp_path / "out.csv", "--train", src)


def test_labels_that_differ_within_a_tender_are_refused(tmp_path):
    src = write(tmp_path / "in.csv", ["tender", "amount", "collusive"],
                [["1", "5", "0"], ["1", "6", "1"]])
    with pytest.raises(CommandError, match="'collusive' differs between its bids"):
        run(src, "--output", tmp_path / "out.csv", "--train", src)


def test_the_command_line_exits_non_zero_with_one_line(tmp_path):
    src = write(tmp_path / "in.csv", ["tender", "bidder"], [["1", "A"]])
    proc = subprocess.run(
        [sys.executable, "manage.py", "screen_bids", str(src), "--output",
         str(tmp_path / "o.csv")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "missing required column(s): amount" in lines[0]


def test_synthetic_market_generator_and_screening_of_its_rings(tmp_path):
    market = tmp_path / "syn.csv"
    call_command("make_synthetic_tenders", str(market), "--tenders", "600", "--bidders", "400",
                 stdout=StringIO(), stderr=StringIO())
    rows = read(market)
    assert list(rows[0]) == ["tender", "bidder", "amount", "estimate", "date", "winner",
                             "collusive"]
    rigged = {r["tender"] for r in rows if r["collusive"] == "1"}
    assert 0 < len(rigged) < 600
    out_csv = tmp_path / "scores.csv"
    run(market, "--output", out_csv)
    scored = read(out_csv)
    mean = lambda rs: sum(float(r["score"]) for r in rs) / len(rs)  # noqa: E731
    assert mean([r for r in scored if r["tender"] in rigged]) > mean(
        [r for r in scored if r["tender"] not in rigged])
    assert any("cobidding_group" in r["flags"] for r in scored if r["tender"] in rigged)
