from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("register/", views.register, name="register"),
    path("mandates/", views.mandates, name="mandates"),
    path("mandates/<uuid:mandate_id>/accept/", views.mandate_accept, name="mandate_accept"),
    path("mandates/<uuid:mandate_id>/revoke/", views.mandate_revoke, name="mandate_revoke"),
]
