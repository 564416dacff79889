"""The admin status page: what operators check first when something looks wrong."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from broadsheet.lib import status
from broadsheet.ops.health import run_checks


@never_cache
@staff_member_required
def status_page(request: HttpRequest) -> HttpResponse:
    ready, checks = run_checks()
    context = {
        **admin.site.each_context(request),
        "title": "Site status",
        "ready": ready,
        "checks": checks,
        "sections": status.sections(),
    }
    return render(request, "ops/status.html", context)
