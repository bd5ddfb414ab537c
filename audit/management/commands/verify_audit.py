from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_verify


class Command(BaseCommand):
    help = "Verify the audit hash chain: prints OK, or the first event that breaks it and why."

    def handle(self, *args, **options):
        result = audit_verify()
        if not result.ok:
            raise CommandError(result.line())
        self.stdout.write(result.line())
