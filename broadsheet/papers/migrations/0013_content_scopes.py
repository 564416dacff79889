"""Content versions per scope, and on PostgreSQL bumped at commit time only.

A scope names what a public page shows (papers/content_scopes.py): "paper:<id>" (its page),
"day:<date>" (that day's listings, on the day, week and month pages), "days" (which days have
listings: the day pages' navigation and the home page), "trending", "all" (every page: an
author renamed or claimed, a paper hidden, a bulk change of more than 1,000 rows) and "*"
(grows with every change: the order readers follow). Every bump gives all its scopes the new
"*" value, so a reader that follows "*" learns every changed scope exactly once.

PostgreSQL: statement triggers (with transition tables) only note the scopes a transaction
changed in papers_contentchange, under the transaction's own id, so concurrent writers never
wait for each other; a deferred constraint trigger gives them their new values at commit,
holding the "*" row only from there to the end of the commit. The values thus grow in commit
order: a reader that has seen a value has seen every change with a lower one.

SQLite: row triggers write the values directly (a SQLite database has one writer at a time,
so the order of writes is the order of commits). A new paper or author shows on no page yet,
so inserting one bumps nothing; its authorship and listing rows do.
"""

from django.db import migrations, models

# 0009's triggers, replaced.
OLD_TABLES = [
    "papers_paper",
    "papers_author",
    "papers_authorship",
    "papers_listing",
    "papers_upvote",
    "papers_comment",
    "papers_authorclaim",
]
# The value is the time in microseconds, or one more than before if that is not later, so it
# only grows, even across a restore of an older backup or a wiped table.
NOW_SQLITE = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"
NOW_POSTGRESQL = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
BUMP_STAR = (
    "INSERT INTO papers_contentversion (scope, value) VALUES ('*', {now}) ON CONFLICT (scope) "
    "DO UPDATE SET value = {greatest}(papers_contentversion.value + 1, excluded.value)"
)
# More rows than this in one statement: every page rather than a scope per row.
MAX_ROWS = 1000

POSTGRESQL_FUNCTIONS = f"""
CREATE FUNCTION papers_content_changed(scopes text[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO papers_contentchange (txid, scope)
  SELECT pg_current_xact_id()::text::bigint, s FROM unnest(scopes) s
  ON CONFLICT DO NOTHING
$$;

CREATE FUNCTION papers_papers_changed(ids bigint[]) RETURNS void LANGUAGE sql AS $$
  SELECT papers_content_changed(CASE WHEN cardinality(ids) > {MAX_ROWS} THEN ARRAY['all']
    ELSE ARRAY(
      SELECT 'paper:' || i FROM unnest(ids) i
      UNION SELECT 'day:' || to_char(l.day, 'YYYY-MM-DD')
        FROM papers_listing l WHERE l.paper_id = ANY(ids)
      UNION SELECT 'trending') END)
$$;

CREATE FUNCTION papers_paper_content() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- (Each branch names only the transition tables its event has.)
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM papers_content_changed(ARRAY['all']);
  ELSIF TG_OP = 'UPDATE' THEN
    -- A paper hidden or shown: the same rows, but not the same hidden ones. (No join of the
    -- transition tables: without statistics the planner may nest loops over both.)
    IF (SELECT array_agg(id ORDER BY id) FROM old_rows WHERE hidden)
        IS DISTINCT FROM (SELECT array_agg(id ORDER BY id) FROM new_rows WHERE hidden) THEN
      PERFORM papers_content_changed(ARRAY['all']);
    ELSE
      PERFORM papers_papers_changed(ARRAY(SELECT id FROM new_rows LIMIT {MAX_ROWS + 1}));
    END IF;
  ELSE
    PERFORM papers_papers_changed(ARRAY(SELECT id FROM old_rows LIMIT {MAX_ROWS + 1}));
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION papers_paper_part_content() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids bigint[] := '{{}}';
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM papers_content_changed(ARRAY['all']);
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    ids := ids || ARRAY(SELECT paper_id FROM old_rows LIMIT {MAX_ROWS + 1});
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    ids := ids || ARRAY(SELECT paper_id FROM new_rows LIMIT {MAX_ROWS + 1});
  END IF;
  PERFORM papers_papers_changed(ids);
  IF TG_TABLE_NAME = 'papers_listing' AND cardinality(ids) <= {MAX_ROWS} THEN
    PERFORM papers_content_changed(ARRAY['days']);
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      PERFORM papers_content_changed(ARRAY(
        SELECT DISTINCT 'day:' || to_char(day, 'YYYY-MM-DD') FROM old_rows));
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION papers_everything_content() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM papers_content_changed(ARRAY['all']);
  RETURN NULL;
END $$;

CREATE FUNCTION papers_content_commit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  me bigint := pg_current_xact_id()::text::bigint;
  v bigint;
BEGIN
  -- One call does the whole transaction; the calls for its other scopes find nothing left.
  IF NOT EXISTS (SELECT 1 FROM papers_contentchange WHERE txid = me) THEN
    RETURN NULL;
  END IF;
  {BUMP_STAR.format(now=NOW_POSTGRESQL, greatest="GREATEST")} RETURNING value INTO v;
  INSERT INTO papers_contentversion (scope, value)
    SELECT scope, v FROM papers_contentchange WHERE txid = me AND scope <> '*'
    ON CONFLICT (scope) DO UPDATE SET value = excluded.value;
  DELETE FROM papers_contentchange WHERE txid = me;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER papers_contentchange_commit AFTER INSERT ON papers_contentchange
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION papers_content_commit();
"""
# (table, function, events): the statement triggers that note a change.
POSTGRESQL_TRIGGERS = [
    ("papers_paper", "papers_paper_content", ["UPDATE", "DELETE", "TRUNCATE"]),
    ("papers_authorship", "papers_paper_part_content", ["INSERT", "UPDATE", "DELETE", "TRUNCATE"]),
    ("papers_listing", "papers_paper_part_content", ["INSERT", "UPDATE", "DELETE", "TRUNCATE"]),
    ("papers_upvote", "papers_paper_part_content", ["INSERT", "UPDATE", "DELETE", "TRUNCATE"]),
    ("papers_comment", "papers_paper_part_content", ["INSERT", "UPDATE", "DELETE", "TRUNCATE"]),
    ("papers_author", "papers_everything_content", ["UPDATE", "DELETE", "TRUNCATE"]),
    ("papers_authorclaim", "papers_everything_content", ["INSERT", "UPDATE", "DELETE", "TRUNCATE"]),
]
TRANSITION = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def _sqlite_scopes_of_paper(row: str) -> str:
    return (
        f"SELECT 'paper:' || {row}.paper_id AS s "
        f"UNION ALL SELECT 'day:' || day FROM papers_listing WHERE paper_id = {row}.paper_id "
        "UNION ALL SELECT 'trending'"
    )


def _sqlite_paper_scopes(event: str) -> str:
    row = "OLD" if event == "DELETE" else "NEW"
    scopes = (
        f"SELECT 'paper:' || {row}.id AS s "
        f"UNION ALL SELECT 'day:' || day FROM papers_listing WHERE paper_id = {row}.id "
        "UNION ALL SELECT 'trending'"
    )
    if event == "UPDATE":
        scopes += " UNION ALL SELECT 'all' WHERE OLD.hidden <> NEW.hidden"
    return scopes


def _sqlite_part_scopes(table: str, event: str) -> str:
    rows = ["OLD", "NEW"] if event == "UPDATE" else ["OLD" if event == "DELETE" else "NEW"]
    scopes = " UNION ALL ".join(_sqlite_scopes_of_paper(row) for row in rows)
    if table == "papers_listing":
        scopes += " UNION ALL SELECT 'days'"
        scopes += "".join(f" UNION ALL SELECT 'day:' || {row}.day" for row in rows)
    return scopes


# (table, events, scopes(table, event)): SQLite's row triggers.
SQLITE_TRIGGERS = [
    ("papers_paper", ["UPDATE", "DELETE"], lambda table, event: _sqlite_paper_scopes(event)),
    *(
        (table, ["INSERT", "UPDATE", "DELETE"], _sqlite_part_scopes)
        for table in ("papers_authorship", "papers_listing", "papers_upvote", "papers_comment")
    ),
    ("papers_author", ["UPDATE", "DELETE"], lambda table, event: "SELECT 'all' AS s"),
    ("papers_authorclaim", ["INSERT", "UPDATE", "DELETE"], lambda t, e: "SELECT 'all' AS s"),
]


def drop_old_triggers(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        for table in OLD_TABLES:
            run(f"DROP TRIGGER IF EXISTS {table}_content_version ON {table}")
        run("DROP FUNCTION IF EXISTS papers_bump_content_version()")
    else:
        for table in OLD_TABLES:
            for event in ("insert", "update", "delete"):
                run(f"DROP TRIGGER IF EXISTS {table}_content_version_{event}")


def create_triggers(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        run(POSTGRESQL_FUNCTIONS)
        for table, function, events in POSTGRESQL_TRIGGERS:
            for event in events:
                run(
                    f"CREATE TRIGGER {table}_content_{event.lower()} AFTER {event} ON {table} "
                    f"{TRANSITION.get(event, '')} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
                )
        return
    for table, events, scopes in SQLITE_TRIGGERS:
        for event in events:
            run(
                f"CREATE TRIGGER {table}_content_{event.lower()} AFTER {event} ON {table} BEGIN "
                f"{BUMP_STAR.format(now=NOW_SQLITE, greatest='max')}; "
                "INSERT INTO papers_contentversion (scope, value) SELECT s, "
                "(SELECT value FROM papers_contentversion WHERE scope = '*') "
                f"FROM ({scopes(table, event)}) WHERE true "
                "ON CONFLICT (scope) DO UPDATE SET value = excluded.value; END"
            )


def drop_triggers(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        for table, _, events in POSTGRESQL_TRIGGERS:
            for event in events:
                run(f"DROP TRIGGER IF EXISTS {table}_content_{event.lower()} ON {table}")
        run("DROP TRIGGER IF EXISTS papers_contentchange_commit ON papers_contentchange")
        for function in (
            "papers_content_commit()",
            "papers_everything_content()",
            "papers_paper_part_content()",
            "papers_paper_content()",
            "papers_papers_changed(bigint[])",
            "papers_content_changed(text[])",
        ):
            run(f"DROP FUNCTION IF EXISTS {function}")
        return
    for table, events, _ in SQLITE_TRIGGERS:
        for event in events:
            run(f"DROP TRIGGER IF EXISTS {table}_content_{event.lower()}")


def recreate_old_triggers(apps, schema_editor):
    from importlib import import_module

    import_module("broadsheet.papers.migrations.0009_contentversion").create_triggers(
        apps, schema_editor
    )


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0012_arrivals_and_shown"),
    ]

    operations = [
        migrations.RunPython(drop_old_triggers, recreate_old_triggers),
        migrations.RunSQL("DELETE FROM papers_contentversion", migrations.RunSQL.noop),
        migrations.AddField(
            model_name="contentversion",
            name="scope",
            field=models.CharField(default="*", max_length=64, unique=True),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="contentversion",
            name="value",
            field=models.BigIntegerField(db_index=True, default=0),
        ),
        migrations.CreateModel(
            name="ContentChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("txid", models.BigIntegerField()),
                ("scope", models.CharField(max_length=64)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("txid", "scope"), name="one_change_per_scope_and_transaction"
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
