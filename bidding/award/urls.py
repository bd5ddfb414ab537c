from django.urls import path

from . import views

app_name = "award"
urlpatterns = [
    path("award/<str:tender_id>/", views.award_page, name="page"),
    path("award/<str:tender_id>/objections/", views.objection_raise, name="objection"),
    path("award/<str:tender_id>/objections/<str:objection_id>/answer/", views.objection_answer,
         name="answer"),
    path("award/<str:tender_id>/vote/", views.vote, name="vote"),
    path("award/<str:tender_id>/opinion/", views.opinion, name="opinion"),
    path("award/<str:tender_id>/decide/", views.decide, name="decide"),
]
