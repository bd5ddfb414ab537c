"""The Chinese catalogue is complete: no empty or fuzzy entry, every message the code
marks for translation is in it, and the compiled .mo says the same as the .po.

Needs GNU gettext (msgfmt, xgettext), which .ci/run installs."""

import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LC = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
DOMAINS = [d for d in ("django", "djangojs") if (LC / f"{d}.po").exists()]
# What makemessages must not walk (the Makefile's `messages` target ignores the first two;
# tests and benchmarks hold no user-facing strings).
NOT_CODE = (".venv", ".git", "var", "tests", "bench", "node_modules", "__pycache__",
            ".pytest_cache", ".ruff_cache")

pytestmark = pytest.mark.skipif(shutil.which("msgfmt") is None or shutil.which("xgettext") is None,
                                reason="GNU gettext is not installed")


def _unquote(s):
    s = s.strip()
    assert s.startswith('"') and s.endswith('"'), s
    return s[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape") \
        if "\\" in s else s[1:-1]


def parse_po(path):
    """Entries of a .po file: dicts with msgctxt, msgid, msgid_plural, msgstr (list),
    flags (set), obsolete (bool), line. A tiny parser: enough for what xgettext writes."""
    entries, cur, field = [], None, None

    def new(line_no):
        return {"msgctxt": None, "msgid": None, "msgid_plural": None, "msgstr": [],
                "flags": set(), "obsolete": False, "line": line_no}

    def flush():
        if cur is not None and cur["msgid"] is not None:
            entries.append(cur)

    for n, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            continue
        if line.startswith("#"):
            if cur is not None and cur["msgid"] is not None:
                flush()
                cur = None
            if cur is None:
                cur = new(n)
            if line.startswith("#,"):
                cur["flags"] |= {f.strip() for f in line[2:].split(",")}
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = _unquote(line)
            if field == "msgstr":
                cur["msgstr"][-1] += value
            else:
                cur[field] += value
            continue
        if keyword in ("msgctxt", "msgid") and cur is not None and cur["msgid"] is not None:
            flush()
            cur = None
        if cur is None:
            cur = new(n)
        cur["obsolete"] = cur["obsolete"] or obsolete
        if keyword.startswith("msgstr"):
            cur["msgstr"].append(_unquote(rest))
            field = "msgstr"
        else:
            cur[keyword] = _unquote(rest)
            field = keyword
    flush()
    return entries


def _live(entries):
    return [e for e in entries if not e["obsolete"] and e["msgid"] != ""]


def _key(e):
    return (e["msgctxt"], e["msgid"])


def _show(entries):
    return "\n".join(f"  line {e['line']}: {e['msgid'][:100]!r}" for e in entries)


def untranslated_or_fuzzy(po):
    return [e for e in _live(parse_po(po))
            if "fuzzy" in e["flags"] or not e["msgstr"] or any(not s for s in e["msgstr"])]


def test_the_parser_sees_empty_and_fuzzy_entries(tmp_path):
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "done"\nmsgstr "完成"\n\n'
                  'msgid "empty"\nmsgstr ""\n\n'
                  '#, fuzzy, python-format\nmsgid "fuzzy %(n)s"\nmsgstr "模糊 %(n)s"\n\n'
                  'msgid "one"\nmsgid_plural "many"\nmsgstr[0] ""\n\n'
                  '#~ msgid "gone"\n#~ msgstr ""\n', encoding="utf-8")
    assert [e["msgid"] for e in untranslated_or_fuzzy(po)] == ["empty", "fuzzy %(n)s", "one"]


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated_and_none_is_fuzzy(domain):
    bad = untranslated_or_fuzzy(LC / f"{domain}.po")
    assert not bad, f"{len(bad)} untranslated or fuzzy entries in {domain}.po:\n{_show(bad)}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_catalogue_passes_msgfmt_check(domain, tmp_path):
    run = subprocess.run(["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "x.mo"),
                          str(LC / f"{domain}.po")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "fuzzy" not in run.stderr and "untranslated" not in run.stderr, run.stderr


def _mo_catalog(path):
    with open(path, "rb") as f:
        catalog = dict(gettext.GNUTranslations(f)._catalog)
    catalog.pop("", None)  # the header carries dates
    return catalog


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_is_compiled_from_the_committed_po(domain, tmp_path):
    fresh = tmp_path / "fresh.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(LC / f"{domain}.po")], check=True)
    committed, compiled = _mo_catalog(LC / f"{domain}.mo"), _mo_catalog(fresh)
    stale = sorted(str(k) for k in compiled.keys() ^ committed.keys()) + sorted(
        str(k) for k in compiled.keys() & committed.keys() if compiled[k] != committed[k])
    assert not stale, (f"{domain}.mo differs from {domain}.po (run compilemessages) in "
                       f"{len(stale)} messages:\n" + "\n".join(s[:100] for s in stale[:50]))


def extracted(domain, root=ROOT, tmp_path=None):
    """Entries makemessages extracts from the code now, run in a copy of the project so
    the committed catalogue is left alone."""
    copy = tmp_path / "project"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(*NOT_CODE, "*.pyc"),
                    symlinks=True)
    run = subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "zh_Hans",
                          "-d", domain, "--no-obsolete", "--ignore", ".venv/*",
                          "--ignore", "var/*", "--ignore", "tests/*", "--ignore", "bench/*"],
                         cwd=copy, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return _live(parse_po(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"))


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_in_the_code_is_in_the_catalogue(domain, tmp_path):
    committed = {_key(e) for e in _live(parse_po(LC / f"{domain}.po"))}
    missing = [e for e in extracted(domain, tmp_path=tmp_path) if _key(e) not in committed]
    assert not missing, (f"{len(missing)} messages in the code are missing from {domain}.po "
                         f"(run `make messages` and translate them):\n{_show(missing)}")


# makemessages extracts only the names it knows (_, gettext, gettext_lazy, ngettext, ...):
# a message written through an alias (``gettext_lazy as _lazy``) or inside an f-string's
# braces is never extracted, so "every message is in the catalogue" cannot see it.
_ALIAS = (r"import\s+(?:gettext|gettext_lazy|ngettext|ngettext_lazy|pgettext|pgettext_lazy)"
          r"\s+as\s+(?!_\b)\w+")
_IN_FSTRING = r"""f(['"])[^'"\n]*\{[^}\n]*\b_\(\s*['"]"""


def _python_sources():
    skip = {".venv", "var", "tests", "bench", "migrations", "node_modules"}
    for path in ROOT.rglob("*.py"):
        if not skip.intersection(path.relative_to(ROOT).parts):
            yield path


@pytest.mark.parametrize("pattern, what", [(_ALIAS, "a gettext alias makemessages does not know"),
                                           (_IN_FSTRING, "a message inside an f-string")])
def test_every_message_is_written_where_makemessages_can_extract_it(pattern, what):
    import re

    found = [f"{p.relative_to(ROOT)}:{n}" for p in _python_sources()
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(pattern, line)]
    assert not found, f"{what}: " + ", ".join(found)


def test_the_extraction_checks_can_fail():
    import re

    assert re.search(_ALIAS, "from django.utils.translation import gettext_lazy as _lazy")
    assert not re.search(_ALIAS, "from django.utils.translation import gettext_lazy as _")
    assert re.search(_IN_FSTRING, """x = f'<text>{escape(_("No flags yet."))}</text>'""")
    assert not re.search(_IN_FSTRING, """x = _("No flags yet.") + f'{y}'""")
