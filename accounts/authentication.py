"""API token authentication (``Authorization: Token …``)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication as _DrfTokenAuthentication
from rest_framework.authtoken.models import Token

from core.prepared import Prepared

# Every authenticated API call runs it: compiled once (``core.prepared``).
_TOKEN = Prepared(
    lambda key: Token.objects.select_related("user", "user__organisation").filter(key=key),
    key=str)


class TokenAuthentication(_DrfTokenAuthentication):
    """DRF's token authentication, with the user's organisation read in the same query:
    nearly every authenticated call asks for it (a bidder's bid, a tenderer's tender),
    and it would otherwise cost a second query per request. The query is compiled once
    per process (``core.prepared``)."""

    model = Token

    def authenticate_credentials(self, key):
        token = _TOKEN.first(key=key)
        if token is None:
            # DRF's own messages (its catalogue translates them).
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
