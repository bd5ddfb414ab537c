from django.urls import path

from . import case_views, flag_views, views

app_name = "supervision"
urlpatterns = [
    path("audit/", views.audit_trail, name="audit"),
    path("audit/verify/", views.audit_verify_page, name="audit_verify"),
    path("audit/checkpoints/", views.audit_checkpoints, name="audit_checkpoints"),
    path("flags/", flag_views.flag_queue, name="flags"),
    path("flags/<int:tender_id>/", flag_views.flag_detail, name="flag_detail"),
    path("flags/<int:tender_id>/case/", flag_views.case_open, name="case_open"),
    path("flags/<int:tender_id>/case/<int:case_id>/decide/", flag_views.case_decide,
         name="case_decide"),
    path("network/", flag_views.network_page, name="network"),
    # Cases (立案) from every source.
    path("cases/", case_views.case_list, name="cases"),
    path("cases/<int:case_id>/", case_views.case_detail, name="case_detail"),
    path("cases/<int:case_id>/subject/", case_views.case_subject, name="case_subject"),
    path("cases/<int:case_id>/evidence/", case_views.case_evidence, name="case_evidence"),
    path("cases/<int:case_id>/step/", case_views.case_step, name="case_step"),
    path("cases/<int:case_id>/findings/", case_views.case_findings, name="case_findings"),
    path("cases/<int:case_id>/decision/", case_views.case_decision, name="case_decision"),
    path("cases/<int:case_id>/decision.pdf", case_views.case_decision_pdf,
         name="case_decision_pdf"),
    path("records/<str:code>/", case_views.party_record, name="party_record"),
]
