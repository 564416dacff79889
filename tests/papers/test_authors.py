"""Author pages, claiming an author name, and a confirmed author editing their papers' links."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils.html import strip_tags
from factories import make_listing, make_paper, make_user

from broadsheet.papers.authors import author_slug
from broadsheet.papers.models import Author, AuthorClaim, ModerationAction, Paper

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 23)


@pytest.fixture
def ada_author(db) -> Author:
    for i in range(3):
        make_paper(
            f"Notes on the engine, part {i}",
            authors=["Ada Lovelace", "Charles Babbage"],
            arxiv_id=f"2606.0000{i}",
            published_at=dt.datetime(2026, 6, 1 + i, tzinfo=dt.UTC),
        )
    return Author.objects.get(name="Ada Lovelace")


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(author: Author) -> str:
    return f"/authors/{author_slug(author)}"


# The page ----------------------------------------------------------------------------------


def test_author_page_lists_their_visible_papers_newest_first_in_pages(client, ada_author, settings):
    settings.PAGE_SIZE = 2
    Paper.objects.filter(arxiv_id="2606.00001").update(hidden=False)
    make_paper("Hidden one", authors=["Ada Lovelace"], hidden=True)

    first = client.get(url(ada_author))
    second = client.get(url(ada_author) + "?page=2")

    assert url(ada_author) == f"/authors/ada-lovelace-{ada_author.pk}"
    assert first.status_code == 200
    text = first.content.decode()
    assert "<h1>Ada Lovelace" in text and "3 papers" in text
    assert text.index("part 2") < text.index("part 1")
    assert "part 0" not in text and "Page 1 of 2" in text
    assert "part 0" in second.content.decode()
    assert "Hidden one" not in text + second.content.decode()


def test_author_names_on_papers_and_cards_link_to_their_pages(client, ada_author):
    make_listing(DAY, "Listed", authors=["Ada Lovelace"])

    assert f'href="{url(ada_author)}"' in client.get("/papers/2606.00000").content.decode()
    assert f'href="{url(ada_author)}"' in client.get("/").content.decode()


def test_author_page_with_a_stale_name_redirects_and_nonsense_is_404(client, ada_author):
    stale = client.get(f"/authors/someone-else-{ada_author.pk}")

    assert stale.status_code == 302 and stale["Location"] == url(ada_author)
    assert client.get(f"/authors/{ada_author.pk}").status_code == 302
    assert client.get(f"/authors/ada%00-{ada_author.pk}").status_code == 302  # the id decides
    for bad in ["nobody", "x-99999999", "ada-lovelace-", "a" * 300, "9" * 40]:
        assert client.get(f"/authors/{bad}").status_code == 404, bad


def test_author_with_a_name_that_has_no_ascii_slug_still_has_a_page(client):
    make_paper("Unicode", authors=["王小明"])
    author = Author.objects.get(name="王小明")

    response = client.get(f"/authors/{author.pk}")

    assert author_slug(author) == str(author.pk)
    assert response.status_code == 200 and "王小明" in response.content.decode()


# Claims ------------------------------------------------------------------------------------


def test_member_claims_an_author_name_and_asking_again_is_merged(client_member, member, ada_author):
    first = client_member.post(url(ada_author) + "/claim", {"message": "my homepage: x"})
    second = client_member.post(url(ada_author) + "/claim", {"message": "ORCID 0000-0001"})

    assert first.status_code == second.status_code == 302
    claim = AuthorClaim.objects.get()
    assert (claim.user, claim.author, claim.status) == (member, ada_author, "pending")
    assert claim.message == "ORCID 0000-0001"
    assert "Your claim is waiting" in client_member.get(url(ada_author)).content.decode()


def test_anonymous_claim_goes_to_login(client, ada_author):
    response = client.post(url(ada_author) + "/claim", {"message": "me"})

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not AuthorClaim.objects.exists()


def test_over_long_claim_message_is_400(client_member, ada_author):
    response = client_member.post(url(ada_author) + "/claim", {"message": "x" * 501})

    assert response.status_code == 400
    assert not AuthorClaim.objects.exists()


def test_moderator_approves_a_claim_and_the_author_is_marked(client, member, moderator, ada_author):
    as_user(member).post(url(ada_author) + "/claim", {"message": "it is me"})
    claim = AuthorClaim.objects.get()

    response = as_user(moderator).post(
        f"/moderation/claim/{claim.pk}/approve", {"reason": "checked her homepage"}
    )

    assert response.status_code == 302
    ada_author.refresh_from_db()
    claim.refresh_from_db()
    assert ada_author.claimed_by == member
    assert (claim.status, claim.decided_by) == ("approved", moderator)
    entry = ModerationAction.objects.get()
    assert (entry.actor, entry.action, entry.target_type, entry.target_id) == (
        moderator,
        "approve-claim",
        "claim",
        claim.pk,
    )
    assert entry.reason == "checked her homepage"
    assert 'class="claimed"' in client.get("/papers/2606.00000").content.decode()
    assert "Confirmed as the member" in client.get(url(ada_author)).content.decode()


def test_rejected_claim_is_logged_and_cannot_be_made_again(client_member, moderator, ada_author):
    client_member.post(url(ada_author) + "/claim", {"message": "me"})
    claim = AuthorClaim.objects.get()

    as_user(moderator).post(f"/moderation/claim/{claim.pk}/reject", {"reason": "no evidence"})
    again = client_member.post(url(ada_author) + "/claim", {"message": "really me"})

    claim.refresh_from_db()
    assert claim.status == "rejected"
    assert ModerationAction.objects.get().action == "reject-claim"
    assert again.status_code == 400
    assert "turned this claim down" in again.content.decode()
    assert AuthorClaim.objects.count() == 1


def test_name_claimed_by_one_member_cannot_be_approved_for_another(member, moderator, ada_author):
    grace = make_user("grace")
    as_user(member).post(url(ada_author) + "/claim", {})
    as_user(grace).post(url(ada_author) + "/claim", {})
    ada_claim, grace_claim = AuthorClaim.objects.order_by("id")
    mod = as_user(moderator)
    mod.post(f"/moderation/claim/{ada_claim.pk}/approve")

    response = mod.post(f"/moderation/claim/{grace_claim.pk}/approve")
    twice = mod.post(f"/moderation/claim/{ada_claim.pk}/approve")

    assert response.status_code == 409 and "already claimed" in response.content.decode()
    assert twice.status_code == 409
    ada_author.refresh_from_db()
    assert ada_author.claimed_by == member
    assert ModerationAction.objects.count() == 1


def test_members_cannot_decide_claims(member, ada_author):
    grace = make_user("grace")
    as_user(member).post(url(ada_author) + "/claim", {})
    claim = AuthorClaim.objects.get()

    own = as_user(member).post(f"/moderation/claim/{claim.pk}/approve")
    other = as_user(grace).post(f"/moderation/claim/{claim.pk}/approve")

    assert own.status_code == other.status_code == 403
    ada_author.refresh_from_db()
    assert ada_author.claimed_by is None
    assert not ModerationAction.objects.exists()


# Editing links ------------------------------------------------------------------------------


@pytest.fixture
def confirmed(member, ada_author) -> Paper:
    Author.objects.filter(pk=ada_author.pk).update(claimed_by=member)
    return Paper.objects.get(arxiv_id="2606.00000")


def test_confirmed_author_edits_code_and_project_links(client_member, confirmed):
    page = client_member.get("/papers/2606.00000").content.decode()
    response = client_member.post(
        "/papers/2606.00000/links",
        {"github_repo": "https://github.com/ada/engine", "project_url": "example.org/engine"},
    )

    assert "Edit the code and project links" in page
    assert response.status_code == 302
    confirmed.refresh_from_db()
    assert confirmed.github_repo == "https://github.com/ada/engine"
    assert confirmed.project_url == "https://example.org/engine"
    assert (
        'href="https://github.com/ada/engine"'
        in client_member.get("/papers/2606.00000").content.decode()
    )


@pytest.mark.parametrize(
    "bad",
    ["javascript:alert(1)", "data:text/html,x", "ftp://example.org/x", "not a url", "https://"],
)
def test_links_must_be_web_urls(client_member, confirmed, bad):
    response = client_member.post(
        "/papers/2606.00000/links", {"github_repo": bad, "project_url": ""}
    )

    assert response.status_code == 400
    assert "Enter a valid URL." in strip_tags(response.content.decode())
    confirmed.refresh_from_db()
    assert confirmed.github_repo == ""


def test_links_of_papers_not_theirs_are_403(client, confirmed):
    other_paper = make_paper("Not Ada's", authors=["Someone Else"], arxiv_id="2606.09999")
    grace = as_user(make_user("grace"))

    theirs = grace.post("/papers/2606.00000/links", {"github_repo": "https://evil.example"})
    not_author = as_user(confirmed.authorships.first().author.claimed_by).post(
        "/papers/2606.09999/links", {"github_repo": "https://evil.example"}
    )

    assert theirs.status_code == not_author.status_code == 403
    assert "Edit the code and project links" not in grace.get("/papers/2606.00000").content.decode()
    assert not Paper.objects.filter(github_repo="https://evil.example").exists()
    assert other_paper.github_repo == ""


def test_links_need_a_csrf_token(member, confirmed):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)

    response = client.post("/papers/2606.00000/links", {"github_repo": "https://x.example"})

    assert response.status_code == 403
    confirmed.refresh_from_db()
    assert confirmed.github_repo == ""
