from django.urls import path

from . import views

app_name = "expert_pool"

urlpatterns = [
    path("experts/me/", views.my_profile, name="me"),
    path("experts/seats/<int:member_id>/", views.seat, name="seat"),
    path("experts/pool/", views.pool, name="pool"),
    path("experts/pool/import/<int:batch_id>/", views.import_progress, name="import_progress"),
    path("experts/gateway/", views.gateway, name="gateway"),
    path("experts/draws/<int:draw_id>/", views.draw_detail, name="draw"),
    path("experts/draws/<int:draw_id>/record.pdf", views.draw_pdf, name="draw_pdf"),
    path("tenders/<int:tender_id>/experts/", views.tender_draw, name="tender_draw"),
]
