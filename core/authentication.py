"""API authentication: a client system's token (``core.ApiToken``).

Its own module: DRF imports the authentication classes while it loads its views,
so this must not import anything that imports ``rest_framework.views``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from core.models import ApiToken


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` against ``core.ApiToken``: refused once revoked or
    expired, and its last use recorded."""

    def authenticate_credentials(self, key: str) -> tuple[User, ApiToken]:
        from core.models import ApiToken
        from core.services import api_token_use_record

        token = None if "\x00" in key else ApiToken.objects.usable().select_related("user").filter(key=key).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        api_token_use_record(token=token)
        return token.user, token


class BearerApiTokenAuthentication(ApiTokenAuthentication):
    """``Authorization: Bearer <key>``: the same tokens, in the scheme Alertmanager's
    ``http_config.authorization`` and Grafana's webhook contact point send."""

    keyword = "Bearer"
