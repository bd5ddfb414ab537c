from django.urls import path

from accounts import api, two_factor_api

urlpatterns = [
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("auth/token/revoke/", api.TokenRevokeApi.as_view(), name="api-token-revoke"),
    path("auth/2fa/", two_factor_api.TwoFactorStatusApi.as_view(), name="api-2fa"),
    path("auth/2fa/enrol/", two_factor_api.TwoFactorEnrolApi.as_view(), name="api-2fa-enrol"),
    path("auth/2fa/confirm/", two_factor_api.TwoFactorConfirmApi.as_view(),
         name="api-2fa-confirm"),
    path("auth/2fa/verify/", two_factor_api.TwoFactorVerifyApi.as_view(), name="api-2fa-verify"),
    path("auth/register/", api.RegisterApi.as_view(), name="api-register"),
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("keys/", api.PublicKeysApi.as_view(), name="api-keys"),
    path("organisation/notifications/", api.NotificationsApi.as_view(),
         name="api-notifications"),
    path("mandates/", api.MandatesApi.as_view(), name="api-mandates"),
    path("mandates/<uuid:mandate_id>/accept/", api.MandateAcceptApi.as_view(),
         name="api-mandate-accept"),
    path("mandates/<uuid:mandate_id>/revoke/", api.MandateRevokeApi.as_view(),
         name="api-mandate-revoke"),
    path("platform/keys/", api.PlatformKeysApi.as_view(), name="api-platform-keys"),
]
