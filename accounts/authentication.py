"""API token authentication (``Authorization: Token …``)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication as _DrfTokenAuthentication
from rest_framework.authtoken.models import Token


class TokenAuthentication(_DrfTokenAuthentication):
    """DRF's token authentication, with the user's organisation read in the same query:
    nearly every authenticated call asks for it (a bidder's bid, a tenderer's tender),
    and it would otherwise cost a second query per request."""

    model = Token

    def authenticate_credentials(self, key):
        try:
            token = Token.objects.select_related("user", "user__organisation").get(key=key)
        except Token.DoesNotExist:
            # DRF's own messages (its catalogue translates them).
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
