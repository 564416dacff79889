from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from broadsheet.accounts import views as accounts
from broadsheet.accounts.forms import LoginForm, ResetForm
from broadsheet.front import feed_filters, formats, icon_views, submit_views, thumbnail_views
from broadsheet.front import feed_views as feed
from broadsheet.front import paper_views as paper
from broadsheet.lib.mail_limits import limit_posts
from broadsheet.ops import health
from broadsheet.ops import views as ops

admin.site.site_header = "Broadsheet moderation"

urlpatterns = [
    path("", feed.home, name="home"),
    re_path(r"^papers/date/(?P<date>[^/]+)$", feed.by_date, name="day"),
    re_path(r"^papers/week/(?P<week>[^/]+)$", feed.by_week, name="week"),
    re_path(r"^papers/month/(?P<month>[^/]+)$", feed.by_month, name="month"),
    path("papers/trending", feed.trending, name="trending"),
    path("papers/filter/default", feed_filters.save_default, name="default-filter"),
    path("submit", submit_views.submit_page, name="submit"),
    path("thumbnails/<int:paper_id>.webp", thumbnail_views.thumbnail, name="thumbnail"),
    path("", include("broadsheet.front.personal_urls")),
    path("", include("broadsheet.library.urls")),
    path("", include("broadsheet.api.urls")),
    path("feeds/", include("broadsheet.front.feeds")),
    # Paper ids may hold a slash (old-style arXiv ids such as hep-th/9901001).
    re_path(r"^papers/(?P<ref>.+)\.bib$", paper.paper_bib, name="paper-bib"),
    re_path(r"^papers/(?P<ref>.+)\.md$", formats.paper_md, name="paper-md"),
    re_path(r"^papers/(?P<ref>.+)/upvote$", paper.upvote, name="upvote"),
    re_path(r"^papers/(?P<ref>.+)/comment$", paper.comment, name="comment"),
    re_path(r"^papers/(?P<ref>.+)/links$", paper.edit_links, name="paper-links"),
    re_path(r"^papers/(?P<ref>.+)$", paper.paper_page, name="paper"),
    path("u/<str:username>", accounts.profile, name="profile"),
    path("", include("broadsheet.accounts.sso")),
    path("", include("broadsheet.front.invitation_views")),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/signup/confirm/<str:token>", accounts.signup_confirm, name="signup-confirm"),
    path(
        "accounts/login/",
        # Without django.contrib.sites, Django would name the site by the request's host.
        auth_views.LoginView.as_view(
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
            extra_context={"site_name": settings.SITE_NAME},
        ),
        name="login",
    ),
    path(
        "accounts/password_reset/",
        # Without django.contrib.sites, Django would name the site by its host in the email.
        limit_posts("password-reset")(
            auth_views.PasswordResetView.as_view(
                form_class=ResetForm, extra_email_context={"site_name": settings.SITE_NAME}
            )
        ),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("broadsheet.front.search_urls")),
    path("favicon.ico", icon_views.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/status/", ops.status_page, name="status"),
    path("", include("broadsheet.front.community_urls")),
    path("", include("broadsheet.digests.urls")),
    path("", include("broadsheet.channels.urls")),
    # Outside the digests namespace, beside the other feeds' names.
    path("", include("broadsheet.front.saved_search_feeds")),
    path("admin/", admin.site.urls),
]
handler500 = "broadsheet.ops.health.server_error_view"
