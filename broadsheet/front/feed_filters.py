"""Which filter a feed page shows (papers/filters.py): the URL's, else the member's default,
and saving or clearing that default ("make this my default", a POST from the filter form).

`?all=1` asks for the page unfiltered although the member has a default; links on the page
(pagination, other days) carry the choice on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from broadsheet.papers.filters import FilterError, PaperFilter

SHOW_ALL = "all"


@dataclass(frozen=True)
class Chosen:
    filter: PaperFilter
    from_default: bool = False  # the member's default: the URL named no filter
    error: str = ""  # why the URL's filter was refused (the page is then a 400, unfiltered)
    in_url: bool = False  # the URL said which filter (perhaps none: `all=1`)

    @property
    def query(self) -> str:
        """URL parameters that keep this choice in the page's links ("" for none)."""
        if not self.in_url or self.error:
            return ""  # no choice, or the member's default, which applies again by itself
        return self.filter.to_string() or f"{SHOW_ALL}=1"


def chosen_filter(request: HttpRequest) -> Chosen:
    if PaperFilter.given(request.GET) or SHOW_ALL in request.GET:
        try:
            return Chosen(PaperFilter.from_query(request.GET), in_url=True)
        except FilterError as e:
            return Chosen(PaperFilter(), error=str(e), in_url=True)
    saved = getattr(request.user, "feed_filter", "")  # on the member row: no query of its own
    if saved:
        try:
            return Chosen(PaperFilter.from_string(saved), from_default=True)
        except FilterError:
            pass  # a default saved under older rules: ignored, as if there were none
    return Chosen(PaperFilter())


def form_context(request: HttpRequest, chosen: Chosen) -> dict:
    """What the filter form shows: the values in force, and the links around it."""
    f = chosen.filter
    if chosen.error:  # the values as typed, so they can be corrected
        values = {
            "cat": " ".join(request.GET.getlist("cat"))[:400],
            "code": request.GET.get("code", "") not in ("", "0"),
            "include": request.GET.get("include", "")[:400],
            "exclude": request.GET.get("exclude", "")[:400],
        }
    else:
        values = {
            "cat": " ".join(f.categories),
            "code": f.has_code,
            "include": ", ".join(f.include),
            "exclude": ", ".join(f.exclude),
        }
    return {
        "filter_values": values,
        "filter": f,
        "filter_from_default": chosen.from_default,
        "filter_error": chosen.error,
        "filter_query": chosen.query,
        "show_all_url": f"{request.path}?{SHOW_ALL}=1",
        "clear_url": request.path,
        "filter_open": bool(f) or bool(chosen.error),
    }


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_POST
@login_required
def save_default(request: HttpRequest) -> HttpResponse:
    """Save the posted filter as the member's default, or clear it (an empty filter, or
    `clear`). A bad value is a 400 with its message; nothing is stored then."""
    try:
        f = PaperFilter() if "clear" in request.POST else PaperFilter.from_query(request.POST)
    except FilterError as e:
        return HttpResponse(
            f"Your default filter was not saved: {e}", status=400, content_type="text/plain"
        )
    back = _back(request).split("?", 1)[0]
    request.user.feed_filter = f.to_string()
    request.user.save(update_fields=["feed_filter"])
    if f:
        messages.success(request, f"Feed pages now show {f.describe()} unless you choose.")
    else:
        messages.success(request, "Feed pages show every paper again.")
    return redirect(back)
