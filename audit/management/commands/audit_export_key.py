from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crypto import keys


class Command(BaseCommand):
    help = ("Write the platform's public verify key (PEM) to FILE, to pin it for verify_audit "
            "(AUDIT_PINNED_KEY_FILE). An existing FILE is kept: a pin is never silently "
            "replaced, and a differing key is an error.")

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **options):
        from core import platform_keys

        path = Path(options["file"])
        pem = platform_keys.verify_key_pem()
        if path.exists():
            pinned = keys.verify_key_from_pem(path.read_bytes())
            if keys.key_fingerprint(pinned) != platform_keys.fingerprint():
                raise CommandError(
                    f"{path} pins another platform key than the one this server signs with "
                    "now: the key was replaced. Find out why before changing the pin.")
            self.stdout.write(f"{path} already pins this platform key")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pem)
        self.stdout.write(f"pinned the platform key {platform_keys.fingerprint()[:16]} in {path}")
