"""The channel pages: a member's under settings, the site's for moderators. URLs are checked by
Apprise, stored encrypted and never shown again in full."""

from __future__ import annotations

import pytest
from django.test import Client
from factories import make_user

from broadsheet.channels import vault
from broadsheet.channels.models import Channel
from broadsheet.digests.models import SavedSearch, Subscription
from channels.conftest import make_channel

pytestmark = pytest.mark.django_db
SECRET_URL = "json://hooks.example.org/hook/0123456789abcdef-secret"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(**fields) -> dict:
    data = {
        "name": "Lab chat",
        "url": SECRET_URL,
        "content": "top",
        "top_n": "5",
        "send_at": "08:30",
        "enabled": "on",
    }
    return {**data, **fields}


def test_a_member_adds_a_channel_and_sees_only_its_masked_url(owner):
    client = client_for(owner)
    assert client.get("/settings/channels").status_code == 200
    response = client.post("/settings/channels", form())
    assert response.status_code == 302
    channel = Channel.objects.get()
    assert channel.owner == owner and channel.url_hint == "json://hooks.example.org/…"
    assert "secret" not in channel.url_sealed and vault.reveal(channel.url_sealed) == SECRET_URL
    for page in ("/settings/channels", f"/settings/channels/{channel.pk}"):
        html = client.get(page).content.decode()
        assert "json://hooks.example.org/…" in html
        assert "0123456789abcdef" not in html

    # Saving without a URL keeps it; a new one replaces it.
    client.post(f"/settings/channels/{channel.pk}", form(url="", top_n="3"))
    channel.refresh_from_db()
    assert channel.top_n == 3 and vault.reveal(channel.url_sealed) == SECRET_URL
    client.post(f"/settings/channels/{channel.pk}", form(url="json://other.example.org/x"))
    channel.refresh_from_db()
    assert channel.url_hint == "json://other.example.org/…"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"url": "nonsense://x"}, "Apprise does not recognise this URL"),
        ({"url": ""}, "This field is required."),
        ({"top_n": "0"}, "greater than or equal to 1"),
        ({"top_n": "26"}, "less than or equal to 25"),
        ({"send_at": "25:00"}, "Enter a valid time."),
        ({"content": "search"}, "Choose the saved search"),
        ({"url": "json://127.0.0.1:8080/x"}, "private or loopback addresses"),
        ({"url": "jsons://[::1]/x"}, "private or loopback addresses"),
        ({"url": "json://localhost/x"}, "private or loopback addresses"),
        ({"url": "mailtos://u:p@example.org?smtp=10.0.0.5"}, "private or loopback addresses"),
    ],
)
def test_bad_input_is_a_400_with_the_reason(owner, fields, error):
    response = client_for(owner).post("/settings/channels", form(**fields))
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Channel.objects.exists()


def test_a_saved_search_channel_takes_only_the_members_own_searches(owner):
    sub = Subscription.objects.create(email=owner.email, user=owner)
    mine = SavedSearch.objects.create(subscription=sub, query="diffusion")
    other = make_user("other")
    theirs = SavedSearch.objects.create(
        subscription=Subscription.objects.create(email=other.email, user=other), query="secret"
    )
    client = client_for(owner)
    bad = client.post("/settings/channels", form(content="search", saved_search=theirs.pk))
    assert bad.status_code == 400
    ok = client.post("/settings/channels", form(content="search", saved_search=mine.pk))
    assert ok.status_code == 302
    assert Channel.objects.get().saved_search == mine


def test_channels_are_their_owners_and_site_channels_are_for_moderators(owner, moderator):
    theirs = make_channel("json://a.example.org/x", owner)
    site = make_channel("json://b.example.org/x", None, name="Site chat")
    stranger = client_for(make_user("stranger"))
    for path in (f"/settings/channels/{theirs.pk}", f"/settings/channels/{theirs.pk}/delete"):
        assert stranger.post(path).status_code == 404
    assert stranger.get("/settings/channels/site").status_code == 403
    assert stranger.post(f"/settings/channels/{site.pk}/test").status_code == 403
    assert Client().get("/settings/channels").status_code == 302  # log in first

    mod = client_for(moderator)
    html = mod.get("/settings/channels/site").content.decode()
    assert "Site chat" in html and "Lab chat" not in html
    # A site channel sends the community feed's top papers (no one's For you or searches).
    assert mod.post("/settings/channels/site", form(content="foryou")).status_code == 400
    assert mod.post("/settings/channels/site", form(name="Announce")).status_code == 302
    assert Channel.objects.get(name="Announce").owner is None
    assert mod.post(f"/settings/channels/{site.pk}/delete").status_code == 302
    assert not Channel.objects.filter(pk=site.pk).exists()
    assert Channel.objects.filter(pk=theirs.pk).exists()


def test_saving_a_switched_off_channel_turns_it_back_on(owner):
    channel = make_channel(SECRET_URL, owner, disabled_reason="switched off: 404", failures=3)
    client_for(owner).post(f"/settings/channels/{channel.pk}", form(url=""))
    channel.refresh_from_db()
    assert (channel.disabled_reason, channel.failures) == ("", 0)


def test_private_addresses_are_accepted_where_the_site_allows_them(owner, settings):
    settings.CHANNEL_ALLOW_PRIVATE_HOSTS = True
    response = client_for(owner).post("/settings/channels", form(url="json://10.1.2.3/hook"))
    assert response.status_code == 302
    assert Channel.objects.get().url_hint == "json://10.1.2.3/…"


def test_the_status_page_counts_channels_and_unsent_messages(owner, moderator):
    from broadsheet.channels.models import ChannelRun

    ok = make_channel(SECRET_URL, owner)
    make_channel(SECRET_URL, None, disabled_reason="2 failed sends in a row")
    ChannelRun.objects.create(channel=ok, period="2026-12-05", status="pending")
    ChannelRun.objects.create(channel=ok, period="2026-12-04", status="failed")
    client = client_for(moderator)
    page = client.get("/admin/status/").content.decode()
    assert "<h2>Channels</h2>" in page
    page = page.replace("\n", "").replace("  ", "")
    for label, value in (
        ("active channels", 1),
        ("site channels", 1),
        ("switched off after failures", 1),
        ("unsent channel messages (pending or being sent)", 1),
        ("failed channel messages", 1),
    ):
        assert f"<th>{label}</th><td>{value}</td>" in page, label
