"""Invitations, single sign-on and robots.txt, included at the site root."""

from __future__ import annotations

from django.urls import include, path

from broadsheet.accounts import invitation_views, private, sso

urlpatterns = [
    path("accounts/invitation/<str:secret>", invitation_views.accept, name="invitation"),
    path("moderation/invitations", invitation_views.invitation_list, name="invitations"),
    path(
        "moderation/invitations/<int:pk>/revoke",
        invitation_views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("robots.txt", private.robots, name="robots"),
    path("", include(sso.urlpatterns)),
]
