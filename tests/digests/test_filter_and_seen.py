"""A digest subscription's filter (Subscription.paper_filter, a PaperFilter) and what a sent
digest marks as shown for the New view (papers/shown.py)."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from factories import make_listing, make_user

from broadsheet.digests.models import Subscription
from broadsheet.digests.send import send_digests
from broadsheet.papers.models import Shown

from .conftest import NOW, make_subscriber


def test_the_filter_narrows_the_digest_and_sent_papers_count_as_shown(smtp, db):
    day = NOW.date() - dt.timedelta(days=1)
    at = NOW - dt.timedelta(hours=10)
    kept = make_listing(day, "Diffusion for proteins", votes=9, submitted_at=at,
                        categories=["q-bio.BM"]).paper  # fmt: skip
    make_listing(day, "Diffusion for text", votes=8, submitted_at=at, categories=["cs.CL"])
    grace = make_user("grace")
    make_subscriber(grace.email, user=grace, paper_filter="cat=q-bio")
    make_subscriber("other@example.org")
    assert send_digests().sent == 2
    by_address = {
        m.rcpt_tos[0]: m.message.get_body(("plain",)).get_content() for m in smtp.messages
    }
    assert "Diffusion for proteins" in by_address[grace.email]
    assert "Diffusion for text" not in by_address[grace.email]
    assert "Diffusion for text" in by_address["other@example.org"]
    assert list(Shown.objects.values_list("user", "paper", "via")) == [
        (grace.pk, kept.pk, Shown.Via.DIGEST)
    ]


def test_the_filter_is_checked_and_stored_normalised_in_the_settings_form(db):
    grace = make_user("grace")
    make_subscriber(grace.email, user=grace)
    client = Client()
    client.force_login(grace)
    form = {"frequency": "daily", "weekdays": ["0", "1"], "top_n": 5}
    bad = client.post("/settings/digest", form | {"paper_filter": "include=%21%21"})
    assert bad.status_code == 400 and "has no letter or digit" in bad.content.decode()
    assert Subscription.objects.get().paper_filter == ""
    good = client.post("/settings/digest", form | {"paper_filter": "exclude=survey&code=yes"})
    assert good.status_code in (200, 302)
    assert Subscription.objects.get().paper_filter == "code=1&exclude=survey"
