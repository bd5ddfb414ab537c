"""The project's URLs with the notification pages and API in front (the API's catch-all
404 would hide them otherwise), until tradecentre/urls.py includes them."""

from django.urls import include, path

from tradecentre.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("api/", include("core.notifications.api_urls")),
    path("", include("core.notifications.urls")),
    *project_urlpatterns,
]
