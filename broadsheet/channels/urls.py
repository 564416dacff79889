"""URLs of the channels app, included at the site root."""

from __future__ import annotations

from django.urls import include, path

from broadsheet.channels import views

pages = [
    path("settings/channels", views.mine, name="mine"),
    path("settings/channels/site", views.site, name="site"),
    path("settings/channels/<int:channel_id>", views.edit, name="edit"),
    path("settings/channels/<int:channel_id>/test", views.test_send, name="test"),
    path("settings/channels/<int:channel_id>/delete", views.delete, name="delete"),
]

urlpatterns = [path("", include((pages, "channels")))]
