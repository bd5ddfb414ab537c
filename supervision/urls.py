from django.urls import path

from . import flag_views, views

app_name = "supervision"
urlpatterns = [
    path("audit/", views.audit_trail, name="audit"),
    path("flags/", flag_views.flag_queue, name="flags"),
    path("flags/<int:tender_id>/", flag_views.flag_detail, name="flag_detail"),
    path("flags/<int:tender_id>/case/", flag_views.case_open, name="case_open"),
    path("flags/<int:tender_id>/case/<int:case_id>/decide/", flag_views.case_decide,
         name="case_decide"),
    path("network/", flag_views.network_page, name="network"),
]
