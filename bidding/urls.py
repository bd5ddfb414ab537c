from django.urls import path

from . import views

app_name = "bidding"
urlpatterns = [
    path("my/", views.dashboard, name="dashboard"),
]
