from django.urls import path

from . import views

app_name = "complaints"
urlpatterns = [
    path("complaints/", views.complaint_list, name="list"),
    path("complaints/mine/", views.complaint_mine, name="mine"),
    path("complaints/new/", views.complaint_new, name="new"),
    path("complaints/objections/", views.objections, name="objections"),
    path("complaints/calendar/", views.calendar_page, name="calendar"),
    path("complaints/calendar/<int:year>/", views.calendar_page, name="calendar_year"),
    path("complaints/<int:pk>/", views.complaint_detail, name="detail"),
    path("complaints/<int:pk>/letter.pdf", views.complaint_letter, name="letter"),
    path("complaints/<int:pk>/evidence/<int:evidence_id>/", views.complaint_evidence,
         name="evidence"),
    path("complaints/<int:pk>/<slug:action>/", views.complaint_act, name="act"),
]
