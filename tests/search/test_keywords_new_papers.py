"""Papers that come in by ingest or by a member's submission are given keywords by
`broadsheet keywords` (and the worker) without --all: they are stored with no keywords
(SQL NULL), not with a JSON null the job does not look for. Rows stored that way before are
repaired by a data migration."""

from __future__ import annotations

import datetime as dt
import importlib
import io

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import JSONField, Value
from django.utils import timezone
from factories import make_paper

from broadsheet.ingest.records import PaperRecord
from broadsheet.ingest.submit import submit
from broadsheet.ingest.upsert import upsert
from broadsheet.papers.models import Paper

repair = importlib.import_module("broadsheet.papers.migrations.0008_keywords_sql_null")


def _record(arxiv_id: str, title: str, abstract: str) -> PaperRecord:
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=["Ada Lovelace"],
        published_at=timezone.now() - dt.timedelta(days=1),
    )


@pytest.mark.django_db
def test_ingested_and_submitted_papers_get_keywords_without_all():
    upsert(
        [
            _record(
                "2611.00001",
                "Sparse Autoencoders Find Interpretable Features",
                "We train sparse autoencoders on language model activations and find "
                "interpretable features.",
            )
        ]
    )
    member = get_user_model().objects.create_user("ada", "ada@example.org", "correct-horse-1")
    submit(
        member,
        "2611.00002",
        fetch=lambda i: _record(
            i,
            "Causal Discovery from Time Series",
            "Causal discovery recovers causal graphs from observational time series data.",
        ),
    )
    ingested = Paper.objects.get(arxiv_id="2611.00001")
    submitted = Paper.objects.get(arxiv_id="2611.00002")
    assert Paper.objects.filter(ai_keywords__isnull=True).count() == 2

    out = io.StringIO()
    call_command("keywords", stdout=out)
    assert "2 papers given keywords" in out.getvalue()
    ingested.refresh_from_db()
    submitted.refresh_from_db()
    assert any("autoencoder" in k.lower() for k in ingested.ai_keywords), ingested.ai_keywords
    assert any("causal" in k.lower() for k in submitted.ai_keywords), submitted.ai_keywords


@pytest.mark.django_db
def test_the_migration_turns_json_null_keywords_into_sql_null():
    stored_null = make_paper("Stored with a JSON null")
    Paper.objects.filter(pk=stored_null.pk).update(ai_keywords=Value(None, JSONField()))
    done = make_paper("Has keywords")
    Paper.objects.filter(pk=done.pk).update(ai_keywords=["graphs"])
    empty = make_paper("No phrases found")
    Paper.objects.filter(pk=empty.pk).update(ai_keywords=[])
    assert not Paper.objects.filter(pk=stored_null.pk, ai_keywords__isnull=True).exists()

    repair.json_null_to_sql_null(apps, None)

    assert list(Paper.objects.filter(ai_keywords__isnull=True).values_list("pk", flat=True)) == [
        stored_null.pk
    ]
    assert Paper.objects.get(pk=done.pk).ai_keywords == ["graphs"]
    assert Paper.objects.get(pk=empty.pk).ai_keywords == []


@pytest.mark.django_db
def test_the_worker_gives_new_papers_vectors_and_keywords():
    from broadsheet.ops.schedule import new_papers_job, upkeep_jobs
    from broadsheet.search.indexing import count_missing

    assert "new-papers" in [name for name, _, _ in upkeep_jobs()]
    upsert(
        [
            _record(
                "2611.00003",
                "Graph Neural Networks for Molecules",
                "Graph neural networks predict molecular properties from atom graphs.",
            )
        ]
    )
    assert count_missing() == 1

    counts = new_papers_job()

    assert counts.papers == 1 and count_missing() == 0
    paper = Paper.objects.get(arxiv_id="2611.00003")
    assert any("graph" in k.lower() for k in paper.ai_keywords), paper.ai_keywords
    assert new_papers_job().papers == 0
