"""Benchmark: `broadsheet backfill` of N records from a local OAI-PMH server, end to end.

    .venv/bin/python bench/backfill.py [--records 1000000] [--keywords]

The records are arXiv-shaped ListRecords pages of 1000 records chained by resumption tokens,
with the real titles and abstracts of broadsheet/papers/data/arxiv-1000.csv (recombined, numbered so
that no two texts are the same), varied ids, 1-8 authors and categories: 80% list cs.LG or
cs.CL (kept), the rest cs.CV or math.OC only (skipped by the filter). A second process serves
the pages, pre-written to files, on 127.0.0.1 with no spacing between requests.

The run: `backfill(["cs.LG", "cs.CL"], since=2015-01-01)` into a fresh SQLite site, then a
search by words and one by meaning for a known record. Prints each stage's time and rate,
and, as the same-run baseline, embed_texts() over the same texts alone: the ratio of the
whole backfill to that says what the harvest, import and indexing add to the embedding, the
floor of any backfill that makes papers searchable by meaning. Keywords (the slowest stage)
are left out unless --keywords; their rate is measured on a sample of 200 papers instead.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import multiprocessing
import os
import random
import tempfile
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from sitelib import django_in_process

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "broadsheet" / "papers" / "data" / "arxiv-1000.csv"
PAGE = 1000
NAMES = "Ada Alan Grace Edsger Barbara Donald Leslie Frances John Radia Yann Fei-Fei".split()
SURNAMES = "Lovelace Turing Hopper Dijkstra Liskov Knuth Lamport Allen McCarthy Perlman".split()
KEPT = ["cs.LG", "cs.CL", "cs.LG cs.CL", "cs.CL cs.AI", "cs.LG stat.ML"]
SKIPPED = ["cs.CV", "math.OC"]
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
    "<responseDate>2026-01-01T00:00:00Z</responseDate>"
    '<request verb="ListRecords">http://127.0.0.1/oai</request><ListRecords>\n'
)
META = '<arXiv xmlns="http://arxiv.org/OAI/arXiv/">'


def load_texts() -> list[tuple[str, str]]:
    with CSV.open(newline="", encoding="utf-8") as f:
        return [(r["titles"], " ".join(r["summaries"].split())) for r in csv.DictReader(f)]


def arxiv_id(i: int) -> str:
    block = i // 99_999  # new-style ids: YYMM.NNNNN, a month holds up to 99,999
    return f"{15 + block // 12:02d}{1 + block % 12:02d}.{i % 99_999 + 1:05d}"


def record(i: int, rng: random.Random, texts: list[tuple[str, str]]) -> tuple[str, bool]:
    title, abstract = texts[rng.randrange(len(texts))]
    kept = rng.random() < 0.8
    categories = rng.choice(KEPT if kept else SKIPPED)
    created = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(3650))
    authors = "".join(
        f"<author><keyname>{rng.choice(SURNAMES)}</keyname>"
        f"<forenames>{rng.choice(NAMES)}</forenames></author>"
        for _ in range(rng.randint(1, 8))
    )
    ident = arxiv_id(i)
    xml = (
        f"<record><header><identifier>oai:arXiv.org:{ident}</identifier>"
        f"<datestamp>2025-06-01</datestamp><setSpec>cs</setSpec></header><metadata>{META}"
        f"<id>{ident}</id><created>{created}</created><authors>{authors}</authors>"
        f"<title>{escape(title)} ({i})</title><categories>{categories}</categories>"
        f"<abstract>{escape(abstract)} (Record {i}.)</abstract></arXiv></metadata></record>\n"
    )
    return xml, kept


def generate(directory: Path, n: int) -> int:
    """Pages page-0.xml, page-1.xml, ... in `directory`; returns how many records are kept."""
    rng = random.Random(1)
    texts = load_texts()
    pages = (n + PAGE - 1) // PAGE
    kept = 0
    for p in range(pages):
        rows = []
        for i in range(p * PAGE, min(n, (p + 1) * PAGE)):
            xml, k = record(i, rng, texts)
            rows.append(xml)
            kept += k
        token = f"bench|{p + 1}" if p + 1 < pages else ""
        tail = (
            f'<resumptionToken cursor="{p * PAGE}" completeListSize="{n}">{token}'
            "</resumptionToken></ListRecords></OAI-PMH>\n"
        )
        (directory / f"page-{p}.xml").write_text(HEAD + "".join(rows) + tail, encoding="utf-8")
    return kept


def serve(directory: str, port: multiprocessing.Value) -> None:
    """The OAI-PMH source: page 0 for a new harvest, page k for resumptionToken bench|k."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            token = query.get("resumptionToken", "bench|0")
            body = Path(directory, f"page-{int(token.split('|')[1])}.xml").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.value = server.server_address[1]
    server.serve_forever()


def rate(count: int, seconds: float) -> str:
    return f"{seconds:7.1f} s  {count / seconds if seconds else 0:8,.0f} /s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--keywords", action="store_true", help="run the keywords stage too")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pages = tmp / "pages"
        pages.mkdir()
        started = time.perf_counter()
        kept = generate(pages, args.records)
        print(
            f"generated {args.records:,} records ({kept:,} in cs.LG/cs.CL) in "
            f"{(args.records + PAGE - 1) // PAGE} pages in {time.perf_counter() - started:.1f} s"
        )
        port = multiprocessing.Value("i", 0)
        source = multiprocessing.get_context("fork").Process(
            target=serve, args=(str(pages), port), daemon=True
        )
        source.start()
        while not port.value:
            time.sleep(0.01)
        try:
            run(tmp / "data", f"http://127.0.0.1:{port.value}/oai", kept, args.keywords)
        finally:
            source.terminate()
            source.join()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def run(data_dir: Path, url: str, kept: int, keywords: bool) -> None:
    django_in_process(data_dir, BROADSHEET_ARXIV_OAI_URL=url, BROADSHEET_ARXIV_REQUEST_INTERVAL="0")
    from broadsheet.ops.backfill import backfill
    from broadsheet.papers.models import Paper
    from broadsheet.search.backends import get_backend
    from broadsheet.search.embedder import embed_query, embed_texts, paper_text
    from broadsheet.search.keywords import keyword_missing
    from broadsheet.search.query import parse
    from broadsheet.search.results import Filters

    embed_texts(["load the model before the clock starts"])
    started = time.perf_counter()
    counts = backfill(["cs.LG", "cs.CL"], dt.date(2015, 1, 1), keywords=keywords)
    total = time.perf_counter() - started
    assert counts.stored.new == kept == Paper.objects.count(), (counts, kept)
    assert counts.embedded == kept, counts
    s = counts.seconds
    print(f"backfill: {counts}")
    print(f"  harvest + import (overlapped) {rate(counts.harvested, s['harvest'])} records")
    print(f"    of which importing          {rate(counts.kept, s['import'])} records")
    print(f"  embed + vector index          {rate(counts.embedded, s['embed'])} papers")
    if keywords:
        print(f"  keywords                      {rate(counts.keywords, s['keywords'])} papers")
    print(f"  total                         {rate(kept, total)} papers")

    some = Paper.objects.order_by("?").first()
    backend = get_backend()
    by_words = [pid for pid, _ in backend.lexical(parse(f'"{some.title}"'), Filters(), 10)]
    # Texts repeat (1000 abstracts): by meaning, the nearest paper has the same abstract.
    nearest = backend.semantic(embed_query(some.abstract[:200]), Filters(), 10)
    nearest_abstract = Paper.objects.get(pk=nearest[0][0]).abstract if nearest else ""
    print(
        f"searchable: by words {'yes' if by_words[:1] == [some.pk] else 'NO'}, by meaning "
        f"{'yes' if nearest_abstract[:200] == some.abstract[:200] else 'NO'}"
    )

    texts = [
        paper_text(t, a) for t, a in Paper.objects.order_by("pk").values_list("title", "abstract")
    ]
    started = time.perf_counter()
    embed_texts(texts)
    alone = time.perf_counter() - started
    print(f"baseline: embed_texts alone  {rate(len(texts), alone)} papers")
    print(f"ratio: the backfill took {total / alone:.2f}x the time of embedding alone")
    if not keywords:
        Paper.objects.filter(pk__in=Paper.objects.order_by("pk").values("pk")[:200]).update(
            ai_keywords=None
        )
        started = time.perf_counter()
        done = keyword_missing(limit=200).papers
        print(f"keywords (a sample)          {rate(done, time.perf_counter() - started)} papers")


if __name__ == "__main__":
    main()
