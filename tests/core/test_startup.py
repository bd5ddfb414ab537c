"""A web process starts light: the supervision screens' scientific stack (numpy, scipy,
scikit-learn, about 90 MiB) is imported only when an opening closes, not by every web
process at start-up (bench_upload's server memory target is 200 MiB)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradecentre.settings")
os.environ["EMBEDDED_CLOCK"] = "false"
import tradecentre.asgi  # noqa: F401  (setup, apps' ready(), the ASGI application)
from django.urls import resolve
resolve("/")  # loads every URL module and so every view module
heavy = sorted(m for m in ("numpy", "scipy", "sklearn", "networkx", "datasketch", "pypdf")
               if m in sys.modules)
print(",".join(heavy))
"""


def test_a_web_process_imports_no_scientific_stack_at_start_up(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "GGZY_VAR_DIR": str(tmp_path), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout.strip()}"
