"""Encrypt at rest the decrypted bid files of openings held before encryption at rest.

Earlier releases wrote each decrypted bid as a plaintext file ``opened/<tender>/<bid>.bin``.
This command streams each such file into an at-rest file (``bidding.opening.at_rest``),
records the wrapped key on the row and removes the plaintext file. Idempotent: rows that
already have a wrapped key are left alone. Safe to run while the platform runs.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from bidding.opening import at_rest
from bidding.opening.models import BidOpening


class Command(BaseCommand):
    help = "Encrypt at rest the plaintext bid files left by openings before encryption at rest."

    def handle(self, *args, **options):
        done = missing = 0
        rows = (BidOpening.objects.exclude(document="").filter(document_wrapped_key="")
                .select_related("bid__tender"))
        for item in rows:
            name = item.document.name
            storage = item.document.storage
            if not storage.exists(name):
                missing += 1
                self.stderr.write(f"{item.bid.public_id}: {name} is missing, left as it is")
                continue
            with storage.open(name, "rb") as src:
                values = at_rest.encrypt_to_rest(item, src)
            at_rest.apply(item, values)
            item.save(update_fields=list(at_rest.DOCUMENT_FIELDS))
            storage.delete(name)
            done += 1
        self.stdout.write(f"encrypted at rest: {done}; missing files: {missing}")
