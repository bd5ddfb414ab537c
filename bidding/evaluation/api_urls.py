from django.urls import path

from . import api

app_name = "evaluation_api"

P = "tenders/<str:tender_id>/evaluation/"

urlpatterns = [
    path(P, api.EvaluationApi.as_view()),
    path(P + "progress/", api.ProgressApi.as_view()),
    path(P + "chair-votes/", api.ChairVoteApi.as_view()),
    path(P + "sheets/<str:stage>/", api.SheetApi.as_view()),
    path(P + "sheets/<str:stage>/submit/", api.SheetSubmitApi.as_view()),
    path(P + "stages/<str:stage>/scores/", api.StageScoresApi.as_view()),
    path(P + "stages/<str:stage>/lock/", api.StageLockApi.as_view()),
    path(P + "stages/<str:stage>/aggregation/", api.AggregationApi.as_view()),
    path(P + "replacements/", api.ReplaceApi.as_view()),
    path(P + "clarifications/", api.ClarificationsApi.as_view()),
    path(P + "clarifications/<int:clarification_id>/answer/",
         api.ClarificationAnswerApi.as_view()),
    path(P + "report/", api.ReportApi.as_view()),
    path(P + "report.pdf", api.ReportPdfApi.as_view()),
    path(P + "report/sign/", api.ReportSignApi.as_view()),
    path(P + "report/refuse/", api.ReportRefuseApi.as_view()),
    path(P + "report/close/", api.ReportCloseApi.as_view()),
]
