"""/favicon.ico, which browsers ask for on their own: a redirect to the static icon."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.utils.cache import patch_cache_control

ICON_REDIRECT_MAX_AGE = 24 * 3600


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    # Not a permanent redirect: the static file's name carries a hash of its content, which
    # changes with the icon; a day's caching spares a request per page view.
    response = HttpResponseRedirect(static("front/favicon.ico"))
    patch_cache_control(response, public=True, max_age=ICON_REDIRECT_MAX_AGE)
    return response
