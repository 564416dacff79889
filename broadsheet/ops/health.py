"""/healthz and /readyz for load balancers and orchestrators, and the 503 a visitor sees while
the database is unreachable.

/healthz says the process answers (it touches nothing else): restart the process when it fails.
/readyz says this server can serve: the database answers, every migration is applied, the
search index generation loads, and (when BROADSHEET_READYZ_REQUIRE_WORKER=true) a worker beat
recently. Take the server out of rotation while it fails. Both answer JSON, never cached.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.defaults import server_error

Check = Callable[[], str]  # returns a detail when fine, raises CheckFailed when not


class CheckFailed(Exception):
    pass


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


_migrations_done = False


def check_migrations() -> str:
    # Once applied they stay applied for this process's code, so the graph is loaded once.
    global _migrations_done
    if not _migrations_done:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
            raise CheckFailed(
                f"{len(plan)} migrations not applied ({names}); run `broadsheet migrate`"
            )
        _migrations_done = True
    return "all applied"


def check_search_index() -> str:
    from broadsheet.search.backends import get_backend
    from broadsheet.search.backends.protocol import IndexProblem

    try:
        return get_backend().health()
    except IndexProblem as e:
        raise CheckFailed(str(e)) from None


def check_worker() -> str:
    from broadsheet.lib.jobs import latest_beat

    hb = latest_beat("worker")
    max_age = dt.timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)
    if hb is None:
        detail = "no worker has ever run"
    else:
        age = (timezone.now() - hb.beat_at).total_seconds()
        detail = f"{hb.name} beat {age:.0f} s ago"
        if age <= max_age.total_seconds():
            return detail
    if settings.READYZ_REQUIRE_WORKER:
        raise CheckFailed(f"{detail} (stale after {max_age.total_seconds():.0f} s)")
    return detail + " (not required)"


READY_CHECKS: list[tuple[str, Check]] = [
    ("database", check_database),
    ("migrations", check_migrations),
    ("search_index", check_search_index),
    ("worker", check_worker),
]


def run_checks() -> tuple[bool, dict[str, dict]]:
    results: dict[str, dict] = {}
    ok = True
    for name, check in READY_CHECKS:
        try:
            results[name] = {"ok": True, "detail": check()}
        except CheckFailed as e:
            results[name] = {"ok": False, "detail": str(e)}
        except Exception as e:  # a check that cannot even run is a failed check, not a 500
            results[name] = {"ok": False, "detail": f"{type(e).__name__}: {e}"}
        if not results[name]["ok"]:
            ok = False
            if name == "database":  # the other checks would only repeat its error
                break
    return ok, results


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    ok, results = run_checks()
    return JsonResponse({"ready": ok, "checks": results}, status=200 if ok else 503)


def server_error_view(request: HttpRequest) -> HttpResponse:
    """Django's handler500, which runs inside the `except` of the failed request. A database
    that cannot be reached, is locked, full or read-only is a 503 with Retry-After: the
    request changed nothing, and the site recovers by itself once the database is back
    (connections are health-checked). Anything else is the usual 500 page."""
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"error": "the database is unavailable; try again shortly"}, status=503
            )
        else:
            response = HttpResponse(render_to_string("ops/503.html"), status=503)
        response["Retry-After"] = "5"
        return response
    return server_error(request)
