"""URLs of the digests app, included at the site root."""

from __future__ import annotations

from django.urls import include, path

from broadsheet.digests import views

pages = [
    path("digests/subscribe", views.subscribe_page, name="subscribe"),
    path("digests/confirm/<str:token>", views.confirm_page, name="confirm"),
    path("digests/unsubscribe/<str:token>", views.unsubscribe_page, name="unsubscribe"),
    path("digests/manage/<str:token>", views.manage_page, name="manage"),
    path("digests/preview", views.preview_page, name="preview"),
    path("digests/saved-searches", views.save_search, name="save-search"),
    path(
        "digests/saved-searches/<int:saved_id>/delete",
        views.delete_saved_search,
        name="delete-saved-search",
    ),
    path("settings/digest", views.settings_page, name="settings"),
    path("settings/digest/subscribe", views.subscribe_member, name="subscribe-member"),
]

# The saved searches' feeds are in broadsheet.front.saved_search_feeds.
urlpatterns = [path("", include((pages, "digests")))]
