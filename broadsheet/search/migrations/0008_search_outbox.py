"""PostgreSQL: the change log that each node's search follower replays (postgresql/follower.py).

Triggers note the id of every paper whose searchable rows change (the paper, its authorships,
its search document), in the transaction that changes them, once some node follows (a row
in search_node): a site on the database engine writes nothing there. Nothing on SQLite,
whose one process indexes in the writer's transaction."""

from django.db import migrations

# (table, column holding the paper id, columns whose change matters on UPDATE)
WATCHED = [
    (
        "papers_paper",
        "id",
        ["title", "abstract", "published_at", "primary_category", "categories", "hidden"],
    ),
    ("papers_authorship", "paper_id", ["paper_id", "author_id", "position"]),
    ("search_document", "paper_id", ["authors", "text_hash", "embedded_at", "model_id"]),
]

TABLES = """
CREATE TABLE search_outbox (
    seq bigserial PRIMARY KEY,
    paper_id bigint NOT NULL,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX search_outbox_xid_idx ON search_outbox (xid);
CREATE TABLE search_node (
    name varchar(100) PRIMARY KEY,
    watermark xid8 NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE search_outbox_floor (
    id smallint PRIMARY KEY DEFAULT 1,
    xid xid8 NOT NULL
);
"""


def trigger_sql(table: str, column: str, watched: list[str]) -> str:
    key = _row_key(table)
    changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in watched)
    return f"""
CREATE FUNCTION {table}_outbox_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM search_node) THEN RETURN NULL; END IF;  -- no node follows
    INSERT INTO search_outbox (paper_id) SELECT DISTINCT {column} FROM new_rows;
    IF FOUND THEN PERFORM pg_notify('search_outbox', ''); END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION {table}_outbox_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM search_node) THEN RETURN NULL; END IF;  -- no node follows
    INSERT INTO search_outbox (paper_id) SELECT DISTINCT {column} FROM old_rows;
    IF FOUND THEN PERFORM pg_notify('search_outbox', ''); END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION {table}_outbox_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM search_node) THEN RETURN NULL; END IF;  -- no node follows
    INSERT INTO search_outbox (paper_id)
    SELECT DISTINCT x.pid FROM new_rows n JOIN old_rows o ON o.{key} = n.{key},
        LATERAL (VALUES (n.{column}), (o.{column})) x(pid)
    WHERE {changed};
    IF FOUND THEN PERFORM pg_notify('search_outbox', ''); END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER {table}_outbox_ins AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_outbox_ins();
CREATE TRIGGER {table}_outbox_del AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_outbox_del();
CREATE TRIGGER {table}_outbox_upd AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_outbox_upd();
"""


def _row_key(table: str) -> str:
    """The column that identifies a row of `table` across an UPDATE."""
    return "paper_id" if table == "search_document" else "id"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(TABLES)
    for table, column, watched in WATCHED:
        schema_editor.execute(trigger_sql(table, column, watched))


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _, _ in WATCHED:
        for op in ("ins", "del", "upd"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_outbox_{op} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_outbox_{op}()")
    schema_editor.execute("DROP TABLE IF EXISTS search_outbox, search_node, search_outbox_floor")


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0007_document_tsv_pending_index"),
        ("papers", "0011_collection_library_source"),
    ]

    operations = [migrations.RunPython(create, drop)]
