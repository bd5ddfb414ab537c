from django.urls import path

from . import views

app_name = "inspections"
urlpatterns = [
    path("inspections/", views.public_index, name="public"),
    path("inspections/plans/<int:plan_id>/", views.public_plan, name="plan"),
    path("inspections/inspection/<int:inspection_id>/", views.inspection_detail,
         name="inspection"),
    path("inspections/manage/", views.plans_admin, name="manage"),
    path("filings/", views.filings, name="filings"),
]
