"""Seed the working-day calendar from the chinesecalendar package."""

from django.core.management.base import BaseCommand, CommandError

from core import workdays


class Command(BaseCommand):
    help = ("Seed public holidays and adjusted working days (调休) from the chinesecalendar "
            "package: every year it knows, or one year with --year. Operator edits are kept.")

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int)

    def handle(self, *args, year=None, **options):
        if year is not None:
            if year not in workdays.package_years():
                raise CommandError(
                    f"chinesecalendar does not know {year}; an operator defines it on the "
                    "calendar page (/complaints/calendar/) or through the API.")
            results = {year: workdays.seed_year(year)}
        else:
            results = workdays.seed_all()
        for y, n in results.items():
            self.stdout.write(f"{y}: {n} days written" if n else f"{y}: already seeded")
