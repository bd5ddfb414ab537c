from django.urls import path

from . import views

app_name = "inspections"
urlpatterns = [
    path("inspections/", views.public_index, name="public"),
    path("inspections/plans/<int:plan_id>/", views.public_plan, name="plan"),
    path("inspections/inspection/<int:inspection_id>/", views.inspection_detail,
         name="inspection"),
    path("inspections/manage/", views.plans_admin, name="manage"),
    path("inspections/manage/matters/", views.matters_page, name="matters"),
    path("inspections/manage/inspectors/", views.inspectors_page, name="inspectors"),
    path("inspections/manage/parties/", views.parties_page, name="parties"),
    path("inspections/manage/plans/new/", views.plan_new, name="plan-new"),
    path("filings/", views.filings, name="filings"),
]
