"""Shared set-ups for the complaint tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile

from supervision.complaints import services
from supervision.complaints.models import Matter
from tests import factories

CN = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=10, mi=0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=CN)


def evidence_pdf(name="证据.pdf", body=b"evidence") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n" + body + b"\n%%EOF\n",
                              content_type="application/pdf")


def other_complaint(*, now, tender=None, user=None, text="评标专家与投标人存在利害关系",
                    knew_on=None, evidence=()):
    """A complaint on a matter that needs no objection first."""
    tender = tender or factories.published_tender()
    user = user or factories.bidder()
    return services.complaint_file(user=user, tender=tender, matter=Matter.OTHER, text=text,
                                   knew_on=knew_on or now.date(), evidence=evidence, now=now)
