"""Seed the specialty classification from expert_pool/data/specialties.csv (works, goods,
services; technical and economic classes marked)."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parents[1] / "data" / "specialties.csv"


def seed(apps, schema_editor):
    Specialty = apps.get_model("expert_pool", "Specialty")
    by_code = {}
    with DATA.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            obj, _created = Specialty.objects.update_or_create(
                code=row["code"],
                defaults={"name": row["name"], "name_en": row["name_en"], "kind": row["kind"],
                          "parent": by_code.get(row["parent"])},
            )
            by_code[row["code"]] = obj


def unseed(apps, schema_editor):
    apps.get_model("expert_pool", "Specialty").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("expert_pool", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
