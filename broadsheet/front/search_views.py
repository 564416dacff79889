"""The /search page. Thin: parse the form, call search(), render. With `partial=1` it returns
only the results block, which the search-as-you-type script swaps in."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import render

from broadsheet.front.view_helpers import cards_context
from broadsheet.lib import limits
from broadsheet.search import search
from broadsheet.search.forms import SearchForm

PER_PAGE = 20
MAX_PAGE = 50  # search() ranks at most 1,000 candidates


SEARCHING_TOO_FAST = "You are searching faster than this site allows."


def search_limit() -> limits.Limit:
    """Searches per member, or per client address for visitors: the page (also as you type)
    and the search feeds spend from one allowance."""
    return limits.Limit("search", settings.SEARCHES_PER_MINUTE, 60)


def _page_number(raw: str | None) -> int:
    try:
        return min(max(int(raw or 1), 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


def shown_range(result) -> tuple[int, int] | None:
    """The ranks of the first and last hit on this page (1-based), or None without hits."""
    if result is None or not result.hits:
        return None
    return result.offset + 1, result.offset + len(result.hits)


def search_page(request):
    form = SearchForm(request.GET or None)
    form.is_valid()  # invalid filter fields are dropped, the rest still searches
    query = form.cleaned_data.get("q", "") if form.is_bound else ""
    filters = form.filters()
    page = _page_number(request.GET.get("page"))
    result = None
    if query or filters:
        try:
            limits.spend(search_limit(), limits.client_key(request), SEARCHING_TOO_FAST)
        except limits.RateLimited as e:
            return limits.too_many_page(request, str(e), e.retry_after)
        result = search(query, filters, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    params = {k: v for k, v in request.GET.items() if k in form.fields and v}

    def page_url(n: int) -> str:
        return "?" + urlencode({**params, "page": n})

    context = {
        "form": form,
        "query": query,
        "result": result,
        "page": page,
        "rank_offset": (page - 1) * PER_PAGE,
        "shown": shown_range(result),
        "prev_url": page_url(page - 1) if result and page > 1 else None,
        "next_url": page_url(page + 1) if result and result.has_next and page < MAX_PAGE else None,
        "show_filters": bool(filters) or bool(form.errors),
    }
    if result is not None:  # the "Save" menus of the hits, in one query
        context.update(cards_context(request.user, [hit.paper for hit in result.hits]))
    template = "search/_results.html" if request.GET.get("partial") else "search/search.html"
    return render(request, template, context)
