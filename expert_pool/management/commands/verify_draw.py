"""``manage.py verify_draw <id>``: recompute a draw from its stored inputs."""

from django.core.management.base import BaseCommand, CommandError

from expert_pool.draw import verify
from expert_pool.models import Draw


class Command(BaseCommand):
    help = "Recompute an expert draw from its published inputs and say OK or what differs."

    def add_arguments(self, parser):
        parser.add_argument("draw_id", type=int)

    def handle(self, *args, draw_id: int, **options):
        draw = Draw.objects.select_related("tender").filter(pk=draw_id).first()
        if draw is None:
            raise CommandError(f"no draw {draw_id}")
        v = verify(draw)
        for line in v.checked:
            self.stdout.write(f"  checked: {line}")
        if not v.secret_revealed:
            self.stdout.write("  note: the secret is not revealed yet (revealed after the award)")
        if v.ok:
            self.stdout.write(f"OK: draw {draw.pk} of {draw.tender.reference} recomputes exactly")
            return
        for p in v.problems:
            self.stderr.write(f"  differs: {p}")
        raise CommandError(f"draw {draw.pk} does NOT verify ({len(v.problems)} problems)")
