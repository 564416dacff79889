"""Bad input from the address bar and from forms: a 404 or a message, never a 500 or raw HTML."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from factories import make_listing, make_paper

from broadsheet.papers.models import Comment

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 23)


@pytest.fixture
def listed(db):
    """A few papers on DAY, so a page that should be empty is not empty by accident."""
    for votes in range(3):
        make_listing(DAY, f"Paper {votes}", votes=votes, arxiv_id=f"2606.0000{votes}")


@pytest.mark.parametrize(
    "url",
    [
        # Impossible or malformed dates.
        "/papers/date/2026-02-30",
        "/papers/date/2026-13-01",
        "/papers/date/2026-00-10",
        "/papers/date/26-1-1",
        "/papers/date/2026-6-23",
        "/papers/date/20260623",
        "/papers/date/2026-06-23T00:00",
        "/papers/date/2026-06-23 ",
        "/papers/date/-2026-06-23",
        "/papers/date/0000-01-01",
        "/papers/date/9999-12-31",
        "/papers/date/today",
        "/papers/date/",
        "/papers/date/2026-06-23/",
        # Weeks that do not exist in the ISO calendar, or are not weeks.
        "/papers/week/2026-W00",
        "/papers/week/2025-W53",
        "/papers/week/2026-W54",
        "/papers/week/2026-W99",
        "/papers/week/2026-W1",
        "/papers/week/2026W26",
        "/papers/week/2026-w26",
        "/papers/week/0000-W01",
        "/papers/week/9999-W52",
        # Months.
        "/papers/month/2026-13",
        "/papers/month/2026-00",
        "/papers/month/0000-01",
        "/papers/month/9999-12",
        "/papers/month/2026-6",
        "/papers/month/2026",
        "/papers/month/2026-06-01",
        # Digits that are not ASCII would name a real day by another spelling.
        "/papers/date/٢٠٢٦-٠٦-٢٣",
        "/papers/week/２０２６-W２６",
        "/papers/month/２０２６-０６",
        # Papers that do not exist.
        "/papers/9999.99999",
        "/papers/9999.99999v2",
        "/papers/9999.99999.bib",
        "/papers/" + "x" * 5000,
        "/papers/" + "1" * 201 + ".bib",
        "/papers/%27%20OR%201=1--",
        "/papers/1%27);DROP%20TABLE%20papers_paper;--",
        "/papers/%E2%80%AE%F0%9F%92%A9%E0%B8%81%CC%81",
        "/papers/a%00b",
        "/papers/a%00b.bib",
        "/papers/%00",
        "/papers/date",
        "/papers/week",
        "/papers/..%2F..%2Fetc%2Fpasswd",
        # Members that do not exist.
        "/u/nobody",
        "/u/a%00b",
        "/u/" + "x" * 5000,
        "/u/%27%20OR%201=1--",
    ],
)
def test_unknown_or_malformed_address_is_404(client, listed, url):
    response = client.get(url)

    assert response.status_code == 404, response.content[:300]


@pytest.mark.parametrize(
    "url",
    [
        "/papers/9999.99999/upvote",
        "/papers/a%00b/upvote",
        "/papers/" + "x" * 5000 + "/upvote",
        "/papers/9999.99999/comment",
        "/papers/a%00b/comment",
    ],
)
def test_actions_on_unknown_papers_are_404(client_member, url):
    response = client_member.post(url, {"body": "hello"}, HTTP_ACCEPT="application/json")

    assert response.status_code == 404
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/papers/date/1000-01-01",
        "/papers/date/9998-12-31",
        "/papers/week/1000-W01",
        "/papers/week/9998-W52",
        "/papers/week/9998-W53",
        "/papers/month/1000-01",
        "/papers/month/9998-12",
    ],
)
def test_days_weeks_and_months_at_the_ends_of_the_calendar_are_empty_pages(client, listed, url):
    response = client.get(url)

    assert response.status_code == 200
    assert "No papers were listed here" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("page=abc", "Page 1 of 3"),
        ("page=", "Page 1 of 3"),
        ("page=0", "Page 3 of 3"),
        ("page=-1", "Page 3 of 3"),
        ("page=99999", "Page 3 of 3"),
        ("page=1e3", "Page 1 of 3"),
        ("page=%00", "Page 1 of 3"),
        ("page=2&page=x", "Page 1 of 3"),
        ("page=" + "9" * 400, "Page 3 of 3"),
    ],
)
def test_a_bad_page_number_shows_the_first_or_last_page(client, listed, settings, query, shown):
    # Django's Paginator.get_page: not a number -> the first page, out of range -> the last.
    settings.PAGE_SIZE = 1

    for url in ["/", "/papers/date/2026-06-23", "/papers/week/2026-W26", "/papers/month/2026-06"]:
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, url
        assert shown in response.content.decode(), url


def test_a_script_in_a_title_is_shown_as_text_everywhere(client_member, member):
    title = "<script>alert('title')</script> & <img src=x onerror=alert(1)>"
    listing = make_listing(DAY, title, arxiv_id="2606.09999", submitted_by=member)
    client_member.post(f"/papers/{listing.paper.ref}/upvote", HTTP_ACCEPT="application/json")

    for url in [
        "/",
        "/papers/date/2026-06-23",
        "/papers/week/2026-W26",
        "/papers/month/2026-06",
        "/papers/2606.09999",
        "/u/ada",
    ]:
        text = client_member.get(url).content.decode()
        assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in text, url
        assert "<script>alert" not in text, url
        assert "<img src=x" not in text, url


def test_a_script_in_a_comment_is_shown_as_text(client_member):
    make_paper("Paper", arxiv_id="2606.00001")

    client_member.post("/papers/2606.00001/comment", {"body": "<script>alert(1)</script>"})

    text = client_member.get("/papers/2606.00001").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)" not in text


def test_a_comment_over_the_length_limit_is_refused_with_a_message(client_member):
    make_paper("Paper", arxiv_id="2606.00001")
    limit = settings.COMMENT_MAX_LENGTH

    response = client_member.post("/papers/2606.00001/comment", {"body": "x" * (limit + 1)})

    assert response.status_code == 400
    text = response.content.decode()
    assert f"Comments are limited to {limit} characters (this one has {limit + 1})." in text
    assert not Comment.objects.exists()


def test_a_comment_at_the_length_limit_is_accepted(client_member):
    make_paper("Paper", arxiv_id="2606.00001")

    response = client_member.post(
        "/papers/2606.00001/comment", {"body": "x" * settings.COMMENT_MAX_LENGTH}
    )

    assert response.status_code == 302
    assert len(Comment.objects.get().body) == settings.COMMENT_MAX_LENGTH


def test_a_comment_with_a_nul_character_is_refused(client_member):
    make_paper("Paper", arxiv_id="2606.00001")

    response = client_member.post("/papers/2606.00001/comment", {"body": "a\x00b"})

    assert response.status_code == 400
    assert not Comment.objects.exists()


def test_an_overlong_username_is_refused_at_signup_with_a_message(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "u" * 151,
            "email": "long@example.org",
            "password1": "a-long-enough-pass-phrase",
            "password2": "a-long-enough-pass-phrase",
        },
    )

    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(
    "username", ["has space", "semi;colon", "<script>", "slash/name", "a\x00b"]
)
def test_a_username_with_forbidden_characters_is_refused_at_signup(client, username):
    response = client.post(
        "/accounts/signup/",
        {
            "username": username,
            "email": "odd@example.org",
            "password1": "a-long-enough-pass-phrase",
            "password2": "a-long-enough-pass-phrase",
        },
    )

    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert "<script>" not in response.content.decode().split("<main")[1]
    assert not get_user_model().objects.exists()


def test_a_login_with_junk_is_refused_without_an_error_page(client):
    response = client.post(
        "/accounts/login/", {"username": "a\x00' OR 1=1--" + "x" * 500, "password": "\x00"}
    )

    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
