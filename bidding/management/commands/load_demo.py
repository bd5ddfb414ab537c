from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bidding.demo import DEMO_PASSWORD, STAGE_ACCOUNTS, USERS, load_demo


class Command(BaseCommand):
    help = "Load demo organisations, users of every role and tenders (idempotent)."

    def handle(self, *args, **options):
        from core.deploy import demo_refusal

        # Demo accounts share one published password: never on a production host.
        if reason := demo_refusal(debug=settings.DEBUG):
            raise CommandError(
                f"load_demo refused: {reason}; this looks like a production host "
                "(set GGZY_ALLOW_DEMO=1 to load demo data anyway)."
            )
        result = load_demo()
        if not result["created"]:
            self.stdout.write("Demo data already loaded.")
            return
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {result['tenders']} tenders."))
        self.stdout.write(f"Demo accounts (password {DEMO_PASSWORD}):")
        for username, _display, role, _org in USERS:
            self.stdout.write(f"  {username:<11} {role.label}")
        labels = {"evaluation": "Under evaluation (expert1 chairs; technical scoring open)",
                  "candidates": "Candidates in publicity (objections open)",
                  "awarded": "Awarded, notices issued"}
        self.stdout.write("Tenders at the later stages, and whom to sign in as:")
        for stage, reference, title in result.get("stages", []):
            self.stdout.write(f"  {reference}  {labels[stage]}: {title}")
            self.stdout.write(f"    accounts: {', '.join(STAGE_ACCOUNTS[stage])}")
