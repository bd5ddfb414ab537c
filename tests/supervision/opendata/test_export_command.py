"""``python manage.py export_ocds``: output file, filters, errors."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from supervision.opendata import ocds
from tests import factories

pytestmark = pytest.mark.django_db


def _run(**options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_ocds", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_writes_the_package_to_a_file_with_a_progress_line(tmp_path):
    tenders = [factories.published_tender() for _ in range(2)]
    target = tmp_path / "ocds.json"
    out, err = _run(output=str(target), base_url="https://ggzy.example.cn/")
    package = json.loads(target.read_text(encoding="utf-8"))
    assert out == "" and "2 tenders, 2 releases" in err
    assert not (tmp_path / "ocds.json.part").exists()
    assert package["uri"] == "https://ggzy.example.cn/api/ocds/releases/"
    assert sorted(r["ocid"] for r in package["releases"]) == sorted(
        ocds.ocid(t) for t in tenders)
    doc = package["releases"][0]["tender"]["documents"][0]
    assert doc["url"].startswith("https://ggzy.example.cn/api/tenders/")
    assert doc["description"].startswith("SHA-256: ")


@override_settings(OCDS_PREFIX="ocds-abc123")
def test_one_tender_by_its_number_under_the_configured_prefix():
    tender = factories.published_tender()
    factories.published_tender()
    package = json.loads(_run(tender=tender.reference)[0])
    assert [r["ocid"] for r in package["releases"]] == [f"ocds-abc123-{tender.reference}"]
    assert package["releases"][0]["id"] == f"ocds-abc123-{tender.reference}-tender"


def test_since_keeps_only_releases_dated_from_then():
    old = factories.published_tender()
    later = timezone.localtime(old.published_at + timedelta(seconds=1))
    assert json.loads(_run(since=later.isoformat())[0])["releases"] == []
    since_day = json.loads(_run(since=old.published_at.date().isoformat())[0])
    assert [r["ocid"] for r in since_day["releases"]] == [ocds.ocid(old)]


def test_the_same_data_exports_the_same_release_ids():
    factories.published_tender()
    first = [r["id"] for r in json.loads(_run()[0])["releases"]]
    assert first == [r["id"] for r in json.loads(_run()[0])["releases"]]
    assert len(first) == len(set(first))


def test_an_unknown_tender_is_a_one_line_error():
    with pytest.raises(CommandError, match=r"--tender: no published tender 'NOPE'"):
        _run(tender="NOPE")


def test_a_draft_cannot_be_exported_by_number():
    draft = factories.draft_tender()
    with pytest.raises(CommandError, match="no published tender"):
        _run(tender=draft.reference)


def test_a_bad_since_is_a_one_line_error():
    with pytest.raises(CommandError, match="--since: not a date"):
        _run(since="last tuesday")


def test_a_bad_base_url_is_refused():
    with pytest.raises(CommandError, match="--base-url"):
        _run(base_url="ftp://x")


def test_an_unwritable_output_is_a_one_line_error(tmp_path):
    with pytest.raises(CommandError, match="--output: cannot write"):
        _run(output=str(tmp_path / "missing" / "x.json"))
