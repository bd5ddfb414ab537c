from django.urls import path

from . import api

urlpatterns = [
    path("tenders/<str:tender_id>/expert-draw/", api.TenderDrawApi.as_view()),
    path("expert-draws/<int:draw_id>/", api.DrawApi.as_view()),
    path("expert-draws/<int:draw_id>/verify/", api.DrawVerifyApi.as_view()),
    path("expert-draws/<int:draw_id>/beacon/", api.BeaconApi.as_view()),
    path("expert-draws/<int:draw_id>/abandon/", api.DrawAbandonApi.as_view()),
    path("experts/me/seats/", api.MySeatsApi.as_view()),
    path("experts/me/seats/<int:member_id>/", api.SeatApi.as_view()),
]
