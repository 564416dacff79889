"""The site's URLs plus views that fail on purpose, to show the error pages (tests only)."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.urls import path

from broadsheet.urls import handler500
from broadsheet.urls import urlpatterns as site_urlpatterns


def server(request):
    raise RuntimeError("a bug")


def forbidden(request):
    raise PermissionDenied


def bad_request(request):
    raise SuspiciousOperation("a malformed request")


def database(request):
    raise OperationalError("the database is unreachable")


urlpatterns = [
    path("fail/server", server),
    path("fail/forbidden", forbidden),
    path("fail/bad-request", bad_request),
    path("fail/database", database),
    *site_urlpatterns,
]
__all__ = ["handler500", "urlpatterns"]
