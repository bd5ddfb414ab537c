from django.core.management.base import BaseCommand

from bidding.demo import DEMO_PASSWORD, USERS, load_demo


class Command(BaseCommand):
    help = "Load demo organisations, users of every role and tenders (idempotent)."

    def handle(self, *args, **options):
        result = load_demo()
        if not result["created"]:
            self.stdout.write("Demo data already loaded.")
            return
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {result['tenders']} tenders."))
        self.stdout.write(f"Demo accounts (password {DEMO_PASSWORD}):")
        for username, _display, role, _org in USERS:
            self.stdout.write(f"  {username:<11} {role.label}")
