from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("auth/token/revoke/", api.TokenRevokeApi.as_view(), name="api-token-revoke"),
    path("auth/register/", api.RegisterApi.as_view(), name="api-register"),
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("keys/", api.PublicKeysApi.as_view(), name="api-keys"),
    path("notifications/", api.NotificationsApi.as_view(), name="api-notifications"),
    path("mandates/", api.MandatesApi.as_view(), name="api-mandates"),
    path("mandates/<uuid:mandate_id>/accept/", api.MandateAcceptApi.as_view(),
         name="api-mandate-accept"),
    path("mandates/<uuid:mandate_id>/revoke/", api.MandateRevokeApi.as_view(),
         name="api-mandate-revoke"),
    path("platform/keys/", api.PlatformKeysApi.as_view(), name="api-platform-keys"),
]
