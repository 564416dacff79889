"""Interactive API documentation (Swagger UI) at /api/docs.

With "ninja" in INSTALLED_APPS the page loads Swagger UI from our own static files; without
it, django-ninja falls back to a CDN, which a self-hosted site should not depend on.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from broadsheet.api.v1.api import api


@require_safe
def docs(request: HttpRequest) -> HttpResponse:
    return api.docs.render_page(request, api)
