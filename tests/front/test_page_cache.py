"""Anonymous readers' pages from the shared page cache, invalidated by the content version."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
import time_machine
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from factories import make_comment, make_listing, make_user, upvote

from broadsheet.front import page_cache, page_queue, page_renderer
from broadsheet.papers import moderation
from broadsheet.papers.models import Author, Authorship, ContentVersion, Listing, Paper, Upvote

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 23)
PAGES = ["/", f"/papers/date/{DAY}", "/papers/week/2026-W26", "/papers/month/2026-06"]


@pytest.fixture
def listing(db) -> Listing:
    return make_listing(DAY, "Attention Is All You Need", votes=5)


def queries_of(client: Client, url: str, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    return response, len(queries)


@pytest.mark.parametrize("url", [*PAGES, "/papers/trending", "paper"])
def test_a_second_anonymous_read_is_served_without_rendering(client, listing, url):
    url = listing.paper.get_absolute_url() if url == "paper" else url
    first, _ = queries_of(client, url)
    second, queries = queries_of(client, url)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert queries == 1  # the content version; no view ran
    assert second["ETag"] == first["ETag"]
    assert second["Cache-Control"] == "public, max-age=0, must-revalidate"
    assert "Cookie" in second["Vary"]
    assert second["Content-Security-Policy"]  # the outer middleware still ran
    assert "Last-Modified" in second


def test_a_conditional_request_with_the_current_etag_gets_304(client, listing):
    etag = client.get("/")["ETag"]
    response = client.get("/", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert client.get("/", headers={"If-None-Match": '"older"'}).status_code == 200


def test_a_vote_shows_on_the_next_anonymous_read(client, listing, member):
    before = client.get("/").content.decode()
    assert 'class="vote-count">5<' in before
    voter = Client()
    voter.force_login(member)
    assert voter.post(f"/papers/{listing.paper.ref}/upvote").status_code in (200, 302)
    assert 'class="vote-count">6<' in client.get("/").content.decode()


@pytest.mark.parametrize(
    "change",
    ["hide paper", "hide listing", "comment", "new listing", "rename author", "vote row"],
)
def test_every_kind_of_change_bumps_the_content_version(listing, member, change):
    before = ContentVersion.current()
    paper = listing.paper
    if change == "hide paper":
        moderation.set_hidden(member, paper, True)
    elif change == "hide listing":
        Listing.objects.filter(pk=listing.pk).update(hidden=True)
    elif change == "comment":
        make_comment(paper, member)
    elif change == "new listing":
        make_listing(DAY, "Another one")
    elif change == "rename author":
        author = Author.objects.create(name="A. Person")
        Authorship.objects.create(paper=paper, author=author, position=0)
        before = ContentVersion.current()
        Author.objects.filter(pk=author.pk).update(name="A. N. Other")
    elif change == "vote row":
        upvote(member, paper)
        before = ContentVersion.current()
        Upvote.objects.filter(paper=paper).delete()
    assert ContentVersion.current() > before


def test_the_version_does_not_move_on_reads_and_survives_a_wiped_row(client, listing):
    client.get("/")
    before = ContentVersion.current()
    client.get("/")
    client.get(listing.paper.get_absolute_url())
    assert ContentVersion.current() == before
    ContentVersion.objects.all().delete()
    Paper.objects.filter(pk=listing.paper_id).update(title="Renamed")
    assert ContentVersion.current() > before  # time-based: never back to an earlier value


def test_hidden_papers_leave_the_cached_pages(client, listing, moderator):
    assert "Attention Is All You Need" in client.get("/papers/week/2026-W26").content.decode()
    moderation.set_hidden(moderator, listing.paper, True)
    assert "Attention Is All You Need" not in client.get("/papers/week/2026-W26").content.decode()


def test_members_get_their_own_page_not_the_anonymous_one(client, listing, member):
    anonymous = client.get("/").content.decode()
    assert "Log in to upvote" in anonymous
    upvote(member, listing.paper)
    client.get("/")  # the anonymous page for the new version, now cached
    client.force_login(member)
    mine, queries = queries_of(client, "/")
    assert queries > 1
    assert "Log in to upvote" not in mine.content.decode()
    assert "vote-button voted" in mine.content.decode()
    assert "public" not in mine.get("Cache-Control", "")


def test_each_filter_of_a_page_is_cached_apart(client, listing):
    """The cache keys on the whole URL: a filtered page is never served the unfiltered one,
    nor one filter another's."""
    make_listing(DAY, "A galaxy survey", primary_category="astro-ph.GA")
    url = f"/papers/date/{DAY}"
    assert "Attention Is All You Need" in client.get(url).content.decode()
    for query, shown, left_out in [
        ("?cat=astro-ph", "A galaxy survey", "Attention Is All You Need"),
        ("?cat=astro-ph&code=1", None, "A galaxy survey"),
    ]:
        for _ in range(2):
            response, queries = queries_of(client, url + query)
            text = response.content.decode()
            assert response.status_code == 200
            assert shown is None or shown in text
            assert left_out not in text
        assert queries == 1  # the second read came from the cache, under its own key
    assert "Attention Is All You Need" in client.get(url).content.decode()


def test_a_reader_with_a_message_waiting_is_not_served_the_cache(client, listing):
    client.get("/")
    client.cookies["messages"] = "something"
    _, queries = queries_of(client, "/")
    assert queries > 1


def cached_entry(url: str):
    request = RequestFactory().get(url)
    return caches["pages"].get(page_cache._key(request))


def test_search_and_404s_are_not_cached(client, listing):
    assert client.get("/").status_code == 200
    assert cached_entry("/") is not None  # the check below can see an entry
    for url in ["/search?q=attention", "/papers/date/not-a-day", "/papers/nope"]:
        client.get(url)
        assert cached_entry(url) is None, url


def test_a_version_read_is_reused_for_the_check_interval(client, listing, settings):
    settings.PAGE_CACHE_CHECK_SECONDS = 3600
    page_cache.version.forget()
    client.get("/")
    make_user("someone")  # not content: nothing the page shows changed
    Paper.objects.filter(pk=listing.paper_id).update(title="Renamed")
    stale, queries = queries_of(client, "/")
    assert queries == 0
    assert "Attention Is All You Need" in stale.content.decode()  # within the bound
    page_cache.version.forget()
    assert "Renamed" in client.get("/").content.decode()


def test_while_one_request_renders_a_changed_page_the_others_get_the_previous_one(client, listing):
    client.get("/")
    Paper.objects.filter(pk=listing.paper_id).update(title="Renamed")
    lock = f"{page_cache._key(RequestFactory().get('/'))}:{ContentVersion.current()}"
    assert caches["pages"].add(lock, True)  # as a rendering in another process would
    assert "Attention Is All You Need" in client.get("/").content.decode()
    caches["pages"].delete(lock)
    assert "Renamed" in client.get("/").content.decode()


def test_a_page_older_than_its_lifetime_is_rendered_again(client, listing, settings):
    client.get("/")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=301), tick=False):
        _, queries = queries_of(client, "/")
    assert queries > 1


def served(client: Client, url: str) -> tuple[str, str]:
    """How the page was served ("hit" from the cache, "miss" rendered) and its text."""
    response = client.get(url)
    return response.get("X-Page-Cache", f"status {response.status_code}"), response.content.decode()


def test_each_event_renders_again_the_pages_showing_it_and_no_other(client, member, moderator):
    today = timezone.localdate()
    earlier = today - dt.timedelta(days=40)  # another week and month, out of trending
    a = make_listing(today, "Alpha attention", votes=5)
    b = make_listing(earlier, "Beta backprop", votes=7)

    def feed(day: dt.date) -> list[str]:
        iso = day.isocalendar()
        return [
            f"/papers/date/{day}",
            f"/papers/week/{iso.year}-W{iso.week:02d}",
            f"/papers/month/{day:%Y-%m}",
        ]

    a_pages = ["/", a.paper.get_absolute_url(), *feed(today), "/papers/trending"]
    b_pages = [b.paper.get_absolute_url(), *feed(earlier)]
    everything = a_pages + b_pages
    for url in everything:
        assert served(client, url)[0] == "miss"
        assert served(client, url)[0] == "hit"

    def rendered_again() -> set[str]:
        return {url for url in everything if served(client, url)[0] != "hit"}

    upvote(member, a.paper)
    assert rendered_again() == set(a_pages)
    assert all('class="vote-count">6<' in served(client, url)[1] for url in a_pages[:-1])

    make_comment(a.paper, member, "A comment on alpha.")
    assert rendered_again() == set(a_pages)
    assert "A comment on alpha." in served(client, a.paper.get_absolute_url())[1]

    Paper.objects.filter(pk=a.paper_id).update(title="Alpha, revised")
    assert rendered_again() == set(a_pages)
    assert all("Alpha, revised" in served(client, url)[1] for url in a_pages)

    # A new listing on B's day: B's feed, trending, and every day page (their navigation).
    make_listing(earlier, "Gamma gradients")
    assert rendered_again() == {*feed(earlier), "/papers/trending", "/", feed(today)[0]}
    assert "Gamma gradients" in served(client, feed(earlier)[1])[1]

    # A moderator hides A's listing: its feed, trending and the day pages' navigation.
    moderation.set_hidden(moderator, a, True)
    assert rendered_again() == {*a_pages, feed(earlier)[0]}
    assert not any("Alpha, revised" in served(client, url)[1] for url in feed(today))

    # ... and B's paper: it leaves every page at once.
    moderation.set_hidden(moderator, b.paper, True)
    assert rendered_again() == set(everything)
    assert not any("Beta backprop" in served(client, url)[1] for url in everything)


def test_a_process_that_starts_later_knows_what_changed_within_a_pages_lifetime(
    client, listing, member
):
    other = make_listing(DAY - dt.timedelta(days=40), "Backprop revisited")
    urls = [f"/papers/date/{DAY}", other.paper.get_absolute_url()]
    for url in urls:
        client.get(url)
    upvote(member, listing.paper)
    page_cache.version.forget()  # as a process started after the vote, with the cache files
    assert served(client, urls[0])[0] == "miss"
    assert served(client, urls[1])[0] == "hit"


class Renderer:
    """A page renderer said to be running, whose queue a test renders when it says."""

    queue_dir = staticmethod(page_queue.queue_dir)
    pending = staticmethod(page_queue.pending)
    HEARTBEAT = page_queue.HEARTBEAT

    def __init__(self) -> None:
        self.process = page_renderer.Renderer()

    def run_once(self) -> int:
        """Render the asks queued now, as the renderer's loop does."""
        with self._keeping_the_test_connection():
            before = self.process.rendered
            for path in page_queue.pending():
                self.process.take(path)
            return self.process.rendered - before

    @contextlib.contextmanager
    def _keeping_the_test_connection(self):
        # Its requests go through the WSGI handler, which closes the database connection at
        # a request's start and end: not the test's, in its transaction (the test client
        # does the same).
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            yield
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


@pytest.fixture
def renderer(settings, tmp_path) -> Renderer:
    # Made once per process, with django.setup(), which configures logging again: before the
    # test, so that pytest's log capture is not undone mid-test.
    import broadsheet.wsgi  # noqa: F401

    settings.DATA_DIR = tmp_path
    page_queue.beat()
    return Renderer()


def test_a_changed_page_is_rendered_by_the_renderer_while_readers_get_the_previous_one(
    client, listing, member, renderer, caplog
):
    urls = [f"/papers/date/{DAY}?sort=votes", listing.paper.get_absolute_url()]
    for url in urls:
        assert served(client, url)[0] == "miss"
    upvote(member, listing.paper)
    for url in urls:  # asked of the renderer once; the previous rendering meanwhile
        for _ in range(2):
            how, html = served(client, url)
            assert (how, 'class="vote-count">5<' in html) == ("stale", True)
    assert len(renderer.pending()) == 2
    caplog.clear()
    with caplog.at_level("INFO", logger="broadsheet.requests"):
        assert renderer.run_once() == 2
    # In the request log, marked as the renderer's: no reader asked for them.
    assert [(r.path, r.page_renderer) for r in caplog.records] == [
        (u.split("?")[0], True) for u in urls
    ]
    assert all(r.getMessage().endswith("(page renderer)") for r in caplog.records)
    assert renderer.pending() == []
    caplog.clear()
    for url in urls:
        how, html = served(client, url)
        assert (how, 'class="vote-count">6<' in html) == ("hit", True)
    assert not any(r.page_renderer for r in caplog.records if r.name == "broadsheet.requests")


def test_a_page_gone_meanwhile_leaves_the_cache_when_the_renderer_finds_it_gone(
    client, listing, moderator, renderer
):
    url = listing.paper.get_absolute_url()
    client.get(url)
    moderation.set_hidden(moderator, listing.paper, True)
    assert served(client, url)[0] == "stale"
    renderer.run_once()
    assert client.get(url).status_code == 404


def test_without_a_live_renderer_the_reader_renders_the_changed_page(
    client, listing, member, renderer
):
    client.get("/")
    (renderer.queue_dir() / renderer.HEARTBEAT).unlink()  # as after the renderer died
    upvote(member, listing.paper)
    how, html = served(client, "/")
    assert (how, 'class="vote-count">6<' in html) == ("miss", True)
    assert renderer.pending() == []


def test_an_unreadable_ask_is_dropped_and_the_others_rendered(client, listing, member, renderer):
    client.get("/")
    upvote(member, listing.paper)
    assert served(client, "/")[0] == "stale"
    (renderer.queue_dir() / "page-broken.json").write_text("{not json")
    assert renderer.run_once() == 1
    assert renderer.pending() == []
    assert served(client, "/")[0] == "hit"


def test_render_pages_refuses_when_there_is_no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0
    with pytest.raises(CommandError, match="the page cache is off"):
        call_command("render-pages", "--once")


def test_an_ask_that_cannot_be_written_has_the_reader_render_the_page(
    client, listing, member, renderer, caplog
):
    client.get("/")
    upvote(member, listing.paper)
    key = page_cache._key(RequestFactory().get("/"))
    blocked = renderer.queue_dir() / f"{key.replace(':', '-')}.json"
    (blocked / "in-the-way").mkdir(parents=True)  # the ask's file cannot replace a directory
    how, html = served(client, "/")
    assert (how, 'class="vote-count">6<' in html) == ("miss", True)
    assert "cannot ask the page renderer" in caplog.text
    assert renderer.run_once() == 0  # and the renderer passes what is in the way by


@pytest.fixture
def card_renders():
    """How many cards (front/_card.html) each request rendered."""
    from django.test.signals import template_rendered

    names: list[str] = []

    def seen(sender, template, context, **kwargs):
        names.append(template.name)

    template_rendered.connect(seen)

    def count(client: Client, url: str) -> int:
        names.clear()
        client.get(url)
        return names.count("front/_card.html")

    yield count
    template_rendered.disconnect(seen)


def test_a_page_rendered_again_renders_only_the_cards_that_changed(
    client, member, card_renders, settings
):
    """A vote changes one card of trending: the page is rendered again around the others,
    kept from its last rendering (front/card_cache.py); members' pages keep nothing."""
    today = timezone.localdate()
    a, b, c = (
        make_listing(today, f"Paper {n}", votes=v) for n, v in (("A", 9), ("B", 5), ("C", 1))
    )
    author = Author.objects.create(name="Ada Lovelace")
    Authorship.objects.create(paper=a.paper, author=author, position=0)
    trending = "/papers/trending"
    assert card_renders(client, trending) == 3
    upvote(member, c.paper)
    assert card_renders(client, trending) == 1  # C's card only
    html = served(client, trending)[1]
    assert 'class="vote-count">2<' in html and 'class="vote-count">9<' in html

    # What touches every page (an author renamed) renders every card again.
    assert Author.objects.filter(authorships__paper=a.paper).update(name="Ada L.") == 1
    assert card_renders(client, trending) == 3
    # Another page (another path: a card links back to its page) keeps its own.
    assert card_renders(client, f"{trending}?page=1") == 3
    # A card is kept no longer than a page.
    with time_machine.travel(
        timezone.now() + dt.timedelta(seconds=settings.PAGE_CACHE_SECONDS + 1)
    ):
        caches["pages"].clear()
        assert card_renders(client, trending) == 3

    # A member's page has their own vote state: every card rendered, every time.
    client.force_login(member)
    assert card_renders(client, trending) == 3
    assert card_renders(client, trending) == 3
    assert card_renders(Client(), trending) == 0  # (the anonymous page itself is cached)
