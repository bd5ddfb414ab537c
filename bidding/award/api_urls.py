from django.urls import path

from . import api

app_name = "award_api"
T = "tenders/<str:tender_id>/award/"
urlpatterns = [
    path(T + "publicity/", api.PublicityApi.as_view(), name="publicity"),
    path(T + "objections/", api.ObjectionsApi.as_view(), name="objections"),
    path(T + "objections/<str:objection_id>/answer/", api.ObjectionAnswerApi.as_view(),
         name="objection-answer"),
    path(T + "direct/", api.direct, name="direct"),
    path(T + "start/", api.start, name="start"),
    path(T + "committee/appoint/", api.appoint, name="appoint"),
    path(T + "committee/draw/commit/", api.draw_commit, name="draw-commit"),
    path(T + "committee/draw/input/", api.draw_input, name="draw-input"),
    path(T + "vote/", api.vote, name="vote"),
    path(T + "lottery/commit/", api.lottery_commit, name="lottery-commit"),
    path(T + "lottery/draw/", api.lottery_draw, name="lottery-draw"),
    path(T + "opinions/", api.opinion, name="opinion"),
    path(T + "decide/", api.decide, name="decide"),
    path(T + "price-competition/", api.price_competition, name="price-competition"),
    path(T + "price-round/", api.PriceRoundApi.as_view(), name="price-round"),
    path(T + "price-round/offer/", api.price_offer, name="price-round-offer"),
    path(T + "price-round/mine/", api.PriceRoundMineApi.as_view(), name="price-round-mine"),
    path(T + "price-round/decrypt/", api.price_decrypt, name="price-round-decrypt"),
    path(T + "price-round/share/", api.price_share, name="price-round-share"),
    path(T + "decision/", api.DecisionApi.as_view(), name="decision"),
    path(T + "verify/", api.VerifyApi.as_view(), name="verify"),
    path(T + "report.pdf", api.ReportPdfApi.as_view(), name="report"),
    path(T + "notices/", api.notices, name="notices"),
    path(T + "notice.pdf", api.MyNoticeApi.as_view(), name="my-notice"),
    path(T + "supervisor-report/", api.supervisor_report, name="supervisor-report"),
    path(T + "contract/", api.ContractApi.as_view(), name="contract"),
    path(T + "contract/amend/", api.ContractAmendApi.as_view(), name="contract-amend"),
    path(T + "contract/message/", api.ContractMessageApi.as_view(), name="contract-message"),
    path(T + "contract/sign/", api.ContractSignApi.as_view(), name="contract-sign"),
    path(T + "contract/payments/", api.PaymentsApi.as_view(), name="payments"),
    path("award/overdue/", api.OverdueApi.as_view(), name="overdue"),
    path("award/pool/", api.PoolApi.as_view(), name="pool"),
]
