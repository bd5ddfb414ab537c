"""The house rules hold: the import contracts in pyproject.toml are all kept.

Later stages use earlier ones and the core, never back; crypto, the core and the
bidder's tool import no domain app; nothing imports supervision (README "Layout").
"""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EXPECTED_CONTRACTS = {
    "The procedure reads downward: later stages use earlier ones and the core, never back",
    "Nothing imports supervision: it reads the others through their selectors",
    "supervision reads the procedure and the pool through their selectors, never their models",
    "crypto is the wire specification: no Django, no platform code",
    "The bidder's tool runs on the bidder's machine: crypto and the standard library only",
    "The core imports no domain app (stages add to its registries instead)",
}


def test_the_import_contracts_name_every_house_rule():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    names = {c["name"] for c in config["contracts"]}
    assert names == EXPECTED_CONTRACTS
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    order = [layer.split()[0] for layer in layers]
    # The stages in the order of the procedure, top (latest) to bottom.
    assert order.index("bidding.evaluation") < order.index("bidding.opening")
    assert order.index("bidding.opening") < order.index("bidding.bids")
    assert order.index("bidding.bids") < order.index("bidding.tenders")
    assert order.index("bidding.tenders") < order.index("core") < order.index("crypto")


def test_supervision_may_not_import_any_stage_or_pool_model():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["name"].startswith("supervision reads"))
    assert contract["type"] == "forbidden" and contract["source_modules"] == ["supervision"]
    stages = ("tenders", "bids", "opening", "evaluation", "award")
    assert set(contract["forbidden_modules"]) == {
        *(f"bidding.{s}.models" for s in stages), "expert_pool.models"}


def test_every_import_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(EXPECTED_CONTRACTS)} kept, 0 broken" in result.stdout
