"""Comments, author pages, moderation and statistics."""

from django.urls import path, re_path

from broadsheet.front import author_views, comment_views, moderation_views, stats_views

urlpatterns = [
    path("comments/<int:pk>/edit", comment_views.edit_comment, name="comment-edit"),
    path("comments/<int:pk>/delete", comment_views.delete_comment, name="comment-delete"),
    path("comments/<int:pk>/report", comment_views.report, name="comment-report"),
    path("authors/<str:slug>", author_views.author_page, name="author"),
    path("authors/<str:slug>/claim", author_views.claim, name="author-claim"),
    path("moderation/", moderation_views.dashboard, name="moderation"),
    path("moderation/log", moderation_views.audit_log, name="moderation-log"),
    re_path(
        r"^moderation/(?P<kind>paper|listing|comment)/(?P<pk>\d+)/(?P<action>hide|unhide)$",
        moderation_views.set_hidden,
        name="moderate-hidden",
    ),
    re_path(
        r"^moderation/member/(?P<pk>\d+)/(?P<action>suspend|unsuspend)$",
        moderation_views.set_suspended,
        name="moderate-member",
    ),
    path(
        "moderation/comment/<int:pk>/dismiss-reports",
        moderation_views.dismiss_reports,
        name="moderate-dismiss",
    ),
    re_path(
        r"^moderation/claim/(?P<pk>\d+)/(?P<action>approve|reject)$",
        moderation_views.decide_claim,
        name="moderate-claim",
    ),
    path("stats", stats_views.stats_page, name="stats"),
]
