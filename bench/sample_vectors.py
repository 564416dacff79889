"""Make the vectors and keywords of the sample's arXiv set that ship in the package.

    .venv/bin/python bench/sample_vectors.py

Embeds every record of the sample files (broadsheet/papers/data/seed-papers.json and
arxiv-1000.csv) with the site's own embedder (the text `broadsheet embed` would embed), picks
each paper's keywords as `broadsheet keywords` would, and writes data/<file>-vectors.npy
(float16, one row per record) and data/<file>-vectors.json (the model's name, each record's
text hash, the keywords). `load-sample` stores them when the site's model has the same name.
Run it again when the model or a file changes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BROADSHEET_DEBUG", "true")


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")
    django.setup()
    from broadsheet.ops import sample
    from broadsheet.search.backends.base import text_hash
    from broadsheet.search.embedder import embed_texts, model_name, paper_text
    from broadsheet.search.keywords import extract

    listing = [
        (" ".join(r["title"].split()), " ".join(r["abstract"].split()))
        for r in sample.sample_records()
    ]
    arxiv = [(r.title, r.abstract) for r in sample.arxiv_rows()]
    for stem, texts in ((sample.LISTING_VECTORS, listing), (sample.ARXIV_VECTORS, arxiv)):
        started = time.perf_counter()
        vectors = embed_texts([paper_text(t, a) for t, a in texts])
        embedded = time.perf_counter()
        keywords: list[list[str]] = []
        for start in range(0, len(texts), 64):
            chunk = zip(texts[start : start + 64], vectors[start : start + 64], strict=True)
            keywords += extract(
                [(t, a, v) for (t, a), v in chunk],
                lambda phrases: embed_texts(phrases, batch_size=32),
            )
        done = time.perf_counter()
        data = ROOT / "broadsheet" / "papers" / "data"
        np.save(data / f"{stem}-vectors.npy", vectors.astype(np.float16))
        meta = {
            "model": model_name(),
            "rows": len(texts),
            "text_hashes": [text_hash(t, a) for t, a in texts],
            "keywords": keywords,
        }
        (data / f"{stem}-vectors.json").write_text(json.dumps(meta, ensure_ascii=False) + "\n")
        print(
            f"{stem}: {len(texts)} rows embedded in {embedded - started:.1f} s, keywords in "
            f"{done - embedded:.1f} s; model {meta['model']}"
        )


if __name__ == "__main__":
    main()
