from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.api_errors import not_found_api

api_patterns = [
    path("", include("core.api_urls")),
    path("", include("core.notifications.api_urls")),
    path("", include("accounts.api_urls")),
    path("", include("bidding.tenders.api_urls")),
    path("", include("bidding.bids.api_urls")),
    path("", include("bidding.opening.api_urls")),
    path("", include("bidding.evaluation.api_urls")),
    path("", include("bidding.award.api_urls")),
    path("", include("expert_pool.api_urls")),
    path("", include("supervision.api_urls")),
    path("", include("supervision.complaints.api_urls")),
    path("", include("supervision.inspections.api_urls")),
    path("", include("supervision.opendata.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script,
    # so the Content-Security-Policy needs no exception for the API docs.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("<path:rest>", not_found_api),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("accounts.urls")),
    path("", include("core.notifications.urls")),
    path("supervision/", include("supervision.urls")),
    path("", include("supervision.complaints.urls")),
    path("", include("supervision.inspections.urls")),
    path("", include("supervision.opendata.urls")),
    path("admin/", admin.site.urls),
    path("", include("bidding.urls")),
    path("", include("bidding.tenders.urls")),
    path("", include("bidding.bids.urls")),
    path("", include("bidding.opening.urls")),
    path("", include("bidding.evaluation.urls")),
    path("", include("bidding.award.urls")),
    path("", include("expert_pool.urls")),
]
