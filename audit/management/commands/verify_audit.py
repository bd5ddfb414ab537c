import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_verify, audit_witness_head, kept_tree_heads
from crypto import keys
from crypto.errors import CryptoError


class Command(BaseCommand):
    help = ("Verify the audit log: the hash chain, the platform's signed checkpoints and tree "
            "heads, and (with --against) tree heads kept outside the database. Prints OK, or "
            "one line per problem and exits non-zero.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--against", metavar="FILE", action="append", default=[],
            help="JSON file of kept tree heads, as GET /api/audit/sth/ serves them (a page or "
                 "its results list, or bare STHs); may be repeated")
        parser.add_argument(
            "--platform-key", metavar="PEM",
            help="the platform's verify key, pinned (default: settings.AUDIT_PINNED_KEY_FILE)")
        parser.add_argument(
            "--witness-url", metavar="URL",
            help="also check the log against the witness's last cosigned tree head "
                 "(default: settings.AUDIT_WITNESS_URL)")
        parser.add_argument(
            "--witness-key", metavar="PEM",
            help="the witness's verify key, pinned (default: settings.AUDIT_WITNESS_KEY_FILE); "
                 "every tree head it never cosigned is reported")

    def _key(self, path, what):
        try:
            return keys.verify_key_from_pem(Path(path).read_bytes())
        except (OSError, CryptoError) as exc:
            raise CommandError(f"cannot read the {what} key {path}: {exc}") from exc

    def handle(self, *args, **options):
        from core import platform_keys

        platform_key = (self._key(options["platform_key"], "platform")
                        if options["platform_key"] else None)
        if platform_key is None:
            try:
                platform_key = platform_keys.pinned_verify_key()
            except (OSError, CryptoError) as exc:
                raise CommandError(f"cannot read AUDIT_PINNED_KEY_FILE: {exc}") from exc
        witness_key = (self._key(options["witness_key"], "witness")
                       if options["witness_key"] else None)
        kept = []
        for name in options["against"]:
            try:
                kept += kept_tree_heads(json.loads(Path(name).read_text("utf-8")))
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read kept tree heads from {name}: {exc}") from exc
        from_witness, witness_problem = audit_witness_head(options["witness_url"])
        if witness_problem and options["witness_url"]:
            raise CommandError(witness_problem)
        if from_witness and platform_key is None:
            self.stdout.write("note: the witness's tree head was not checked: no pinned "
                              "platform key (--platform-key or AUDIT_PINNED_KEY_FILE)")
            from_witness = []
        kept += from_witness
        if options["against"] and platform_key is None:
            raise CommandError(
                "checking kept tree heads needs a pinned platform key: --platform-key PEM or "
                "settings.AUDIT_PINNED_KEY_FILE (never the key on this server's disk, which an "
                "insider could have replaced)")
        result = audit_verify(kept=kept, platform_key=platform_key, witness_key=witness_key)
        lines = result.lines()
        if not result.ok:
            for line in lines[1:]:
                self.stderr.write(line)
            raise CommandError(lines[0])
        for line in lines:
            self.stdout.write(line)
        if witness_problem:
            self.stdout.write(f"note: {witness_problem}")
