"""Production mode (GGZY_PRODUCTION=1): ``check --deploy`` is clean, secrets are never
generated, demo data is refused; the embedded default keeps working over plain HTTP;
every page carries a Content-Security-Policy that its own scripts satisfy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from core.deploy import UVICORN_OPTIONS, demo_refusal, is_production

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s" * 20 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"


def manage(tmp_path, *args, **env):
    base = {k: v for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "GGZY_PRODUCTION",
                         "DEBUG", "GGZY_ALLOW_DEMO", "DJANGO_SETTINGS_MODULE",
                         # set by the browser tests' conftest for the test process only
                         "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    base.update(GGZY_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=base,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    # The deployment checks are Django's security checks (other apps' warnings, e.g. the
    # API schema's enum names, are not about deployment).
    result = manage(tmp_path, "check", "--deploy", "--tag", "security", "--fail-level",
                    "WARNING", GGZY_PRODUCTION="1", SECRET_KEY=SECRET)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    result = manage(tmp_path, "check", "--deploy", GGZY_PRODUCTION="1", SECRET_KEY=SECRET)
    assert result.returncode == 0 and "security." not in result.stdout + result.stderr, (
        result.stdout + result.stderr)


def test_the_embedded_default_is_not_production(tmp_path):
    result = manage(tmp_path, "check", "--deploy")
    # The developer's default runs over plain HTTP on localhost: HTTPS-only cookies and
    # HSTS would lock it out, so check --deploy rightly warns about them there.
    assert "SESSION_COOKIE_SECURE" in result.stdout + result.stderr
    assert (tmp_path / "var" / "secret_key").exists()


def test_a_production_host_without_secret_key_refuses_to_start(tmp_path):
    result = manage(tmp_path, "check", GGZY_PRODUCTION="1")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SECRET_KEY is not set" in lines[0], result.stderr
    assert not (tmp_path / "var" / "secret_key").exists()


def test_load_demo_refuses_to_run_on_a_production_host(tmp_path):
    result = manage(tmp_path, "load_demo", GGZY_PRODUCTION="1", SECRET_KEY=SECRET)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "load_demo refused" in lines[0], result.stderr


def test_load_demo_is_refused_under_production_settings_in_process(settings):
    settings.GGZY_PRODUCTION = True
    assert is_production()
    with pytest.raises(CommandError, match="production mode is on"):
        call_command("load_demo")


def test_demo_refusal_rules(settings, monkeypatch):
    settings.GGZY_PRODUCTION = False
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GGZY_ALLOW_DEMO", raising=False)
    assert demo_refusal(debug=False) is None  # make run: SQLite, no variables
    monkeypatch.setenv("DATABASE_URL", "postgres://db/ggzy")
    assert "DATABASE_URL" in demo_refusal(debug=False)
    assert demo_refusal(debug=True) is None
    settings.GGZY_PRODUCTION = True
    assert "production" in demo_refusal(debug=True)
    monkeypatch.setenv("GGZY_ALLOW_DEMO", "1")
    assert demo_refusal(debug=False) is None


# --- Content-Security-Policy -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/api/tenders/", "/api/docs/",
                                 "/admin/login/", "/api/no-such-thing/", "/tenders/GGZY%00/"])
def test_every_response_carries_a_content_security_policy(url):
    response = Client().get(url)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert "unsafe-eval" not in policy and "'unsafe-inline'" not in policy.split(
        "script-src")[1].split(";")[0]


@pytest.mark.django_db
def test_the_api_docs_page_has_no_inline_script():
    html = Client().get("/api/docs/").content.decode()
    assert "<script" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_no_template_has_an_inline_script_or_event_handler():
    templates = [p for p in ROOT.rglob("templates/**/*.html") if ".venv" not in p.parts]
    assert templates
    for path in templates:
        text = path.read_text(encoding="utf-8")
        assert not INLINE_SCRIPT.search(text), path
        assert not EVENT_HANDLER.search(text), path


def test_make_run_and_the_readme_start_uvicorn_with_the_platform_options():
    """``core.deploy.UVICORN_OPTIONS`` (the websockets protocol among them) is what the
    benchmarks and stack tests start; the two commands people copy say the same."""
    options = " ".join(UVICORN_OPTIONS)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, text in (("Makefile", makefile), ("README.md", readme)):
        commands = [line for line in text.splitlines()
                    if "uvicorn tradecentre.asgi:application" in line]
        assert commands, name
        for line in commands:
            assert line.rstrip().endswith(options), (name, line)
