"""500s the URL fuzzer (test_url_fuzz.py) found, each pinned by a plain test."""

from __future__ import annotations

import re

from django.core import mail
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from factories import make_comment, make_paper, make_user


def test_a_next_that_is_a_bare_word_returns_to_the_paper(client_member, db):
    # redirect() took "9999-12-31" for the name of a view: NoReverseMatch, a 500.
    make_paper("Voted", arxiv_id="2606.00001")
    response = client_member.post("/papers/2606.00001/upvote", {"next": "9999-12-31"})
    assert response.status_code == 302
    assert response["Location"] == "/papers/2606.00001"


def test_a_moderators_bare_word_next_goes_to_the_dashboard(client, moderator):
    comment = make_comment(make_paper("Reported"), make_user("bob"))
    client.force_login(moderator)
    response = client.post(f"/moderation/comment/{comment.pk}/dismiss-reports", {"next": "x"})
    assert response.status_code == 302
    assert response["Location"] == "/moderation/"


def test_signup_with_a_bare_word_next_goes_home(client, db):
    response = client.post(
        "/accounts/signup/?next=stats-page",
        {"username": "newbie", "email": "n@example.org", "password1": "correct-horse-battery-9",
         "password2": "correct-horse-battery-9", "next": "not-a-view"},
    )  # fmt: skip
    assert response.status_code == 200
    link = re.search(r"https?://testserver(/accounts/signup/confirm/\S+)", mail.outbox[-1].body)[1]
    finished = client.post(link, {"password": "correct-horse-battery-9"})
    assert finished.status_code == 302
    assert finished["Location"] == "/"


def test_a_multipart_post_to_the_json_api_with_a_session_is_a_4xx(member):
    # The CSRF check read request.POST, consuming the multipart stream the JSON parser then
    # wanted: RawPostDataException, a 500.
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    for url in ("/api/v1/collections", "/api/v1/me/saved-searches", "/api/v1/submissions"):
        response = client.post(url, {"name": "x"}, HTTP_X_CSRFTOKEN=token)
        assert 400 <= response.status_code < 500, (url, response.status_code)
