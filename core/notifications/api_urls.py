from django.urls import path

from . import api

urlpatterns = [
    path("notifications/", api.NotificationsApi.as_view(), name="api-notifications-inbox"),
    path("notifications/read-all/", api.NotificationReadAllApi.as_view(),
         name="api-notifications-read-all"),
    path("notifications/<int:notification_id>/read/", api.NotificationReadApi.as_view(),
         name="api-notification-read"),
    path("notifications/preferences/", api.NotificationPreferencesApi.as_view(),
         name="api-notification-preferences"),
]
