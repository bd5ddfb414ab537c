"""Every role's pages, as its users see them: both languages, a laptop (1280 px) and a
phone (390 px).

For each page the test asserts that
* the page does not scroll sideways (``scrollWidth <= innerWidth``);
* axe-core (the engine accessibility auditors use, bundled by the axe-playwright-python
  package, no network) finds no serious or critical violation;
* no interface string is left untranslated: in the Chinese interface no text equals an
  English message id that has a Chinese translation, and in the English interface no text
  equals a Chinese translation from the catalogue;
* every date-time a person reads has the one format of its language, marked with the
  centre's zone (``2026-12-07 09:30 北京时间`` / ``2026-12-07 09:30 CST``, core.timefmt);
  machine fields in ``<code>``/``<pre>``/``<samp>``/``<time datetime>`` attributes are not
  read.

Screenshots of every page land in ``$WALKTHROUGH_DIR`` (default ``var/walkthrough/``);
the README shows a few.
"""

from __future__ import annotations

import gettext
import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
LANGS = ("zh-CN", "en")
SHOTS = Path(os.environ.get("WALKTHROUGH_DIR", Path(settings.BASE_DIR) / "var" / "walkthrough"))

# A date-time as people read it, wherever it appears in visible text.
DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
ONE_FORMAT = {
    "zh-CN": re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})? 北京时间"),
    "en": re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})? CST"),
}

# Visible text nodes and the attributes people read (placeholders, labels, titles),
# leaving out machine text (code, hashes, JSON) and scripts.
TEXTS_JS = """() => {
  const skip = new Set(["SCRIPT", "STYLE", "CODE", "PRE", "SAMP", "KBD", "TEXTAREA", "NOSCRIPT"]);
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let el = node.parentElement; el; el = el.parentElement) {
        if (skip.has(el.tagName) || el.hidden) return NodeFilter.FILTER_REJECT;
      }
      return node.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
    }});
  while (walker.nextNode()) out.push(walker.currentNode.textContent.trim());
  for (const el of document.querySelectorAll("[placeholder], [aria-label], [title]")) {
    for (const a of ["placeholder", "aria-label", "title"]) {
      if (el.getAttribute(a)) out.push(el.getAttribute(a).trim());
    }
  }
  return out;
}"""


def _catalogue() -> dict[str, str]:
    found: dict[str, str] = {}
    for domain in ("django", "djangojs"):
        mo = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.mo"
        if mo.exists():
            with mo.open("rb") as fh:
                for msgid, msgstr in gettext.GNUTranslations(fh)._catalog.items():
                    if isinstance(msgid, tuple):  # plural forms: (msgid, n)
                        continue
                    if msgid and msgstr and msgid != msgstr:
                        found[msgid.strip()] = msgstr.strip()
    return found


CATALOGUE = _catalogue()
CHINESE = {v: k for k, v in CATALOGUE.items()}
CJK = re.compile(r"[\u4e00-\u9fff]")
CJK_RUN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
# Words of a sentence, not a code or a name: "No flags yet." (the test data's names and
# titles shown in the Chinese interface are Chinese).
ENGLISH_SENTENCE = re.compile(r"\b[A-Z][a-z]+(?: [a-z]{2,}){2,}\b|\b[a-z]{2,}(?: [a-z]{2,}){3,}\b")


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def _problems(page, lang: str, width: int, axe_source: str) -> list[str]:
    problems = []
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner:
        problems.append(f"scrolls sideways at {width} px: {scroll} > {inner}")
    texts = page.evaluate(TEXTS_JS)
    for text in texts:
        if lang == "zh-CN" and text in CATALOGUE:
            problems.append(f"untranslated in Chinese: {text!r}")
        if lang == "zh-CN" and ENGLISH_SENTENCE.search(CJK_RUN.sub(" ", text)):
            problems.append(f"English sentence in the Chinese interface: {text!r}")
        if lang == "en" and text in CHINESE and CJK.search(text):
            problems.append(f"Chinese in the English interface: {text!r}")
        for m in DATETIME.finditer(text):
            if not ONE_FORMAT[lang].match(text[m.start():]):
                around = text[max(0, m.start() - 20):m.end() + 12]
                problems.append(f"time not in the one format: {around!r}")
    if width == WIDTHS[0] and lang == LANGS[0]:  # axe's rules depend on neither
        page.evaluate(axe_source)
        serious = page.evaluate(
            "axe.run({resultTypes: ['violations']}).then(r => r.violations"
            ".filter(v => ['serious', 'critical'].includes(v.impact))"
            ".map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3)"
            ".map(n => n.target.join(' ')).join(', ')))")
        problems += [f"axe: {v}" for v in serious]
    return problems


def _scene():
    """One tender at each stage a visitor meets, and a user of every role."""
    factories.ensure_custodians()
    tenderer = factories.tenderer(username="wt_tenderer")
    published = factories.published_tender(user=tenderer)
    draft = factories.draft_tender(user=tenderer, project_code="FZ-WT-DRAFT")
    bidder = factories.bidder_with_key(username="wt_bidder")
    from bidding.tenders import services as tender_services

    tender_services.document_obtain(user=bidder, tender=published)
    publicity, _bidders, _bids = factories.candidates_tender()
    opened, _ = factories.opened_tender()
    return {
        "tenderer": tenderer, "bidder": bidder,
        "supervisor": factories.supervisor(username="wt_supervisor"),
        "operator": factories.operator(username="wt_operator"),
        "expert": factories.expert(username="wt_expert"),
        "published": published, "draft": draft, "publicity": publicity, "opened": opened,
    }


def _pages(role: str, s: dict) -> list[str]:
    pub, draft, publicity, opened = (s[k].pk for k in ("published", "draft", "publicity", "opened"))
    public = ["/", f"/tenders/{pub}/", f"/tenders/{publicity}/", f"/award/{publicity}/",
              f"/tenders/{opened}/", "/inspections/"]
    return {
        "visitor": public + ["/accounts/login/", "/accounts/register/"],
        "tenderer": ["/my/", "/tenders/new/", f"/tenders/{draft}/", f"/tenders/{pub}/",
                     f"/tenders/{pub}/register/", f"/award/{publicity}/", "/accounts/mandates/",
                     "/accounts/keys/", "/complaints/mine/", "/notifications/"],
        "bidder": ["/my/", f"/tenders/{pub}/", f"/tenders/{pub}/bid/",
                   f"/tenders/{opened}/opening/", f"/award/{publicity}/", "/complaints/new/",
                   "/complaints/objections/", "/accounts/keys/",
                   "/notifications/preferences/"],
        "supervisor": [f"/tenders/{pub}/", "/supervision/audit/", "/supervision/flags/",
                       "/supervision/network/", "/supervision/audit/checkpoints/", "/refunds/",
                       "/supervision/cases/", "/complaints/", "/inspections/manage/", "/filings/",
                       f"/award/{publicity}/"],
        "operator": ["/experts/pool/", f"/tenders/{pub}/experts/", "/supervision/audit/",
                     "/complaints/calendar/", "/complaints/calendar/2026/", "/refunds/"],
        "expert": ["/experts/me/", "/accounts/two-factor/"],
    }[role]


ROLES = ("visitor", "tenderer", "bidder", "supervisor", "operator", "expert")


def test_each_role_sees_its_pages_translated_unclipped_and_without_serious_axe_faults(
        browser, live_server):
    scene = _scene()  # one scene for every role: building it is the slow part
    axe_source = _axe_source()
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for role in ROLES:
        for lang in LANGS:
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": 900}, locale=lang)
                page = context.new_page()
                if role != "visitor":
                    page.goto(f"{live_server.url}/accounts/login/")
                    page.fill("#id_username", scene[role].username)
                    page.fill("#id_password", factories.PASSWORD)
                    page.click("button[type=submit].btn")
                    page.wait_for_load_state()
                for path in _pages(role, scene):
                    response = page.goto(live_server.url + path)
                    page.wait_for_load_state()
                    where = f"{role} {lang} {width}px {path}"
                    if response is None or response.status >= 400:
                        problems.append(f"{where}: HTTP {response.status if response else '-'}")
                        continue
                    problems += [f"{where}: {p}" for p in _problems(page, lang, width, axe_source)]
                    name = re.sub(r"[^a-z0-9]+", "_", path.strip("/").lower()) or "home"
                    page.screenshot(path=str(SHOTS / f"{role}-{lang}-{width}-{name}.png"))
                context.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
