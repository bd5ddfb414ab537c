from django.urls import path

from . import api

app_name = "inspections_api"
urlpatterns = [
    # Public (一公开): plans with their draw proofs, published results, verification.
    path("inspections/plans/", api.PublicPlansApi.as_view(), name="plans"),
    path("inspections/results/", api.PublicResultsApi.as_view(), name="results"),
    path("inspections/rounds/<int:round_id>/verify/", api.RoundVerifyApi.as_view(),
         name="round-verify"),
    # Supervisors: the shared registers (matters and checklists, inspectors, parties).
    path("inspections/matters/", api.MattersApi.as_view(), name="matters"),
    path("inspections/inspectors/", api.InspectorsApi.as_view(), name="inspectors"),
    path("inspections/inspectors/<int:inspector_id>/active/",
         api.InspectorActiveApi.as_view(), name="inspector-active"),
    path("inspections/parties/", api.PartiesApi.as_view(), name="parties"),
    path("inspections/parties/sync/", api.PartiesSyncApi.as_view(), name="parties-sync"),
    # Supervisors and inspectors.
    path("inspections/plans/<int:plan_id>/rounds/", api.RoundCommitApi.as_view(),
         name="round-commit"),
    path("inspections/rounds/<int:round_id>/draw/", api.RoundDrawApi.as_view(),
         name="round-draw"),
    path("inspections/<int:inspection_id>/findings/", api.FindingApi.as_view(),
         name="finding"),
    path("inspections/<int:inspection_id>/conclude/", api.ConcludeApi.as_view(),
         name="conclude"),
    path("inspections/findings/<int:finding_id>/case/", api.FindingCaseApi.as_view(),
         name="finding-case"),
    path("inspections/spot-checks/", api.SpotCheckCommitApi.as_view(), name="spot-commit"),
    path("inspections/spot-checks/<int:spot_check_id>/draw/", api.SpotCheckDrawApi.as_view(),
         name="spot-draw"),
    path("inspections/spot-checks/<int:spot_check_id>/ratings/",
         api.SpotCheckRateApi.as_view(), name="spot-rate"),
    # Filings (备案).
    path("filings/tenders/<int:tender_id>/", api.FilingSubmitApi.as_view(),
         name="filing-submit"),
    path("filings/<int:filing_id>/answer/", api.FilingAnswerApi.as_view(),
         name="filing-answer"),
]
