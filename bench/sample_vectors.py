"""Make the vectors and keywords of the sample's arXiv set that ship in the package.

    .venv/bin/python bench/sample_vectors.py

Embeds every row of broadsheet/papers/data/arxiv-1000.csv with the site's own embedder (the
text `broadsheet embed` would embed), picks each paper's keywords as `broadsheet keywords`
would, and writes data/arxiv-1000-vectors.npy (float16, one row per CSV row) and
data/arxiv-1000-vectors.json (the model's name, each row's text hash, the keywords).
`load-sample` stores them when the site's model has the same name. Run it again when the
model or the CSV changes.
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
    from broadsheet.papers import sample
    from broadsheet.search.backends.base import text_hash
    from broadsheet.search.embedder import embed_texts, model_name, paper_text
    from broadsheet.search.keywords import extract

    rows = sample.arxiv_rows()
    started = time.perf_counter()
    vectors = embed_texts([paper_text(r.title, r.abstract) for r in rows])
    embedded = time.perf_counter()
    keywords: list[list[str]] = []
    for start in range(0, len(rows), 64):
        chunk = rows[start : start + 64]
        vecs = vectors[start : start + 64]
        keywords += extract(
            [(r.title, r.abstract, v) for r, v in zip(chunk, vecs, strict=True)],
            lambda texts: embed_texts(texts, batch_size=32),
        )
    done = time.perf_counter()
    data = ROOT / "broadsheet" / "papers"
    np.save(data / sample.VECTORS_FILE, vectors.astype(np.float16))
    meta = {
        "model": model_name(),
        "rows": len(rows),
        "text_hashes": [text_hash(r.title, r.abstract) for r in rows],
        "keywords": keywords,
    }
    (data / sample.VECTORS_META).write_text(json.dumps(meta, ensure_ascii=False) + "\n")
    print(
        f"{len(rows)} rows: embedded in {embedded - started:.1f} s, keywords in "
        f"{done - embedded:.1f} s; model {meta['model']}"
    )


if __name__ == "__main__":
    main()
