from django.urls import path

from bidding.tenders import views

app_name = "tenders"
urlpatterns = [
    path("", views.tender_list, name="tender_list"),
    path("tenders/new/", views.tender_create, name="tender_create"),
    path("tenders/<str:tender_id>/", views.tender_detail, name="tender_detail"),
    path("tenders/<str:tender_id>/edit/", views.tender_edit, name="tender_edit"),
    path("tenders/<str:tender_id>/publish/", views.tender_publish, name="tender_publish"),
    path("tenders/<str:tender_id>/documents/", views.document_upload, name="document_upload"),
    path(
        "tenders/<str:tender_id>/documents/<int:document_id>/remove/",
        views.document_remove,
        name="document_remove",
    ),
    path("tenders/<str:tender_id>/obtain/", views.tender_obtain, name="tender_obtain"),
    path("tenders/<str:tender_id>/register/", views.tender_register, name="tender_register"),
    path("tenders/<str:tender_id>/questions/", views.clarification_ask, name="clarification_ask"),
    path(
        "tenders/<str:tender_id>/questions/<int:clarification_id>/answer/",
        views.clarification_answer,
        name="clarification_answer",
    ),
    path("tenders/<str:tender_id>/amend/", views.amendment_create, name="amendment_create"),
    path("tenders/<str:tender_id>/cancel/", views.tender_cancel, name="tender_cancel"),
    path("tenders/<str:tender_id>/suspend/", views.tender_suspend, name="tender_suspend"),
    path("tenders/<str:tender_id>/resume/", views.tender_resume, name="tender_resume"),
]
