"""How services refuse bad input: a Django ``ValidationError`` keyed by the field the
user should correct, with a machine-readable code. Forms show the message beside the
field; the API returns it under ``fields`` with the code (core.api_errors)."""

from django.core.exceptions import ValidationError


def refuse(field: str, message: str, code: str) -> ValidationError:
    """A refusal keyed by ``field`` (``"__all__"`` for the request as a whole)."""
    return ValidationError({field: ValidationError(message, code=code)})
