from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.models import Role


def require_oversight(user) -> None:
    """Supervisors and trading-centre operators only."""
    if not (user.is_authenticated and user.role in (Role.SUPERVISOR, Role.OPERATOR)):
        raise PermissionDenied(
            _("Only supervisors and the trading centre can see the audit trail.")
        )
