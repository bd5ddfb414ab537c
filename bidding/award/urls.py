from django.urls import path

from . import contract_views, views

app_name = "award"
urlpatterns = [
    path("award/<str:tender_id>/", views.award_page, name="page"),
    path("award/<str:tender_id>/objections/", views.objection_raise, name="objection"),
    path("award/<str:tender_id>/objections/<str:objection_id>/answer/", views.objection_answer,
         name="answer"),
    path("award/<str:tender_id>/vote/", views.vote, name="vote"),
    path("award/<str:tender_id>/opinion/", views.opinion, name="opinion"),
    path("award/<str:tender_id>/decide/", views.decide, name="decide"),
    # -- contract pages (H8, signing): contract_views.py --
    path("award/<str:tender_id>/contract/", contract_views.contract_page, name="contract"),
    path("award/<str:tender_id>/contract/<int:number>/sign/", contract_views.contract_sign,
         name="contract_sign"),
    # -- end of contract pages --
]
