from django.urls import path

from . import api

app_name = "opendata_api"
urlpatterns = [
    path("ocds/releases/", api.ReleasesApi.as_view(), name="releases"),
    path("ocds/records/<str:ocid>/", api.RecordApi.as_view(), name="record"),
]
