"""Accounts: sign-up, log in and out, password reset by email, profile pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from factories import PASSWORD, make_comment, make_listing, make_paper, make_user, upvote

pytestmark = pytest.mark.django_db

User = get_user_model()
NEW_PASSWORD = "a-brand-new-pass-phrase"
RESET_LINK = re.compile(r"https?://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)")


def signup_data(**overrides) -> dict:
    return {
        "username": "grace",
        "email": "grace@example.org",
        "password1": "a-long-enough-pass-phrase",
        "password2": "a-long-enough-pass-phrase",
    } | overrides


# Sign-up -----------------------------------------------------------------------------------


SIGNUP_LINK = re.compile(r"https?://testserver(/accounts/signup/confirm/\S+)")


def sign_up(client, **overrides):
    """Post the sign-up form: every valid one is answered with the same page."""
    response = client.post("/accounts/signup/", signup_data(**overrides))
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    return response


def finish_signup(client, body: str, password: str = "a-long-enough-pass-phrase"):
    path = SIGNUP_LINK.search(body)[1]
    page = client.get(path)
    assert page.status_code == 200 and "Finish signing up" in page.content.decode()
    return client.post(path, {"password": password})


def test_signup_mails_a_link_that_creates_the_member_and_logs_them_in(client):
    sign_up(client)

    assert not User.objects.exists()  # not before the address is proven
    (message,) = mail.outbox
    assert message.to == ["grace@example.org"]
    assert message.subject == "Finish signing up to Broadsheet"
    assert '"grace"' in message.body
    response = finish_signup(client, message.body)

    assert response.status_code == 302
    assert response["Location"] == "/"
    grace = User.objects.get(username="grace")
    assert grace.email == "grace@example.org"
    assert grace.is_active and not grace.is_staff
    assert client.session["_auth_user_id"] == str(grace.pk)
    home = client.get("/").content.decode()
    assert '<summary class="who">grace</summary>' in home and 'href="/u/grace"' in home
    # The link is spent.
    assert client.get(SIGNUP_LINK.search(message.body)[1]).status_code == 404


def test_signup_stores_the_password_hashed_with_argon2(client):
    sign_up(client)
    finish_signup(client, mail.outbox[0].body)

    grace = User.objects.get(username="grace")
    assert grace.password.startswith("argon2")
    assert "a-long-enough-pass-phrase" not in grace.password
    assert grace.check_password("a-long-enough-pass-phrase")


def test_signup_returns_to_a_safe_next_only(client):
    client.post("/accounts/signup/?next=/papers/trending", signup_data())
    safe = finish_signup(client, mail.outbox[0].body)
    client.post("/accounts/logout/")
    sign_up(client, username="hopper", email="hopper@example.org", next="https://evil.example/")
    unsafe = finish_signup(client, mail.outbox[1].body)

    assert safe["Location"] == "/papers/trending"
    assert unsafe["Location"] == "/"


def test_the_signup_link_needs_the_password_chosen_at_signup(client):
    # Someone signs up with another person's address: the link reaches that person, and
    # opening it cannot make an account whose password the sender knows.
    sign_up(client, username="mallory")
    response = finish_signup(client, mail.outbox[0].body, password="not-the-chosen-one")

    assert response.status_code == 400
    assert "not the password you chose" in response.content.decode()
    assert not User.objects.exists()


def test_the_signup_link_goes_through_a_real_smtp_server(client, settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""

    sign_up(client)

    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == ["grace@example.org"]
    assert finish_signup(client, received.message.get_content()).status_code == 302
    assert User.objects.filter(username="grace").exists()


@pytest.mark.parametrize("email", ["ada@example.org", "ADA@Example.ORG", " Ada@example.org "])
def test_signup_with_a_members_address_answers_as_for_a_new_one_and_tells_the_member(
    client, member, email
):
    known = sign_up(client, email=email)
    new = sign_up(client, username="hopper", email="hopper@example.org")

    def page(response) -> str:
        return re.sub(r"<strong>[^<]*</strong>", "", response.content.decode())

    assert known.status_code == new.status_code == 200
    assert page(known) == page(new)  # the same page, but for the address it names
    assert "already exists" not in page(known)
    assert list(User.objects.values_list("username", flat=True)) == ["ada"]
    told, hopper = mail.outbox
    assert told.to == ["ada@example.org"] and hopper.to == ["hopper@example.org"]
    assert "tried to sign up" in told.subject
    assert '"ada"' in told.body
    assert "http://testserver/accounts/login/" in told.body
    assert "http://testserver/accounts/password_reset/" in told.body
    assert not SIGNUP_LINK.search(told.body)


def test_signup_emails_to_one_address_are_limited_by_the_cooldown(client, member):
    for _ in range(3):
        sign_up(client, email="ada@example.org")
    for i in range(3):
        sign_up(client, username=f"new{i}", email="new@example.org")
    assert [m.to for m in mail.outbox] == [["ada@example.org"], ["new@example.org"]]


def test_signup_with_a_username_already_taken_in_another_case_is_refused(client, member):
    response = client.post("/accounts/signup/", signup_data(username="ADA"))

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "username", ["\u0430lice", "p\u0430ypal", "\u0430\u0434\u0430_lovelace", "\u03a9mega"]
)
def test_signup_refuses_a_username_mixing_look_alike_scripts(client, member, username):
    response = client.post("/accounts/signup/", signup_data(username=username))

    assert response.status_code == 200
    assert "mixes letters from different scripts" in response.content.decode()
    assert list(User.objects.values_list("username", flat=True)) == ["ada"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("\uff47\uff52\uff41\uff43\uff45", "grace"),
        ("\u0430\u043b\u0438\u0441\u0430", "\u0430\u043b\u0438\u0441\u0430"),
    ],
)
def test_signup_normalises_usernames_nfkc_and_allows_one_script(typed, stored):
    from broadsheet.accounts.forms import SignupForm

    form = SignupForm(signup_data(username=typed))

    assert form.is_valid(), form.errors
    assert form.cleaned_data["username"] == stored


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "too short"), ("password123", "too common"), ("83749201736", "entirely numeric")],
)
def test_signup_with_a_weak_password_is_refused(client, password, message):
    response = client.post("/accounts/signup/", signup_data(password1=password, password2=password))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_signup_with_mismatched_passwords_is_refused(client):
    response = client.post("/accounts/signup/", signup_data(password2="something-else-entirely"))

    assert response.status_code == 200
    assert not User.objects.exists()


# Log in and out ----------------------------------------------------------------------------


def test_member_logs_in_with_username_and_password(client, member):
    response = client.post(
        "/accounts/login/", {"username": "ada", "password": "correct-horse-battery"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(member.pk)


def test_wrong_password_is_refused_with_a_message(client, member):
    response = client.post("/accounts/login/", {"username": "ada", "password": "wrong-horse"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_returns_to_next(client, member):
    page = client.get("/accounts/login/?next=/papers/date/2026-06-23")
    assert 'name="next" value="/papers/date/2026-06-23"' in page.content.decode()

    response = client.post(
        "/accounts/login/",
        {"username": "ada", "password": PASSWORD, "next": "/papers/date/2026-06-23"},
    )

    assert response["Location"] == "/papers/date/2026-06-23"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "http://evil.example/accounts/", "javascript:x"],
)
def test_login_ignores_an_off_site_next(client, member, next_url):
    page = client.get("/accounts/login/", {"next": next_url})
    assert '<input type="hidden" name="next" value="">' in page.content.decode()

    response = client.post(
        "/accounts/login/", {"username": "ada", "password": PASSWORD, "next": next_url}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_logout_is_a_post(client_member):
    assert client_member.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client_member.session

    response = client_member.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "_auth_user_id" not in client_member.session


def test_page_header_offers_log_in_or_log_out(client, member):
    anonymous = client.get("/papers/trending").content.decode()
    client.force_login(member)
    logged_in = client.get("/papers/trending").content.decode()

    assert 'href="/accounts/login/?next=/papers/trending">Log in</a>' in anonymous
    assert 'action="/accounts/logout/"' not in anonymous
    assert 'action="/accounts/logout/"' in logged_in
    assert "Log in</a>" not in logged_in


def test_logged_in_member_visiting_login_goes_home(client_member):
    assert client_member.get("/accounts/login/")["Location"] == "/"


# Password reset ----------------------------------------------------------------------------


def ask_for_reset(client, email: str = "ada@example.org"):
    response = client.post("/accounts/password_reset/", {"email": email})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"
    return response


def follow_reset_link(client, body: str, password: str = NEW_PASSWORD):
    path = RESET_LINK.search(body)[1]
    form = client.get(path, follow=True)
    assert "Choose a new password" in form.content.decode()
    return client.post(
        form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}
    )


def test_password_reset_email_holds_a_link_that_sets_a_new_password(client, member):
    ask_for_reset(client, "ADA@example.org")  # the address matches whatever its case

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    assert message.subject == "Reset your Broadsheet password"
    assert 'the Broadsheet account "ada"' in message.body
    done = follow_reset_link(client, message.body)

    assert done["Location"] == "/accounts/reset/done/"
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert member.password.startswith("argon2")
    assert client.login(username="ada", password=NEW_PASSWORD)
    assert not client.login(username="ada", password=PASSWORD)


def test_password_reset_link_works_only_once(client, member):
    ask_for_reset(client)
    body = mail.outbox[0].body
    follow_reset_link(client, body)

    again = client.get(RESET_LINK.search(body)[1], follow=True)

    assert "This link no longer works" in again.content.decode()


def test_password_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client, member):
    ask_for_reset(client, "nobody@example.org")

    assert mail.outbox == []


def test_password_reset_sends_nothing_to_a_deactivated_member(client, member):
    member.is_active = False
    member.save()

    ask_for_reset(client)

    assert mail.outbox == []


def test_password_reset_email_goes_through_a_real_smtp_server(
    client, member, settings, smtp_server
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""

    ask_for_reset(client)

    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == ["ada@example.org"]
    assert received.message["To"] == "ada@example.org"
    assert received.message["Subject"] == "Reset your Broadsheet password"
    body = received.message.get_content()
    done = follow_reset_link(client, body)
    assert done["Location"] == "/accounts/reset/done/"
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)


# Profiles ----------------------------------------------------------------------------------


def test_profile_lists_a_members_submissions_and_upvotes(client, member):
    day = dt.date(2026, 6, 23)
    make_listing(day, "Ada submitted this", submitted_by=member)
    make_listing(day, "Somebody else submitted this", submitted_by=make_user())
    liked = make_paper("Ada upvoted this")
    upvote(member, liked)
    upvote(make_user(), liked)  # a second voter must not list the paper twice
    upvote(make_user(), make_paper("Somebody else upvoted this"))
    make_comment(liked, member, "comments are not listed")

    response = client.get("/u/ada")

    assert response.status_code == 200
    text = response.content.decode()
    assert "<h1>ada</h1>" in text
    assert "Submitted (1)" in text and "Upvoted (1)" in text
    assert text.count("Ada submitted this") == 1
    assert text.count("Ada upvoted this") == 1
    assert "Somebody else" not in text
    assert 'href="/papers/date/2026-06-23"' in text


def test_profile_lists_upvotes_newest_first(client, member):
    for i, title in enumerate(["Oldest vote", "Middle vote", "Newest vote"]):
        paper = make_paper(title)
        vote = upvote(member, paper)
        vote.created = dt.datetime(2026, 6, 20 + i, tzinfo=dt.UTC)
        vote.save()

    text = client.get("/u/ada").content.decode()

    assert text.index("Newest vote") < text.index("Middle vote") < text.index("Oldest vote")


def test_profile_leaves_out_hidden_papers_and_listings(client, member):
    day = dt.date(2026, 6, 23)
    make_listing(day, "Hidden listing", submitted_by=member, listing_hidden=True)
    upvote(member, make_listing(day, "Hidden paper", submitted_by=member, hidden=True).paper)

    text = client.get("/u/ada").content.decode()

    assert "Hidden" not in text
    assert "Submitted (0)" in text and "Upvoted (0)" in text
    assert "No submissions yet." in text and "No upvotes yet." in text


def test_profile_of_an_unknown_member_is_404(client, member):
    assert client.get("/u/nobody").status_code == 404
    assert client.get("/u/Ada").status_code == 404


def test_profile_of_a_deactivated_member_is_404(client, member):
    member.is_active = False
    member.save()

    assert client.get("/u/ada").status_code == 404


def test_username_with_dots_and_at_sign_has_a_profile(client):
    make_user("a.b@c+d-e_f")

    assert client.get("/u/a.b@c+d-e_f").status_code == 200
