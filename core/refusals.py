"""How services refuse bad input: a Django ``ValidationError`` keyed by the field the
user should correct, with a machine-readable code. Forms show the message beside the
field; the API returns it under ``fields`` with the code (core.api_errors)."""

from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def refuse(field: str, message: str, code: str) -> ValidationError:
    """A refusal keyed by ``field`` (``"__all__"`` for the request as a whole)."""
    return ValidationError({field: ValidationError(message, code=code)})


class Problems:
    """Every refusal of one request, reported together, each under its field.

    A form or request with three statutory problems gets all three at once, not one
    per attempt::

        problems = Problems()
        with problems.check():
            statutory.check_bond(...)
        with problems.check():
            statutory.check_deadline_at_publication(...)
        problems.add("documents", _("Attach the documents."), "no_documents")
        problems.raise_if_any()   # one ValidationError holding every field's messages

    Each check stays a plain function that raises; the collector only gathers.
    """

    def __init__(self) -> None:
        self._errors: dict[str, list[ValidationError]] = {}

    def add(self, field_or_error, message: str | None = None, code: str | None = None) -> None:
        if isinstance(field_or_error, ValidationError):
            exc = field_or_error
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    self._errors.setdefault(field, []).extend(errors)
            else:
                self._errors.setdefault(NON_FIELD_ERRORS, []).extend(exc.error_list)
            return
        self._errors.setdefault(field_or_error, []).append(ValidationError(message, code=code))

    @contextmanager
    def check(self):
        try:
            yield
        except ValidationError as exc:
            self.add(exc)

    def __bool__(self) -> bool:
        return bool(self._errors)

    def raise_if_any(self) -> None:
        if self._errors:
            raise ValidationError(self._errors)
