"""Submitting a paper by arXiv id or link: the rules, and the /submit page end to end."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from factories import PASSWORD, make_user

from broadsheet.ingest.http import FetchError
from broadsheet.ingest.records import PaperRecord
from broadsheet.ingest.submit import SubmitError, submit
from broadsheet.papers.models import Listing, Paper, Upvote

NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <opensearch:totalResults>1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/abs/2611.04321v2</id>
    <updated>2026-11-18T10:00:00Z</updated>
    <published>2026-11-17T18:00:00Z</published>
    <title>Sparse Autoencoders
      Find Interpretable Features</title>
    <summary>We train sparse autoencoders. Code: https://github.com/example/sae.</summary>
    <author><name>Ada Lovelace</name></author>
    <author><name>Alan Turing</name></author>
    <arxiv:primary_category term="cs.LG"/>
    <category term="cs.LG"/><category term="cs.AI"/>
    <link title="pdf" href="http://arxiv.org/pdf/2611.04321v2"/>
  </entry>
</feed>"""

EMPTY = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <opensearch:totalResults>0</opensearch:totalResults>
</feed>"""


def record(arxiv_id="2611.04321", published=NOW - dt.timedelta(days=2)) -> PaperRecord:
    return PaperRecord(arxiv_id=arxiv_id, title="A fetched paper", abstract="Text.",
                       authors=["Ada Lovelace"], published_at=published)  # fmt: skip


def never(arxiv_id):
    raise AssertionError("arXiv must not be asked for a paper we have")


@pytest.fixture
def ada(db):
    return make_user("ada", password=PASSWORD)


@pytest.mark.parametrize(
    "text",
    ["2611.04321", "2611.04321v3", "arXiv:2611.04321", "https://arxiv.org/abs/2611.04321v2",
     "https://arxiv.org/pdf/2611.04321v1.pdf", "  arxiv.org/pdf/2611.04321  "],
)  # fmt: skip
def test_any_id_or_link_form_lists_the_versionless_paper(ada, text):
    listing = submit(ada, text, now=NOW, fetch=lambda i: record(i))
    assert listing.paper.arxiv_id == "2611.04321"
    assert listing.day == dt.date(2026, 11, 20)
    assert listing.submitted_by == ada
    assert listing.source == Listing.Source.MEMBER


def test_known_paper_is_listed_without_asking_arxiv(ada):
    paper = Paper.objects.create(arxiv_id="2611.00001", slug="arxiv-2611-00001", title="Known",
                                 published_at=NOW - dt.timedelta(days=1))  # fmt: skip
    listing = submit(ada, "2611.00001", now=NOW, fetch=never)
    assert listing.paper == paper


@pytest.mark.parametrize(
    "text", ["", "hello", "1234.5", "https://example.org/abs/2611.04321", "x" * 5000]
)
def test_not_an_arxiv_id_is_refused_with_a_message(ada, text):
    with pytest.raises(SubmitError, match="not an arXiv id"):
        submit(ada, text, now=NOW, fetch=never)


def test_unknown_paper_is_refused_and_nothing_is_stored(ada):
    with pytest.raises(SubmitError, match="no paper 2611.04321"):
        submit(ada, "2611.04321", now=NOW, fetch=lambda i: None)
    assert not Paper.objects.exists()


def test_arxiv_unreachable_is_refused_and_nothing_is_half_created(ada):
    def down(arxiv_id):
        raise FetchError("connection refused")

    with pytest.raises(SubmitError, match="could not be reached"):
        submit(ada, "2611.04321", now=NOW, fetch=down)
    assert not Paper.objects.exists() and not Listing.objects.exists()


def test_already_listed_paper_points_to_the_existing_listing(ada):
    first = submit(ada, "2611.04321", now=NOW, fetch=record)
    other = make_user("bob", password=PASSWORD)
    with pytest.raises(SubmitError, match="already listed") as refused:
        submit(other, "https://arxiv.org/abs/2611.04321v2", now=NOW, fetch=never)
    assert refused.value.listing == first
    assert Listing.objects.count() == 1


def test_too_old_paper_is_refused_and_not_stored(ada, settings):
    settings.SUBMIT_MAX_AGE_DAYS = 14
    old = NOW - dt.timedelta(days=15)
    with pytest.raises(SubmitError, match="only papers from the last 14 days"):
        submit(ada, "2611.04321", now=NOW, fetch=lambda i: record(i, published=old))
    assert not Paper.objects.exists()


def test_daily_limit_per_member(ada, settings):
    settings.SUBMIT_DAILY_LIMIT = 2
    submit(ada, "2611.00001", now=NOW, fetch=record)
    submit(ada, "2611.00002", now=NOW, fetch=record)
    with pytest.raises(SubmitError, match="daily limit"):
        submit(ada, "2611.00003", now=NOW, fetch=record)
    # The next day (in the site's time zone) the member may submit again.
    submit(ada, "2611.00003", now=NOW + dt.timedelta(days=1), fetch=record)
    assert Listing.objects.filter(submitted_by=ada).count() == 3


def test_submitting_a_newer_version_keeps_votes_on_the_known_paper(ada):
    paper = Paper.objects.create(
        arxiv_id="2611.00001",
        slug="arxiv-2611-00001",
        title="Known",
        published_at=NOW - dt.timedelta(days=1),
        upvote_count=1,
    )
    Upvote.objects.create(user=ada, paper=paper)
    submit(ada, "2611.00001v4", now=NOW, fetch=never)
    paper.refresh_from_db()
    assert paper.upvote_count == 1


class FakeArxiv(BaseHTTPRequestHandler):
    """The arXiv query API, answering id_list lookups from a dict."""

    answers: dict[str, tuple[int, str]] = {}

    def do_GET(self):  # noqa: N802
        status, body = next(
            (a for key, a in self.answers.items() if key in self.path), (200, EMPTY)
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/atom+xml")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_arxiv(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeArxiv)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ARXIV_API_URL = f"http://127.0.0.1:{server.server_port}/api/query"
    FakeArxiv.answers = {"id_list=2611.04321": (200, ATOM)}
    yield FakeArxiv
    server.shutdown()
    server.server_close()


def test_submit_page_fetches_an_unknown_paper_from_arxiv_and_lists_it(
    client_member, fake_arxiv, settings
):
    settings.SUBMIT_MAX_AGE_DAYS = 10_000  # the recording's dates are fixed
    response = client_member.post("/submit", {"paper": "https://arxiv.org/abs/2611.04321v2"})
    assert response.status_code == 302
    paper = Paper.objects.get(arxiv_id="2611.04321")
    assert response["Location"] == paper.get_absolute_url()
    assert paper.title == "Sparse Autoencoders Find Interpretable Features"
    assert paper.arxiv_version == 2
    assert [a.author.name for a in paper.authorships.all()] == ["Ada Lovelace", "Alan Turing"]
    assert paper.github_repo == "https://github.com/example/sae"
    assert paper.listing.day == timezone.localdate()
    page = client_member.get(response["Location"])
    assert "Listed on today" in page.content.decode()


def test_submit_page_shows_clear_errors(client_member, fake_arxiv, settings):
    response = client_member.post("/submit", {"paper": "not an id"})
    assert response.status_code == 400
    assert "not an arXiv id" in response.content.decode()
    response = client_member.post("/submit", {"paper": "2611.99999"})
    assert response.status_code == 400
    assert "arXiv has no paper 2611.99999" in response.content.decode()
    response = client_member.post("/submit", {"paper": "x" * 1000})
    assert response.status_code == 400
    assert "too long" in response.content.decode()
    assert not Paper.objects.exists()


def test_submit_page_reports_arxiv_down(client_member, fake_arxiv):
    fake_arxiv.answers = {"id_list=2611.04321": (500, "oops")}
    response = client_member.post("/submit", {"paper": "2611.04321"})
    assert response.status_code == 400
    assert "could not be reached" in response.content.decode()
    assert not Paper.objects.exists()


def test_submit_page_needs_a_member(client, db):
    response = client.get("/submit")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_submit_page_post_without_csrf_is_forbidden(member, db):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(member)
    assert c.post("/submit", {"paper": "2611.04321"}).status_code == 403


def test_an_id_typed_with_fullwidth_digits_is_not_an_arxiv_id(client_member, fake_arxiv, settings):
    """Python's \\d matches fullwidth digits: such an id reached arXiv as typed, arXiv answered
    with its ASCII id, and looking the paper up by the typed one was a 500."""
    settings.SUBMIT_MAX_AGE_DAYS = 10_000  # the recording's dates are fixed
    fake_arxiv.answers = {"id_list=": (200, ATOM)}  # whatever id it is asked for
    for text in ["２６１１.０４３２１", "https://arxiv.org/abs/2611.０4321v2", "2611.04321v２"]:
        response = client_member.post("/submit", {"paper": text})
        assert response.status_code == 400, text
        assert "not an arXiv id" in response.content.decode()
    assert not Paper.objects.exists()
