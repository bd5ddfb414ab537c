"""Every action a service records is shown in words in the audit viewer (audit/describe.py),
not as its raw id."""

import re
from pathlib import Path

from audit.describe import has_words

ROOT = Path(__file__).resolve().parents[2]
RECORDED = re.compile(r'action="([a-z_]+\.[a-z_.]+)"')


def _recorded_actions() -> set[str]:
    found = set()
    for folder in ("accounts", "audit", "bidding", "core", "crypto", "expert_pool", "supervision"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" not in path.parts:
                found.update(RECORDED.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_scan_finds_the_actions_services_record():
    actions = _recorded_actions()
    assert {"bid.submit", "tender.cancel", "opening.decrypt"} <= actions
    assert len(actions) > 100


def test_every_recorded_action_has_a_sentence():
    assert not sorted(a for a in _recorded_actions() if not has_words(a))
