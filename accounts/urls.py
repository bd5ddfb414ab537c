from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import two_factor_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", two_factor_views.TwoFactorLoginView.as_view(), name="login"),
    path("two-factor/", two_factor_views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/verify/", two_factor_views.two_factor_verify, name="two_factor_verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("register/", views.register, name="register"),
    path("keys/", views.keys, name="keys"),
    path("mandates/", views.mandates, name="mandates"),
    path("mandates/<uuid:mandate_id>/accept/", views.mandate_accept, name="mandate_accept"),
    path("mandates/<uuid:mandate_id>/revoke/", views.mandate_revoke, name="mandate_revoke"),
]
