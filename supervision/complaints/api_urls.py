from django.urls import path

from . import api

app_name = "complaints_api"
urlpatterns = [
    path("complaints/", api.ComplaintsApi.as_view()),
    path("complaints/<int:pk>/", api.ComplaintApi.as_view()),
    path("complaints/<int:pk>/evidence/", api.EvidenceApi.as_view()),
    path("complaints/<int:pk>/evidence/<int:evidence_id>/", api.EvidenceFileApi.as_view()),
    path("complaints/<int:pk>/letter.pdf", api.LetterApi.as_view()),
    path("complaints/<int:pk>/<slug:action>/", api.ComplaintActionApi.as_view()),
    path("objections/", api.ObjectionsApi.as_view()),
    path("objections/<int:pk>/answer/", api.ObjectionAnswerApi.as_view()),
    path("calendar/days/", api.CalendarDaysApi.as_view()),
    path("calendar/days/<str:day>/", api.CalendarDayApi.as_view()),
    path("calendar/<int:year>/", api.CalendarYearApi.as_view()),
    path("calendar/<int:year>/define/", api.CalendarDefineApi.as_view()),
]
