"""Generated input at every URL the resolver knows: never a 5xx (bar /readyz's documented 503).

The routes come from Django's URL resolver, so a new URL is fuzzed without editing this file.
Each route gets path parameters (real ids of the objects below, hostile strings, and strings
its own pattern generates), GET query parameters and, logged in as a moderator with a real
CSRF token, POSTed forms. Parameter names are every form field of the project and every name
its views read from request.GET/POST. tests/api/test_openapi_fuzz.py fuzzes /api/v1/ against
its schema; here the API gets the same hostile values without a schema's help.
Bounded: a few examples per route, the same ones every run (derandomized).
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import sys
import threading
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from django import forms
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import get_resolver
from factories import list_paper, make_comment, make_paper, make_user
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import broadsheet
from broadsheet.digests.subscribe import save_search
from broadsheet.papers.authors import author_slug

EXAMPLES = 4
# Django's admin is Django's code (and a moderator is no superuser): a glance at each page,
# all in one test (one set of objects made, not seventy).
ADMIN_EXAMPLES = 1
# The one documented 5xx: /readyz says "not ready" with a 503 (see broadsheet/ops/health.py).
ALLOWED_5XX = {"readyz": {503}}


@dataclass(frozen=True)
class Route:
    path_format: str  # "papers/%(ref)s"
    params: tuple[str, ...]
    regex: str  # the whole path's pattern, without the leading slash
    module: str = ""  # of the view, when known: the parameter names it reads are looked up there

    @property
    def name(self) -> str:
        return self.path_format or "(root)"


def _literal(prefix: str) -> str:
    return re.sub(r"\\(.)", r"\1", prefix.lstrip("^"))


def _routes(resolver=None, fmt_prefix: str = "", regex_prefix: str = "") -> list[Route]:
    """Every endpoint, as Django's reverse() sees it, namespaced includes too."""
    resolver = resolver or get_resolver()
    found = []
    for key, entries in resolver.reverse_dict.lists():
        view = inspect.unwrap(key) if callable(key) else None
        module = getattr(view, "__module__", None) or type(view).__module__ if view else ""
        for possibilities, pattern, _defaults, _converters in entries:
            for path_format, params in possibilities:
                route = Route(fmt_prefix + path_format, tuple(params), regex_prefix + pattern)
                found.append(replace(route, module=module))
    for prefix, sub in resolver.namespace_dict.values():
        found += _routes(sub, fmt_prefix + _literal(prefix), regex_prefix + prefix.lstrip("^"))
    unique: dict[tuple[str, str], Route] = {}
    for route in found:  # keyed by name and by view: keep the one that knows its view
        key = (route.path_format, route.regex)
        if key not in unique or route.module:
            unique[key] = route
    return sorted(unique.values(), key=lambda r: (r.path_format, r.regex))


_READ = re.compile(r"(?:GET|POST)(?:\.get|\.getlist)?[\[(]\s*\"([\w-]+)\"")


def _project_forms(cls=forms.BaseForm) -> list[type[forms.BaseForm]]:
    found = []
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("broadsheet"):
            found.append(sub)
        found += _project_forms(sub)
    return found


def _names_in(source: str) -> set[str]:
    """Names a module reads from request.GET/POST, and the fields of the forms it names."""
    names = set(_READ.findall(source))
    for form in _project_forms():
        if re.search(rf"\b{form.__name__}\b", source):
            names.update(form.base_fields)
    return names


def names_of(route: Route) -> list[str]:
    module = sys.modules.get(route.module)
    if module is None or not route.module.startswith("broadsheet"):
        return []
    return sorted(_names_in(inspect.getsource(module)))


def _names_read_by_views() -> list[str]:
    """Names the views read from request.GET/POST, and every form field of the project."""
    source = "\n".join(p.read_text() for p in Path(broadsheet.__file__).parent.rglob("*.py"))
    names = _names_in(source)
    # The HF-compatible and /api/v1/ query parameters.
    names.update({"p", "limit", "offset", "after", "before", "category", "listed", "sort"})
    return sorted(names)


ROUTES = _routes()
PARAM_NAMES = _names_read_by_views()

CONTROL = st.characters(codec="utf-8", categories=("Cc",))
HOSTILE_TEXT = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=30),  # any unicode but surrogates
    st.text(CONTROL, min_size=1, max_size=5),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(
        [
            "9999-12-31", "0001-01-01", "0000-00-00", "9999", "10000-01-01", "-1", "0",
            "2026-W53", "9999-W53", "0000-W00", "9999-12", "2026-13", "1e308", "NaN", "inf",
            "' OR 1=1 --", '"; DROP TABLE papers_paper; --', "%", "_", "\\", "%00", "\x00",
            "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "../../etc/passwd",
            "before:9999", "after:0001 before:9999-12-31", "author:a OR author:b OR author:c",
            "a OR " * 40, "x" * 400, "true", "false", "[]", "{}", "//evil.example/",
            "https://evil.example/", "javascript:alert(1)", "cs.LG}", "ü" * 60,
        ]
    ),
)  # fmt: skip


# Tried at once in every parameter a route's view reads, before the generated cases: the
# values behind past 500s (dates at the calendar's ends, huge numbers, NUL, query syntax).
NASTY = [
    "9999-12-31", "0001-01-01", "9999", "-1", "99999999999999999999", "1e308", "\x00",
    "\x01\x7f\u2028", "before:9999 after:0001", " OR ".join(["author:a"] * 12), "' OR 1=1 --",
    "<svg onload=alert(1)>",
]  # fmt: skip


class _NoOutsideWorld(BaseHTTPRequestHandler):
    """Stands in for arXiv and Hugging Face: nothing is found there."""

    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def outside_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoOutsideWorld)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def outside(settings, outside_server):
    settings.ARXIV_API_URL = f"{outside_server}/api/query"
    settings.ARXIV_OAI_URL = f"{outside_server}/oai"
    settings.HF_ENDPOINT = outside_server
    settings.ZOTERO_API_URL = outside_server


@pytest.fixture
def world(db, moderator, outside) -> dict[str, list[str]]:
    """A few real objects, and the path parameter values that name them."""
    from broadsheet.papers.models import Collection

    ada = make_user("ada")
    paper = make_paper(
        "Sparse attention", arxiv_id="2606.00001", authors=["Ada Lovelace"],
        categories=["cs.LG"], primary_category="cs.LG",
        published_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
    )  # fmt: skip
    other = make_paper("No id", slug="no-id")
    list_paper(paper, dt.date(2026, 6, 23), submitted_by=ada)
    comment = make_comment(paper, ada)
    collection = Collection.objects.create(owner=moderator, name="Reading")
    saved, _ = save_search(moderator, "sparse")
    author = paper.authorships.get().author
    ids = [str(x) for x in (paper.pk, comment.pk, collection.pk, ada.pk, moderator.pk)]
    return {
        "ref": ["2606.00001", "2606.00001v2", "no-id", other.slug],
        "pk": ids,
        "token_id": ids,
        "slug": [author_slug(author)],
        "username": ["ada", "mod"],
        "date": ["2026-06-23", "2026-06-22"],
        "week": ["2026-W26"],
        "month": ["2026-06"],
        "category": ["cs.LG", "cs"],
        "token": [saved.feed_token],
    }


@st.composite
def paths(draw, route: Route, known: dict[str, list[str]]) -> str:
    values = {}
    for name in route.params:
        choices = [st.sampled_from(known[name])] if name in known else []
        values[name] = draw(st.one_of(*choices, HOSTILE_TEXT))
    path = route.path_format % {k: quote(v, safe="") for k, v in values.items()}
    raw = route.path_format % values
    if values and not re.fullmatch(route.regex, raw):
        # The values do not fit the pattern (it would be a plain 404): take one it generates.
        path = quote(draw(st.from_regex(route.regex, fullmatch=True)), safe="/")
    return "/" + path


ADMIN = [r for r in ROUTES if r.path_format.startswith("admin/")]


@pytest.mark.parametrize("route", [r for r in ROUTES if r not in ADMIN], ids=lambda r: r.name)
def test_generated_input_is_never_a_server_error(route: Route, world, moderator):
    fuzz(route, world, moderator, EXAMPLES)


def test_generated_input_to_the_admin_is_never_a_server_error(world, moderator):
    for route in ADMIN:
        fuzz(route, world, moderator, ADMIN_EXAMPLES)


def fuzz(route: Route, world: dict[str, list[str]], moderator, examples: int) -> None:
    anonymous = Client(raise_request_exception=False)
    member = Client(enforce_csrf_checks=True, raise_request_exception=False)
    member.force_login(moderator)
    csrf = _get_new_csrf_string()
    member.cookies["csrftoken"] = csrf
    allowed = ALLOWED_5XX.get(route.path_format, set())
    own = names_of(route)
    names = st.sampled_from(PARAM_NAMES)
    fields = st.dictionaries(
        st.sampled_from(own) | names if own else names, HOSTILE_TEXT, max_size=4
    )

    def answered(method: str, path: str, data: dict) -> None:
        if method == "GET anonymous":
            response = anonymous.get(path, data)
        elif method == "GET member":
            response = member.get(path, data)
        else:
            response = member.post(path, data, HTTP_X_CSRFTOKEN=csrf)
            assert response.status_code != 403 or b"CSRF" not in response.content
        status = response.status_code
        assert status < 500 or status in allowed, (method, path, data, status)

    if own and all(k in world for k in route.params):
        path = "/" + route.path_format % {k: quote(world[k][0], safe="") for k in route.params}
        for value in NASTY:
            for method in ("GET member", "POST member"):
                answered(method, path, dict.fromkeys(own, value))

    @given(data=st.data())
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(data) -> None:
        path = data.draw(paths(route, world), label="path")
        method = data.draw(st.sampled_from(["GET anonymous", "GET member", "POST member"]))
        answered(method, path, data.draw(fields, label="parameters"))

    check()
