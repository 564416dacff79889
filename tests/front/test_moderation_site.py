"""Moderation from the site: roles, hide/unhide, suspend, reports, and the audit log.

Two members (ada, grace) and a moderator; an admin (superuser) where the hierarchy matters.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from factories import PASSWORD, make_comment, make_listing, make_user

from broadsheet.api.tokens import create_token
from broadsheet.papers.models import (
    Comment,
    CommentReport,
    Listing,
    ModerationAction,
    Paper,
    Upvote,
)

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 23)
URL = "/papers/2606.00042"


@pytest.fixture
def admin_user(db):
    return make_user("boss", is_staff=True, is_superuser=True)


@pytest.fixture
def grace(db):
    return make_user("grace", password=PASSWORD)


@pytest.fixture
def listing(member):
    return make_listing(DAY, "A paper to moderate", arxiv_id="2606.00042", submitted_by=member)


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def entries() -> list[tuple[str, str, str, int, str]]:
    return [
        (e.actor_name, e.action, e.target_type, e.target_id, e.reason)
        for e in ModerationAction.objects.order_by("id")
    ]


# Hiding ------------------------------------------------------------------------------------


def test_moderator_hides_and_shows_a_paper_from_the_site_with_a_logged_reason(
    client, moderator, listing
):
    mod = as_user(moderator)
    page = mod.get(URL).content.decode()
    assert f'action="/moderation/paper/{listing.paper.pk}/hide"' in page

    hide = mod.post(f"/moderation/paper/{listing.paper.pk}/hide", {"reason": "spam", "next": URL})

    assert hide.status_code == 302 and hide["Location"] == URL
    assert Paper.objects.get(pk=listing.paper.pk).hidden
    assert client.get(URL).status_code == 404
    assert "A paper to moderate" not in client.get("/").content.decode()
    assert "A paper to moderate" in mod.get("/moderation/").content.decode()

    mod.post(f"/moderation/paper/{listing.paper.pk}/unhide", {"reason": "mistake"})

    assert client.get(URL).status_code == 200
    pk = listing.paper.pk
    assert entries() == [
        ("mod", "hide", "paper", pk, "spam"),
        ("mod", "unhide", "paper", pk, "mistake"),
    ]


def test_moderator_hides_a_listing_and_a_comment(client, moderator, member, listing):
    comment = make_comment(listing.paper, member, "Rude words")
    mod = as_user(moderator)

    mod.post(f"/moderation/listing/{listing.pk}/hide", {"reason": "off topic"})
    mod.post(f"/moderation/comment/{comment.pk}/hide", {"reason": "rude"})

    assert Listing.objects.get(pk=listing.pk).hidden
    assert Comment.objects.get(pk=comment.pk).hidden
    text = client.get(URL).content.decode()
    assert "Rude words" not in text and "Listed" not in text
    assert [e[1:4] for e in entries()] == [
        ("hide", "listing", listing.pk),
        ("hide", "comment", comment.pk),
    ]


def test_hiding_what_is_already_hidden_changes_nothing_and_logs_nothing(moderator, listing):
    mod = as_user(moderator)
    mod.post(f"/moderation/paper/{listing.paper.pk}/hide")
    mod.post(f"/moderation/paper/{listing.paper.pk}/hide")

    assert len(entries()) == 1


@pytest.mark.parametrize("who", ["ada", "grace"])
def test_members_cannot_moderate(member, grace, listing, who):
    comment = make_comment(listing.paper, grace, "Grace's comment")
    client = as_user(member if who == "ada" else grace)

    responses = [
        client.post(f"/moderation/paper/{listing.paper.pk}/hide"),
        client.post(f"/moderation/listing/{listing.pk}/hide"),
        client.post(f"/moderation/comment/{comment.pk}/hide"),
        client.post(f"/moderation/member/{grace.pk}/suspend"),
        client.post(f"/moderation/member/{member.pk}/suspend"),
        client.post(f"/moderation/comment/{comment.pk}/dismiss-reports"),
        client.get("/moderation/"),
        client.get("/moderation/log"),
    ]

    assert [r.status_code for r in responses] == [403] * 8
    assert not Paper.objects.filter(hidden=True).exists()
    assert not Listing.objects.filter(hidden=True).exists()
    assert not Comment.objects.filter(hidden=True).exists()
    member.refresh_from_db()
    grace.refresh_from_db()
    assert member.is_active and grace.is_active
    assert not ModerationAction.objects.exists()
    assert "/moderation/paper/" not in client.get(URL).content.decode()


def test_anonymous_visitor_is_sent_to_log_in(client, listing):
    response = client.post(f"/moderation/paper/{listing.paper.pk}/hide")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Paper.objects.filter(hidden=True).exists()


def test_staff_without_the_moderate_permission_cannot_moderate(listing):
    staff = make_user("staff", is_staff=True)

    response = as_user(staff).post(f"/moderation/paper/{listing.paper.pk}/hide")

    assert response.status_code == 403
    assert not Paper.objects.filter(hidden=True).exists()


def test_moderation_actions_need_post_and_a_csrf_token(moderator, listing):
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)

    get = client.get(f"/moderation/paper/{listing.paper.pk}/hide")
    post = client.post(f"/moderation/paper/{listing.paper.pk}/hide")

    assert get.status_code == 405 and post.status_code == 403
    assert not Paper.objects.filter(hidden=True).exists()


def test_bad_targets_and_reasons_are_4xx(moderator, listing):
    mod = as_user(moderator)

    assert mod.post("/moderation/paper/999999/hide").status_code == 404
    assert mod.post("/moderation/member/999999/suspend").status_code == 404
    assert mod.post("/moderation/vote/1/hide").status_code == 404
    too_long = mod.post(f"/moderation/paper/{listing.paper.pk}/hide", {"reason": "x" * 1001})
    assert too_long.status_code == 400 and "1000" in too_long.content.decode()
    offsite = mod.post(
        f"/moderation/paper/{listing.paper.pk}/hide", {"next": "https://evil.example/"}
    )
    assert offsite["Location"] == "/moderation/"


# Suspending --------------------------------------------------------------------------------


def test_suspended_member_cannot_log_in_vote_comment_or_submit(moderator, grace, listing):
    grace_client = Client()
    assert grace_client.login(username="grace", password=PASSWORD)
    token = create_token(grace, "laptop", "write")[1]

    response = as_user(moderator).post(f"/moderation/member/{grace.pk}/suspend", {"reason": "spam"})

    assert response.status_code == 302
    grace.refresh_from_db()
    assert not grace.is_active
    assert entries() == [("mod", "suspend", "member", grace.pk, "spam")]
    # The open session no longer counts; a new login is refused.
    vote = grace_client.post(f"{URL}/upvote", HTTP_ACCEPT="application/json")
    comment = grace_client.post(f"{URL}/comment", {"body": "Let me in"})
    submit = grace_client.post("/submit", {"paper": "2606.00042"})
    assert vote.status_code == 401
    assert comment.status_code == submit.status_code == 302
    assert not Upvote.objects.exists() and not Comment.objects.exists()
    assert not Client().login(username="grace", password=PASSWORD)
    api = Client().post("/api/v1/papers/2606.00042/upvote", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 401
    assert not Upvote.objects.exists()


def test_lifting_a_suspension_lets_the_member_back_in(moderator, grace):
    mod = as_user(moderator)
    mod.post(f"/moderation/member/{grace.pk}/suspend")

    mod.post(f"/moderation/member/{grace.pk}/unsuspend", {"reason": "appeal accepted"})

    assert Client().login(username="grace", password=PASSWORD)
    assert [e[1] for e in entries()] == ["suspend", "unsuspend"]
    suspended = mod.get("/moderation/").content.decode().split('id="suspended"')[1]
    assert "grace" not in suspended.split("</section>")[0]


def test_login_form_tells_a_suspended_member_why_only_with_the_right_password(grace):
    grace.is_active = False
    grace.save()
    right = Client().post("/accounts/login/", {"username": "grace", "password": PASSWORD})
    wrong = Client().post("/accounts/login/", {"username": "grace", "password": "not-it"})
    assert right.status_code == wrong.status_code == 200  # the form again, not logged in
    assert "This account is suspended" in right.content.decode()
    assert "This account is suspended" not in wrong.content.decode()
    assert "correct username and password" in wrong.content.decode()
    assert "_auth_user_id" not in right.client.session


def test_moderator_suspends_from_a_profile_page(moderator, grace):
    page = as_user(moderator).get("/u/grace").content.decode()
    own = as_user(moderator).get("/u/mod").content.decode()
    as_member = as_user(grace).get("/u/mod").content.decode()

    assert f'action="/moderation/member/{grace.pk}/suspend"' in page
    assert "/suspend" not in own and "/suspend" not in as_member


def test_moderator_cannot_suspend_themselves_another_moderator_or_an_admin(moderator, admin_user):
    other_mod = make_user("mod2", is_staff=True)
    other_mod.groups.add(Group.objects.get(name="Moderators"))
    mod = as_user(moderator)

    for target in [moderator, other_mod, admin_user]:
        response = mod.post(f"/moderation/member/{target.pk}/suspend")
        assert response.status_code == 403
        target.refresh_from_db()
        assert target.is_active
    assert not ModerationAction.objects.exists()


def test_admin_may_suspend_a_moderator(moderator, admin_user):
    response = as_user(admin_user).post(f"/moderation/member/{moderator.pk}/suspend")

    assert response.status_code == 302
    moderator.refresh_from_db()
    assert not moderator.is_active
    assert entries() == [("boss", "suspend", "member", moderator.pk, "")]


# Reports -----------------------------------------------------------------------------------


def test_moderator_sees_reported_comments_and_hiding_settles_the_reports(
    moderator, member, grace, listing
):
    bad = make_comment(listing.paper, grace, "Buy cheap pills")
    make_comment(listing.paper, grace, "A fine comment")
    as_user(member).post(f"/comments/{bad.pk}/report", {"reason": "spam"})
    as_user(member).post(f"/comments/{bad.pk}/report", {"reason": "spam, really"})
    mod = as_user(moderator)

    page = mod.get("/moderation/").content.decode()
    reports = page.split('id="reports"')[1].split("</section>")[0]
    assert "Buy cheap pills" in reports and "A fine comment" not in reports
    assert "1 open report<" in reports and "ada: spam, really" in reports

    mod.post(f"/moderation/comment/{bad.pk}/hide", {"reason": "spam"})

    assert not CommentReport.objects.filter(resolved=False).exists()
    page = mod.get("/moderation/").content.decode()
    assert "Nothing reported." in page


def test_moderator_dismisses_reports_and_it_is_logged(moderator, member, grace, listing):
    comment = make_comment(listing.paper, grace, "Blunt but fair")
    as_user(member).post(f"/comments/{comment.pk}/report", {"reason": "mean"})

    as_user(moderator).post(
        f"/moderation/comment/{comment.pk}/dismiss-reports", {"reason": "fair criticism"}
    )

    assert CommentReport.objects.get().resolved
    assert not Comment.objects.get(pk=comment.pk).hidden
    assert entries() == [("mod", "dismiss-reports", "comment", comment.pk, "fair criticism")]


# The audit log -----------------------------------------------------------------------------


def test_moderators_read_the_audit_log_page(moderator, grace, listing):
    mod = as_user(moderator)
    mod.post(f"/moderation/paper/{listing.paper.pk}/hide", {"reason": "<b>spam</b>"})
    mod.post(f"/moderation/member/{grace.pk}/suspend", {"reason": "sock puppet"})

    text = mod.get("/moderation/log").content.decode()

    assert "2 actions" in text
    assert text.index("sock puppet") < text.index("&lt;b&gt;spam&lt;/b&gt;")  # newest first
    assert "Suspended member" in text and "Hid paper" in text
    assert "mod" in text


def test_audit_log_is_read_only_in_the_admin(moderator, listing):
    mod = as_user(moderator)
    mod.post(f"/moderation/paper/{listing.paper.pk}/hide", {"reason": "spam"})
    entry = ModerationAction.objects.get()

    listing_page = mod.get("/admin/papers/moderationaction/")
    change = mod.post(
        f"/admin/papers/moderationaction/{entry.pk}/change/", {"reason": "nothing happened"}
    )
    delete = mod.post(f"/admin/papers/moderationaction/{entry.pk}/delete/", {"post": "yes"})
    add = mod.get("/admin/papers/moderationaction/add/")

    assert listing_page.status_code == 200 and "spam" in listing_page.content.decode()
    assert change.status_code == 403 and delete.status_code == 403 and add.status_code == 403
    assert ModerationAction.objects.get().reason == "spam"


def test_admin_actions_are_written_to_the_audit_log(moderator, member, listing):
    comment = make_comment(listing.paper, member, "Hmm")
    mod = as_user(moderator)
    for model, obj in [("papers/paper", listing.paper), ("papers/comment", comment)]:
        mod.post(f"/admin/{model}/", {"action": "hide", "index": 0, "_selected_action": [obj.pk]})
    mod.post(
        "/admin/accounts/user/",
        {"action": "deactivate", "index": 0, "_selected_action": [member.pk]},
    )

    assert [e[1:4] for e in entries()] == [
        ("hide", "paper", listing.paper.pk),
        ("hide", "comment", comment.pk),
        ("suspend", "member", member.pk),
    ]
    assert all(e[4] == "from the admin" for e in entries())
