"""URLs of the API app. Included at the site root, before the /papers/... catch-alls."""

from __future__ import annotations

from django.urls import path, re_path

from broadsheet.api import hf_views, private, token_views
from broadsheet.api.v1.api import api
from broadsheet.api.v1.docs import docs

urlpatterns = [
    path("api/daily_papers", hf_views.daily_papers, name="hf-daily-papers"),
    path("api/papers/search", hf_views.search, name="hf-search"),
    # Paper ids may hold a slash (hep-th/9901001).
    re_path(r"^api/papers/(?P<ref>.+)$", hf_views.paper, name="hf-paper"),
    path("api/v1/", api.urls),
    path("api/docs", docs, name="api-docs"),
    # Anything else under /api/ (including ids no route pattern matches, e.g. with a newline)
    # is a JSON 404, never the HTML error page.
    re_path(r"^api/", hf_views.not_found),
    path("robots.txt", private.robots, name="robots"),
    path("settings/tokens", token_views.tokens, name="api-tokens"),
    path("settings/tokens/<int:token_id>/revoke", token_views.revoke, name="api-token-revoke"),
]
