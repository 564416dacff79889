"""Moderation through Django's admin: hide papers, listings and comments, deactivate members."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from factories import PASSWORD, make_comment, make_listing, make_user

from broadsheet.papers.models import Comment, Listing, Paper

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 23)


@pytest.fixture
def client_moderator(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture
def visitor() -> Client:
    """Someone not logged in (the `client` fixture is the moderator's)."""
    return Client()


@pytest.fixture
def listing(member) -> Listing:
    listing = make_listing(DAY, "A paper to moderate", arxiv_id="2606.00042", submitted_by=member)
    make_listing(DAY, "A paper that stays")
    return listing


def run_action(client, model: str, action: str, *objects):
    response = client.post(
        f"/admin/{model}/",
        {"action": action, "index": 0, "_selected_action": [o.pk for o in objects]},
    )
    assert response.status_code == 302, response.content[:500]
    return response


def page_text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_moderators_group_comes_from_a_migration_with_only_moderation_rights():
    group = Group.objects.get(name="Moderators")

    assert sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()) == [
        "accounts.change_user",
        "accounts.view_user",
        "papers.change_comment",
        "papers.change_listing",
        "papers.change_paper",
        "papers.moderate",
        "papers.view_authorclaim",
        "papers.view_comment",
        "papers.view_commentreport",
        "papers.view_listing",
        "papers.view_moderationaction",
        "papers.view_paper",
    ]


def test_moderator_can_open_the_admin(client_moderator):
    text = client_moderator.get("/admin/").content.decode()

    assert "Broadsheet moderation" in text
    assert 'href="/admin/papers/paper/"' in text
    assert 'href="/admin/accounts/user/"' in text


def test_moderator_hides_a_paper_and_it_leaves_the_feed_and_its_page(
    client_moderator, visitor, listing
):
    assert "A paper to moderate" in page_text(visitor, "/")

    run_action(client_moderator, "papers/paper", "hide", listing.paper)

    assert Paper.objects.get(pk=listing.paper.pk).hidden
    text = page_text(visitor, "/")
    assert "A paper to moderate" not in text and "A paper that stays" in text
    assert "A paper to moderate" not in page_text(visitor, "/papers/week/2026-W26")
    assert visitor.get("/papers/2606.00042").status_code == 404
    assert "A paper to moderate" not in page_text(visitor, "/u/ada")


def test_moderator_shows_a_hidden_paper_again(client_moderator, visitor, listing):
    run_action(client_moderator, "papers/paper", "hide", listing.paper)
    run_action(client_moderator, "papers/paper", "unhide", listing.paper)

    assert "A paper to moderate" in page_text(visitor, "/")
    assert visitor.get("/papers/2606.00042").status_code == 200


def test_moderator_hides_a_listing_and_it_leaves_the_feed_only(client_moderator, visitor, listing):
    run_action(client_moderator, "papers/listing", "hide", listing)

    assert Listing.objects.get(pk=listing.pk).hidden
    assert "A paper to moderate" not in page_text(visitor, "/")
    assert "A paper to moderate" not in page_text(visitor, "/papers/month/2026-06")
    assert "A paper to moderate" in page_text(visitor, "/papers/2606.00042")  # still in the corpus


def test_moderator_hides_a_comment_and_it_leaves_the_page_and_the_count(
    client_moderator, visitor, listing, member
):
    rude = make_comment(listing.paper, member, "Something rude")
    make_comment(listing.paper, member, "Something kind")
    assert "2 comments" in page_text(visitor, "/")

    run_action(client_moderator, "papers/comment", "hide", rude)

    assert Comment.objects.get(pk=rude.pk).hidden
    page = page_text(visitor, "/papers/2606.00042")
    assert "Something rude" not in page and "Something kind" in page
    assert "1 comment<" in page_text(visitor, "/")


def test_moderator_deactivates_a_member_who_then_cannot_log_in(client_moderator, member):
    other = make_user("grace")
    member_client = Client()
    member_client.force_login(member)

    run_action(client_moderator, "accounts/user", "deactivate", member)

    member.refresh_from_db()
    other.refresh_from_db()
    assert not member.is_active and other.is_active
    # A session opened before the suspension no longer counts.
    assert member_client.get("/").wsgi_request.user.is_anonymous
    fresh = Client()
    assert not fresh.login(username="ada", password=PASSWORD)
    refused = fresh.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert refused.status_code == 200
    # With the right password the form says why; a wrong one gets the usual message.
    assert "This account is suspended" in refused.content.decode()
    assert "_auth_user_id" not in fresh.session


def test_moderator_cannot_deactivate_themselves(client_moderator, moderator):
    run_action(client_moderator, "accounts/user", "deactivate", moderator)

    moderator.refresh_from_db()
    assert moderator.is_active


def test_moderator_cannot_deactivate_a_superuser(client_moderator):
    boss = make_user("boss", is_staff=True, is_superuser=True)

    run_action(client_moderator, "accounts/user", "deactivate", boss)

    boss.refresh_from_db()
    assert boss.is_active


def change_form_data(user, **overrides) -> dict:
    """Everything Django's user change form posts, with `overrides`."""
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [g.pk for g in Group.objects.all()],
        "date_joined_0": "2026-06-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-06-01",
        "initial-date_joined_1": "00:00:00",
        "last_login_0": "",
        "last_login_1": "",
        "_save": "Save",
    }
    return data | overrides


def test_moderator_cannot_make_anyone_staff_or_superuser(client_moderator, moderator, member):
    client_moderator.post(
        f"/admin/accounts/user/{moderator.pk}/change/", change_form_data(moderator)
    )
    client_moderator.post(f"/admin/accounts/user/{member.pk}/change/", change_form_data(member))

    moderator.refresh_from_db()
    member.refresh_from_db()
    assert not moderator.is_superuser
    assert not member.is_superuser and not member.is_staff
    assert not member.groups.exists()


def test_moderator_cannot_change_a_members_email_or_password(client_moderator, member):
    client_moderator.post(
        f"/admin/accounts/user/{member.pk}/change/",
        change_form_data(member, email="mod@evil.example", is_staff="", is_superuser="", groups=[]),
    )
    password_page = client_moderator.get(f"/admin/accounts/user/{member.pk}/password/")
    client_moderator.post(
        f"/admin/accounts/user/{member.pk}/password/",
        {
            "password1": "taken-over-pass-9",
            "password2": "taken-over-pass-9",
            "usable_password": "true",
        },
    )

    member.refresh_from_db()
    assert member.email == "ada@example.org"
    assert password_page.status_code == 403
    assert member.check_password(PASSWORD)


def test_superuser_keeps_the_full_user_admin(client, member):
    boss = make_user("boss", is_staff=True, is_superuser=True)
    client.force_login(boss)

    assert client.get(f"/admin/accounts/user/{member.pk}/password/").status_code == 200
    client.post(
        f"/admin/accounts/user/{member.pk}/change/",
        change_form_data(member, is_superuser="", groups=[], email="ada@new.example"),
    )

    member.refresh_from_db()
    assert member.is_staff and member.email == "ada@new.example"


def test_moderator_may_suspend_from_the_change_form(client_moderator, member):
    response = client_moderator.post(
        f"/admin/accounts/user/{member.pk}/change/",
        change_form_data(member, is_active="", is_staff="", is_superuser="", groups=[]),
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.is_active


def test_staff_without_the_moderators_group_cannot_hide(client, listing):
    staff = make_user("staff", is_staff=True)
    client.force_login(staff)

    assert client.get("/admin/papers/paper/").status_code == 403
    client.post(
        "/admin/papers/paper/",
        {"action": "hide", "index": 0, "_selected_action": [listing.paper.pk]},
    )

    assert not Paper.objects.get(pk=listing.paper.pk).hidden


def test_plain_member_is_sent_from_the_admin_to_its_login(client_member, listing):
    response = client_member.get("/admin/")
    action = client_member.post(
        "/admin/papers/paper/",
        {"action": "hide", "index": 0, "_selected_action": [listing.paper.pk]},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    assert action.status_code == 302
    assert action["Location"].startswith("/admin/login/")
    assert not Paper.objects.get(pk=listing.paper.pk).hidden


def test_header_links_staff_to_moderation_and_nobody_else(client_moderator, member):
    assert 'href="/admin/">Moderate</a>' in client_moderator.get("/").content.decode()
    client_moderator.force_login(member)
    assert 'href="/admin/">Moderate</a>' not in client_moderator.get("/").content.decode()
