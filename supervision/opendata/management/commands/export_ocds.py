"""Export the published tenders as an OCDS 1.1 release package.

    python manage.py export_ocds [--output FILE] [--since DATE] [--tender REF]
                                 [--base-url URL]

Writes to standard output unless ``--output`` is given (written to ``FILE.part`` and
renamed once complete, so a failed run leaves no half file under the name). The package
is streamed one tender at a time: memory holds one tender's releases, whatever the number
of tenders. ``--since`` (``YYYY-MM-DD`` or an ISO 8601 date-time; without a time zone the
platform's) keeps only releases dated at or after it. A progress line goes to stderr;
bad input ends with a one-line error and exit status 1.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from supervision.opendata import ocds


class _Raw:
    """The command's stdout as a plain text stream (no line endings added)."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()


class Command(BaseCommand):
    help = "Export published tenders, awards and contracts as an OCDS 1.1 release package."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="file to write (default: stdout)")
        parser.add_argument("--since", help="only releases dated at or after this date")
        parser.add_argument("--tender", help="only this tender (its tender number)")
        parser.add_argument("--base-url", help="the platform's public URL for document "
                            "links and the package URI (default: settings.OCDS_BASE_URL)")

    def handle(self, *args, output=None, since=None, tender=None, base_url=None, **options):
        try:
            since_at = ocds.parse_since(since) if since else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if base_url and not base_url.startswith(("http://", "https://")):
            raise CommandError(f"--base-url: not an http(s) URL: {base_url!r}")
        return self._export(output=output, since_at=since_at, reference=tender,
                            base=(base_url or ocds.base_url()).rstrip("/"))

    def _export(self, *, output, since_at, reference, base):
        if reference:
            tenders = ocds.published_tenders().filter(reference=reference)
            if not tenders.exists():
                raise CommandError(f"--tender: no published tender {reference!r}")
        elif since_at is not None:
            tenders = ocds.tenders_changed_since(since_at)
        else:
            tenders = ocds.published_tenders()
        total = tenders.count()
        uri = base + "/api/ocds/releases/"
        err = self.stderr

        def progress(done: int, releases: int) -> None:
            if done == total or done % 100 == 0:
                err.write(f"\rexport_ocds: {done}/{total} tenders, {releases} releases",
                          ending="")
                err.flush()

        target = f"{output}.part" if output else None
        try:
            fh = open(target, "w", encoding="utf-8") if target else _Raw(self.stdout)
        except OSError as exc:
            raise CommandError(f"--output: cannot write {output}: {exc.strerror}") from None
        try:
            count = ocds.write_release_package(
                fh, tenders.iterator(chunk_size=200), uri=uri, since=since_at, base=base,
                progress=progress)
        except BaseException:
            if target:
                fh.close()
                os.unlink(target)
            raise
        if target:
            fh.close()
            os.replace(target, output)
        else:
            fh.flush()
        err.write(f"\rexport_ocds: {total} tenders, {count} releases"
                  + (f" -> {output}" if output else ""))
