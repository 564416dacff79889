"""Generated hostile records through every source (JSON Lines, Hugging Face daily JSON, the
arXiv API's Atom, OAI-PMH XML): ingest never raises, stores every valid record of the batch,
and stores nothing of an invalid one.

Each generated batch holds records whose fields are all valid, and records with exactly one
hostile field; which is which is known from how they were made, so the expectation needs no
second copy of the validation rules. Bounded to a few seconds per source.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from xml.sax.saxutils import escape

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadsheet.ingest import jobs
from broadsheet.ingest.records import (
    EARLIEST_DATE,
    EARLIEST_LISTING_DAY,
    MAX_ARXIV_VERSION,
    MAX_COUNT,
)
from broadsheet.papers.models import Listing, Paper

from .conftest import ok

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 15
bounded = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

UTC = dt.UTC
TODAY = timezone.localdate()

# Valid values ---------------------------------------------------------------------------

# Text any source may carry: no lone surrogates, no NUL; XML also has no other C0 controls
# and no U+FFFE / U+FFFF, so the XML sources get that narrower alphabet.
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)
xml_text = st.text(
    st.characters(
        min_codepoint=0x20, exclude_categories=("Cs",), exclude_characters="\ufffe\uffff"
    ),
    max_size=30,
)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
when = st.datetimes(
    min_value=dt.datetime(1800, 1, 2), max_value=dt.datetime(2026, 1, 1), timezones=offsets
)
listing_day = st.dates(EARLIEST_LISTING_DAY, TODAY)
count = st.integers(0, MAX_COUNT)
version = st.integers(1, MAX_ARXIV_VERSION)

# Hostile values -------------------------------------------------------------------------


def spoiled(alphabet):
    """Valid text with a lone surrogate or a NUL in it."""
    bad = st.sampled_from(["\ud800", "\udfff", "\ud83d", "\x00"])
    return st.builds(lambda a, b, c: a + b + c, alphabet, bad, alphabet)


too_big = st.one_of(
    st.sampled_from([2**31, 2**63 - 1, 2**63, 2**64, 10**30]), st.integers(MAX_COUNT + 1, 2**80)
)
huge = st.one_of(too_big, st.integers(max_value=-1))
bad_when = st.one_of(
    st.sampled_from([
        "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T00:00:00+00:00",
        "1799-12-31T23:59:59+00:00", "2999-01-01T00:00:00Z",
    ]),
    st.datetimes(min_value=dt.datetime(2100, 1, 1), timezones=offsets).map(dt.datetime.isoformat),
)  # fmt: skip
bad_day = st.one_of(
    st.dates(max_value=EARLIEST_LISTING_DAY - dt.timedelta(days=1)),
    st.dates(min_value=TODAY + dt.timedelta(days=2)),
).map(dt.date.isoformat)
too_long = st.integers(1001, 3000).map(lambda n: "T" * n)
long_category = st.integers(33, 80).map(lambda n: "c" * n) | st.sampled_from(
    ["cs.LG},url={https://e.vil/", "cs;LG", "<b>cs</b>"]
)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@st.composite
def batches(
    draw, fields: dict[str, tuple], max_records: int = 6
) -> list[tuple[str, str | None, dict]]:
    """[(arxiv id, hostile field or None, values)]: each record valid but for at most one
    field; "id" as the hostile field means the id is typed with fullwidth digits."""
    out = []
    for i in range(draw(st.integers(1, max_records))):
        values = {name: draw(good) for name, (good, _) in fields.items()}
        bad = draw(st.one_of(st.none(), st.sampled_from(["id", *fields])))
        arxiv_id = f"2401.{10000 + i:05d}"
        if bad == "id":
            values["id"] = arxiv_id.translate(FULLWIDTH)
        else:
            values["id"] = arxiv_id
            if bad is not None:
                values[bad] = draw(fields[bad][1])
        out.append((arxiv_id, bad, values))
    return out


def isolated(check):
    """Run one example in a savepoint rolled back afterwards: every example starts empty."""
    with transaction.atomic():
        check()
        transaction.set_rollback(True)


def assert_stored_exactly_the_valid_ones(batch, counts_rejected: int, extra_rejected: int = 0):
    valid = {arxiv_id for arxiv_id, bad, _ in batch if bad is None}
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == valid
    assert counts_rejected == len(batch) - len(valid) + extra_rejected
    # And what was stored is within every column's range.
    for p in Paper.objects.all():
        assert 0 <= p.source_upvotes <= MAX_COUNT
        assert p.author_count is None or 0 <= p.author_count <= MAX_COUNT
        assert p.arxiv_version is None or 1 <= p.arxiv_version <= MAX_ARXIV_VERSION
        for value in (p.published_at, p.updated_at):
            assert value is None or EARLIEST_DATE <= value <= timezone.now() + dt.timedelta(2)
        for value in (p.title, p.abstract, p.comment):
            assert "\x00" not in value
            value.encode("utf-8")
    for day in Listing.objects.values_list("day", flat=True):
        assert EARLIEST_LISTING_DAY <= day <= TODAY + dt.timedelta(days=1)


# JSON Lines -----------------------------------------------------------------------------

JSONL_FIELDS = {
    "title": (text.map(lambda t: "T" + t), st.one_of(spoiled(text), too_long)),
    "abstract": (text, spoiled(text)),
    "comment": (text, spoiled(text)),
    "authors": (st.lists(text, max_size=3), st.lists(spoiled(text), min_size=1, max_size=2)),
    "source_upvotes": (count, huge),
    "author_count": (count, huge),
    "arxiv_version": (version, huge),
    "published_at": (when.map(dt.datetime.isoformat), bad_when),
    "listing_day": (listing_day.map(dt.date.isoformat), bad_day),
}
BROKEN_LINES = st.sampled_from([
    "[" * 100_000 + "]" * 100_000,
    '{"a": ' * 50_000 + "1" + "}" * 50_000,
    '{"arxiv_id": "2401.99999", "title": "x", "source_upvotes": ' + "9" * 5000 + "}",
    '{"title": "unterminated',
    "\ud800",
])  # fmt: skip


@bounded
@given(batch=batches(JSONL_FIELDS), broken=st.lists(BROKEN_LINES, max_size=2))
def test_jsonl_stores_every_valid_line_and_nothing_else(batch, broken, tmp_path_factory):
    lines = [json.dumps({"arxiv_id": v.pop("id"), **v}) for _, _, v in batch]
    path = tmp_path_factory.mktemp("jsonl") / "batch.jsonl"
    path.write_text("\n".join(lines + broken) + "\n", encoding="utf-8", errors="surrogatepass")

    def check():
        out = io.StringIO()
        call_command("ingest", "jsonl", str(path), "--batch-size", "3", stdout=out)
        rejected = int(out.getvalue().split(", ")[3].split()[0])
        assert_stored_exactly_the_valid_ones(batch, rejected, extra_rejected=len(broken))

    isolated(check)


# Hugging Face daily papers ----------------------------------------------------------------

HF_FIELDS = {
    "title": (text.map(lambda t: "T" + t), st.one_of(spoiled(text), too_long)),
    "summary": (text, spoiled(text)),
    "authors": (
        st.lists(text.map(lambda n: {"name": n}), max_size=3),
        st.lists(spoiled(text).map(lambda n: {"name": n}), min_size=1, max_size=2),
    ),
    "upvotes": (count, too_big),  # a negative figure HF drops, and keeps the paper
    "publishedAt": (when.map(dt.datetime.isoformat), bad_when),
    "submittedOnDailyAt": (when.map(dt.datetime.isoformat), bad_when),
}


@bounded
@given(batch=batches(HF_FIELDS))
def test_hf_daily_stores_every_valid_item_and_nothing_else(batch, sources, polite):
    items = [{"paper": values} for _, _, values in batch]
    sources.script("/api/daily_papers", ok(json.dumps(items), "application/json"), query={"p": 0})

    def check():
        counts = jobs.ingest_hf_daily({"date": TODAY.isoformat()}, client=polite)
        assert_stored_exactly_the_valid_ones(batch, counts.rejected)

    isolated(check)


# arXiv API (Atom) ---------------------------------------------------------------------------

XML_FIELDS = {
    "title": (xml_text.map(lambda t: "T" + t), too_long),
    "abstract": (xml_text, st.just("A" * 20_001)),
    "authors": (st.lists(xml_text, max_size=3), st.just(["A" * 301])),
    "category": (st.sampled_from(["cs.LG", "math.GT", "hep-th"]), long_category),
    "published": (when.map(dt.datetime.isoformat), bad_when),
}


def atom(batch) -> bytes:
    entries = []
    for _, _, v in batch:
        authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in v["authors"])
        entries.append(
            f"<entry><id>http://arxiv.org/abs/{v['id']}v1</id>"
            f"<published>{v['published']}</published><title>{escape(v['title'])}</title>"
            f"<summary>{escape(v['abstract'])}</summary>{authors}"
            f'<category term="{escape(v["category"])}"/></entry>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        f"<opensearch:totalResults>{len(batch)}</opensearch:totalResults>"
        + "".join(entries)
        + "</feed>"
    ).encode()


@bounded
@given(batch=batches(XML_FIELDS))
def test_arxiv_api_stores_every_valid_entry_and_nothing_else(batch, sources, polite):
    sources.script("/api/query", ok(atom(batch)), query={"start": 0})

    def check():
        counts = jobs.ingest_arxiv("cat:cs.LG", max_results=len(batch), client=polite)
        assert_stored_exactly_the_valid_ones(batch, counts.rejected)

    isolated(check)


# OAI-PMH ------------------------------------------------------------------------------------

OAI_FIELDS = {
    **{k: v for k, v in XML_FIELDS.items() if k != "published"},
    "created": (
        st.dates(dt.date(1800, 1, 2), TODAY).map(dt.date.isoformat),
        bad_day.filter(lambda d: d < "1800" or d > str(TODAY + dt.timedelta(days=2))),
    ),
}


def oai(batch) -> bytes:
    records = []
    for _, _, v in batch:
        authors = "".join(
            f"<author><keyname>{escape(a)}</keyname></author>" for a in v["authors"] if a.strip()
        )
        records.append(
            f"<record><header><identifier>oai:arXiv.org:{v['id']}</identifier>"
            f"<datestamp>{v['created']}</datestamp></header><metadata>"
            f'<arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>{v["id"]}</id>'
            f"<created>{v['created']}</created><authors>{authors}</authors>"
            f"<title>{escape(v['title'])}</title><categories>{escape(v['category'])}</categories>"
            f"<abstract>{escape(v['abstract'])}</abstract></arXiv></metadata></record>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        + "".join(records)
        + "<resumptionToken/></ListRecords></OAI-PMH>"
    ).encode()


@bounded
@given(batch=batches(OAI_FIELDS))
def test_oai_stores_every_valid_record_and_nothing_else(batch, sources, polite):
    sources.script("/oai", ok(oai(batch)))

    def check():
        counts = jobs.ingest_oai("cs", client=polite)
        assert_stored_exactly_the_valid_ones(batch, counts.rejected)
        # The next harvest never starts past tomorrow.
        state = jobs.HarvestState.objects.get(name="oai:cs")
        newest = state.last_datestamp
        assert newest is None or newest <= TODAY + dt.timedelta(days=1)

    isolated(check)
