"""Comments: replies one level deep, safe Markdown, editing and deleting one's own, reports."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from factories import make_comment, make_listing, make_paper, make_user

from broadsheet.front.markdown import ATTRIBUTES, TAGS, render, sanitise
from broadsheet.papers.models import Comment, CommentReport

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 23)
URL = "/papers/2606.00001"


@pytest.fixture
def paper(db):
    return make_listing(DAY, "A paper to discuss", arxiv_id="2606.00001").paper


@pytest.fixture
def grace(db):
    return make_user("grace")


@pytest.fixture
def client_grace(grace) -> Client:
    client = Client()
    client.force_login(grace)
    return client


def comment_bodies(html: str) -> list[str]:
    """The inner HTML of every rendered comment body on a page."""
    parts = html.split('<div class="comment-body">')[1:]
    return [p.split("</div>", 1)[0] for p in parts]


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_in(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = TagCollector()
    parser.feed(html)
    return parser.tags


# Posting and replying ----------------------------------------------------------------------


def test_reply_is_posted_under_its_comment(client_member, member, grace, paper):
    top = make_comment(paper, grace, "What about the baseline?")

    response = client_member.post(f"{URL}/comment", {"body": "It is in table 3.", "parent": top.pk})

    reply = Comment.objects.get(parent=top)
    assert response["Location"] == f"{URL}#c-{reply.pk}"
    assert (reply.user, reply.paper, reply.body) == (member, paper, "It is in table 3.")
    text = client_member.get(URL).content.decode()
    thread = text.split(f'id="c-{top.pk}"')[1]
    assert f'class="comment reply" id="c-{reply.pk}"' in thread
    assert "2 comments" in text


def test_reply_to_a_reply_joins_the_thread_one_level_deep(client_member, grace, paper):
    top = make_comment(paper, grace, "Top")
    first = make_comment(paper, grace, "First reply", parent=top)

    client_member.post(f"{URL}/comment", {"body": "Answering the reply", "parent": first.pk})

    assert Comment.objects.get(body="Answering the reply").parent == top


@pytest.mark.parametrize("case", ["other paper", "hidden", "deleted", "missing"])
def test_reply_to_a_comment_that_is_not_there_is_refused(client_member, grace, paper, case):
    if case == "other paper":
        target = make_comment(make_paper(), grace, "Elsewhere").pk
    elif case == "hidden":
        target = make_comment(paper, grace, "Gone", hidden=True).pk
    elif case == "deleted":
        target = make_comment(paper, grace, "", deleted=True).pk
    else:
        target = 999_999

    response = client_member.post(f"{URL}/comment", {"body": "Hello?", "parent": target})

    assert response.status_code == 400
    assert "The comment you replied to is not there any more." in response.content.decode()
    assert not Comment.objects.filter(body="Hello?").exists()


def test_reply_with_a_malformed_parent_is_400(client_member, paper):
    response = client_member.post(f"{URL}/comment", {"body": "Hello", "parent": "1; DROP"})

    assert response.status_code == 400
    assert not Comment.objects.exists()


# Markdown, safely ---------------------------------------------------------------------------


def test_markdown_subset_is_rendered(client_member, paper):
    body = (
        "Some *emphasis*, **bold**, `code` and [a link](https://example.org)."
        "\n\n> quoted\n\n- one\n- two"
    )
    client_member.post(f"{URL}/comment", {"body": body})

    (html,) = comment_bodies(client_member.get(URL).content.decode())

    assert "<em>emphasis</em>" in html and "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert '<a href="https://example.org" rel="nofollow ugc noopener noreferrer">a link</a>' in html
    assert "<blockquote>" in html and "<li>two</li>" in html


HOSTILE = [
    '<script>alert("pwned")</script>',
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "<javascript:alert(1)>",
    '<img src=x onerror="alert(1)">',
    "![x](x onerror=alert(1))",
    '<a href="#" onclick="alert(1)">x</a>',
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![png](data:image/png;base64,iVBORw0KGgo=)",
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    '<p style="position:fixed;top:0">cover</p>',
    "[x](vbscript:msgbox(1))",
    '[x](https://ok.example "title" onmouseover=alert(1))',
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_markdown_renders_inert(client_member, paper, body):
    client_member.post(f"{URL}/comment", {"body": body})

    (html,) = comment_bodies(client_member.get(URL).content.decode())

    for tag, attrs in tags_in(html):
        assert tag in TAGS, html
        for name, value in attrs.items():
            assert name in ATTRIBUTES.get(tag, set()) | {"rel"}, html
            if name == "href":
                assert value.startswith(("https://", "http://", "mailto:", "/", "#")), html
    # Whatever survives as text is escaped text, never markup.
    assert "<script" not in html.lower()


@pytest.mark.parametrize(
    "html",
    [
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="data:text/html,x">x</a>',
        "<script>alert(1)</script>",
        '<p onclick="x" style="color:red">p</p>',
    ],
)
def test_the_sanitiser_alone_refuses_what_the_renderer_might_let_through(html):
    clean = str(sanitise(html))

    assert "onerror" not in clean and "onclick" not in clean and "style" not in clean
    assert "javascript:" not in clean and "data:" not in clean and "<script" not in clean
    assert "<img" not in clean


def test_headings_and_images_are_not_in_the_subset():
    html = str(render("# Big\n\n![alt](https://tracker.example/pixel.png)"))

    assert "<h1" not in html and "<img" not in html
    assert "# Big" in html


# Editing and deleting one's own -------------------------------------------------------------


def test_member_edits_their_comment_and_it_is_marked_edited(client_member, member, paper):
    comment = make_comment(paper, member, "Frist")

    form = client_member.get(f"/comments/{comment.pk}/edit")
    response = client_member.post(f"/comments/{comment.pk}/edit", {"body": "First"})

    assert form.status_code == 200 and "Frist" in form.content.decode()
    assert response["Location"] == f"{URL}#c-{comment.pk}"
    comment.refresh_from_db()
    assert comment.body == "First" and comment.edited is not None
    assert ">edited</span>" in client_member.get(URL).content.decode()


def test_blank_edit_is_refused_and_keeps_the_comment(client_member, member, paper):
    comment = make_comment(paper, member, "Keep me")

    response = client_member.post(f"/comments/{comment.pk}/edit", {"body": "  "})

    assert response.status_code == 400
    assert "Write something first." in response.content.decode()
    assert Comment.objects.get(pk=comment.pk).body == "Keep me"


@pytest.mark.parametrize("method", ["get", "post"])
def test_nobody_edits_another_members_comment(client_grace, member, paper, method):
    comment = make_comment(paper, member, "Ada's words")

    response = getattr(client_grace, method)(f"/comments/{comment.pk}/edit", {"body": "Mine now"})

    assert response.status_code == 403
    assert Comment.objects.get(pk=comment.pk).body == "Ada's words"


def test_nobody_deletes_another_members_comment(client_grace, member, paper):
    comment = make_comment(paper, member, "Ada's words")

    response = client_grace.post(f"/comments/{comment.pk}/delete")

    assert response.status_code == 403
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_hidden_or_unknown_comment_cannot_be_edited(client_member, member, paper):
    hidden = make_comment(paper, member, "Hidden", hidden=True)

    assert client_member.post(f"/comments/{hidden.pk}/edit", {"body": "x"}).status_code == 404
    assert client_member.post("/comments/999999/edit", {"body": "x"}).status_code == 404
    assert Comment.objects.get(pk=hidden.pk).body == "Hidden"


def test_anonymous_edit_or_delete_goes_to_login(client, member, paper):
    comment = make_comment(paper, member, "Words")

    edit = client.post(f"/comments/{comment.pk}/edit", {"body": "x"})
    delete = client.post(f"/comments/{comment.pk}/delete")

    assert edit.status_code == delete.status_code == 302
    assert edit["Location"].startswith("/accounts/login/")
    assert Comment.objects.get(pk=comment.pk).body == "Words"


def test_delete_by_get_is_not_allowed(client_member, member, paper):
    comment = make_comment(paper, member, "Words")

    assert client_member.get(f"/comments/{comment.pk}/delete").status_code == 405
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_deleting_a_comment_without_replies_removes_it(client_member, member, paper):
    comment = make_comment(paper, member, "Oops")

    response = client_member.post(f"/comments/{comment.pk}/delete")

    assert response["Location"] == f"{URL}#comments"
    assert not Comment.objects.filter(pk=comment.pk).exists()


def test_deleting_a_comment_with_replies_leaves_a_placeholder(
    client, client_member, member, grace, paper
):
    top = make_comment(paper, member, "Controversial take")
    reply = make_comment(paper, grace, "I disagree", parent=top)

    client_member.post(f"/comments/{top.pk}/delete")

    top.refresh_from_db()
    assert top.deleted and top.body == ""
    text = client.get(URL).content.decode()
    assert "[deleted]" in text and "Controversial take" not in text
    assert "I disagree" in text
    assert "1 comment<" in text
    assert "1 comment<" in client.get("/").content.decode()  # the card counts the reply only

    # The last reply going takes the placeholder with it.
    grace_client = Client()
    grace_client.force_login(grace)
    grace_client.post(f"/comments/{reply.pk}/delete")
    assert not Comment.objects.exists()


def test_replies_under_a_hidden_comment_are_not_shown_or_counted(client, member, grace, paper):
    top = make_comment(paper, member, "Rude", hidden=True)
    make_comment(paper, grace, "Reply to rude", parent=top)
    make_comment(paper, grace, "Fine")

    text = client.get(URL).content.decode()

    assert "Reply to rude" not in text and "Fine" in text
    assert "1 comment<" in text
    assert "1 comment<" in client.get("/").content.decode()
    assert client.get("/api/papers/2606.00001").json()["numComments"] == 1


# Reports ------------------------------------------------------------------------------------


def test_member_reports_a_comment_and_reporting_again_is_merged(client_grace, grace, member, paper):
    comment = make_comment(paper, member, "Spam link")

    first = client_grace.post(f"/comments/{comment.pk}/report", {"reason": "spam"})
    second = client_grace.post(f"/comments/{comment.pk}/report", {"reason": "really spam"})

    assert first.status_code == second.status_code == 302
    report = CommentReport.objects.get()
    assert (report.comment, report.reporter, report.reason) == (comment, grace, "really spam")
    assert not report.resolved


def test_two_members_reports_are_two_reports(client_grace, member, paper):
    comment = make_comment(paper, make_user("carol"), "Spam link")
    client_grace.post(f"/comments/{comment.pk}/report", {"reason": "spam"})
    other = Client()
    other.force_login(member)
    other.post(f"/comments/{comment.pk}/report", {"reason": "spam too"})

    assert CommentReport.objects.filter(comment=comment).count() == 2


def test_reporting_ones_own_comment_is_refused(client_member, member, paper):
    comment = make_comment(paper, member, "Mine")

    response = client_member.post(f"/comments/{comment.pk}/report", {"reason": "x"})

    assert response.status_code == 400
    assert not CommentReport.objects.exists()


def test_over_long_report_reason_is_400(client_grace, member, paper):
    comment = make_comment(paper, member, "Words")

    response = client_grace.post(f"/comments/{comment.pk}/report", {"reason": "x" * 501})

    assert response.status_code == 400
    assert "500" in response.content.decode()
    assert not CommentReport.objects.exists()


def test_anonymous_report_goes_to_login(client, member, paper):
    comment = make_comment(paper, member, "Words")

    response = client.post(f"/comments/{comment.pk}/report", {"reason": "x"})

    assert response.status_code == 302
    assert not CommentReport.objects.exists()


# Queries ------------------------------------------------------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_paper_page_queries_do_not_grow_with_comments_and_replies(client_member, grace, paper):
    def add_thread():
        top = make_comment(paper, grace, "Top")
        make_comment(paper, grace, "Reply", parent=top)
        make_comment(paper, grace, "Reply 2", parent=top)

    add_thread()
    few = count_queries(client_member, URL)
    for _ in range(10):
        add_thread()
    many = count_queries(client_member, URL)

    assert few == many


def test_daily_page_queries_stay_fixed_with_replies_placeholders_and_reports(client_member, grace):
    def add_papers(n: int) -> None:
        for _ in range(n):
            paper = make_listing(DAY).paper
            top = make_comment(paper, grace, "Top")
            make_comment(paper, grace, "Reply", parent=top)
            gone = make_comment(paper, grace, "", deleted=True)
            make_comment(paper, grace, "Under a placeholder", parent=gone)
            CommentReport.objects.create(comment=top, reporter=make_user())

    add_papers(3)
    few = count_queries(client_member, "/")
    add_papers(20)
    many = count_queries(client_member, "/")

    assert few == many
    assert "3 comments<" in client_member.get("/").content.decode()
