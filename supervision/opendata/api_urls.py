from django.urls import path  # noqa: F401

app_name = "opendata_api"
urlpatterns: list = []
