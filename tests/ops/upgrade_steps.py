"""The steps of the upgrade test, run as `python upgrade_steps.py old|check SNAPSHOT` in a
process of its own against the database in BROADSHEET_DATABASE_URL / BROADSHEET_DATA_DIR.

    old    migrate a fresh database to the previous release's migrations (PREVIOUS), write
           real rows through that state's historical models, save a snapshot of every table
    check  (after `broadsheet migrate`) every row of the snapshot is still there with the same
           values in its columns, and the current models read them
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.loader import MigrationLoader  # noqa: E402

from broadsheet.ops.backup import tables  # noqa: E402

# The newest migration of each of our apps at 954a134 (Django's own apps are unchanged).
PREVIOUS = [
    ("accounts", "0001_initial"),
    ("api", "0001_initial"),
    ("ingest", "0001_initial"),
    ("lib", "0002_jobrun"),
    ("papers", "0002_moderators_group"),
    ("search", "0002_tantivy"),
]
WHEN = dt.datetime(2026, 6, 23, 9, 30, tzinfo=dt.UTC)


def write_rows(apps) -> None:
    """Real rows through the previous release's models."""
    User = apps.get_model("accounts", "User")
    Paper = apps.get_model("papers", "Paper")
    Author = apps.get_model("papers", "Author")
    Authorship = apps.get_model("papers", "Authorship")
    Listing = apps.get_model("papers", "Listing")
    Upvote = apps.get_model("papers", "Upvote")
    Comment = apps.get_model("papers", "Comment")
    db = "default"
    ada = User.objects.using(db).create(username="ada", email="ada@example.org", password="!")
    bob = User.objects.using(db).create(username="bob", email="bob@example.org", password="!")
    arxiv = Paper.objects.using(db).create(
        arxiv_id="2401.01234", arxiv_version=2, slug="2401-01234", title="Causal de Finetti",
        abstract="Exchangeable data, $x_1$ and all.", published_at=WHEN,
        primary_category="cs.LG", categories=["cs.LG", "stat.ML"], source_upvotes=7,
        upvote_count=2,
    )  # fmt: skip
    sample = Paper.objects.using(db).create(slug="a-sample-paper", title="A sample paper")
    for i, name in enumerate(["Ada Lovelace", "Émilie du Châtelet"]):
        author = Author.objects.using(db).create(name=name)
        Authorship.objects.using(db).create(paper=arxiv, author=author, position=i)
    Listing.objects.using(db).create(
        paper=arxiv, day=WHEN.date(), submitted_by=ada, submitted_at=WHEN, source="member"
    )
    Listing.objects.using(db).create(
        paper=sample, day=WHEN.date(), submitted_at=WHEN, source="sample"
    )
    for user in (ada, bob):
        Upvote.objects.using(db).create(user=user, paper=arxiv, created=WHEN)
    Comment.objects.using(db).create(user=bob, paper=arxiv, body="Lovely <b>result</b>.")
    ApiToken = apps.get_model("api", "ApiToken")
    ApiToken.objects.using(db).create(
        user=ada, name="laptop", prefix="bsk_abcd", digest="0" * 64, scope="write"
    )
    apps.get_model("lib", "JobRun").objects.using(db).create(name="ingest-arxiv", last_ok=True)
    apps.get_model("ingest", "HarvestState").objects.using(db).create(
        name="oai:cs", resumption_token="token-1", last_datestamp=WHEN.date()
    )


def snapshot() -> dict[str, dict]:
    out = {}
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in tables():
            if table not in existing:
                continue
            cursor.execute(f'SELECT * FROM "{table}"')
            columns = [c[0] for c in cursor.description]
            out[table] = {"columns": columns, "rows": sorted(map(repr, cursor.fetchall()))}
    return out


def old(path: str) -> None:
    for app, name in PREVIOUS:
        call_command("migrate", app, name, verbosity=0)
    loader = MigrationLoader(connection)
    missing = [t for t in PREVIOUS if t not in loader.applied_migrations]
    assert not missing, missing
    write_rows(loader.project_state(PREVIOUS).apps)
    with open(path, "w") as f:
        json.dump(snapshot(), f)


def check(path: str) -> None:
    with open(path) as f:
        before = json.load(f)
    # Every old row of every old table is still there with the same values in its columns
    # (new columns may have been added beside them).
    with connection.cursor() as cursor:
        for table, old_rows in before.items():
            quoted = ", ".join(f'"{c}"' for c in old_rows["columns"])
            cursor.execute(f'SELECT {quoted} FROM "{table}"')
            after = set(map(repr, cursor.fetchall()))
            lost = set(old_rows["rows"]) - after
            assert not lost, f"{table} lost or changed rows: {sorted(lost)}"
    loader = MigrationLoader(connection)
    assert set(loader.graph.leaf_nodes()) <= set(loader.applied_migrations)

    # And the current code reads them.
    from broadsheet.papers.models import Listing, Paper, Upvote

    paper = Paper.objects.get(arxiv_id="2401.01234")
    assert paper.title == "Causal de Finetti" and paper.categories == ["cs.LG", "stat.ML"]
    assert paper.upvote_count == 2 and paper.source_upvotes == 7
    names = [a.author.name for a in paper.authorships.order_by("position")]
    assert names == ["Ada Lovelace", "Émilie du Châtelet"], names
    assert Listing.objects.count() == 2
    assert Upvote.objects.filter(paper=paper).count() == 2
    print(f"checked {sum(len(t['rows']) for t in before.values())} rows in {len(before)} tables")


if __name__ == "__main__":
    {"old": old, "check": check}[sys.argv[1]](sys.argv[2])
