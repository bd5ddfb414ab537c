from django.urls import path

from . import views

app_name = "opening"
urlpatterns = [
    path("tenders/<str:tender_id>/opening/", views.opening_hall, name="hall"),
]
