"""BibTeX entries for papers."""

from __future__ import annotations

import re

from broadsheet.papers.models import Paper

# Characters that break a BibTeX/LaTeX build when meant literally. Inside $...$ they are left
# alone, because titles keep their LaTeX as written.
_SPECIAL = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_"}
_MATH = re.compile(r"(\$[^$]*\$)")


def escape(text: str) -> str:
    parts = _MATH.split(text)
    for i in range(0, len(parts), 2):  # even parts are outside math
        parts[i] = re.sub(r"(?<!\\)[&%#_]", lambda m: _SPECIAL[m.group()], parts[i])
    # Unbalanced braces would end the field early; drop the unmatched ones.
    out, depth = [], 0
    for ch in "".join(parts):
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                continue
            depth -= 1
        out.append(ch)
    out.extend("}" * depth)
    return "".join(out)


def cite_key(paper: Paper, author_names: list[str]) -> str:
    surname = re.sub(r"[^A-Za-z]", "", author_names[0].split()[-1]) if author_names else ""
    year = paper.published_at.year if paper.published_at else ""
    word = next(
        (w for w in re.findall(r"[A-Za-z]+", paper.title) if len(w) > 3),
        "paper",
    )
    key = f"{surname.lower()}{year}{word.lower()}"
    if paper.arxiv_id:
        key = f"{key}_{re.sub(r'[^0-9A-Za-z]', '', paper.arxiv_id)}"
    return key or paper.slug


def paper_bibtex(paper: Paper) -> str:
    names = [a.author.name for a in paper.authorships.all()]
    fields: list[tuple[str, str]] = [("title", "{" + escape(paper.title) + "}")]
    if names:
        fields.append(("author", " and ".join(escape(n) for n in names)))
    if paper.published_at:
        fields.append(("year", str(paper.published_at.year)))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", paper.primary_category))
    if paper.doi:
        fields.append(("doi", paper.doi))
    if paper.journal_ref:
        fields.append(("journal", escape(paper.journal_ref)))
    url = paper.abs_url or paper.project_url
    if url:
        fields.append(("url", url))
    entry = "article" if paper.journal_ref else "misc"
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
    return f"@{entry}{{{cite_key(paper, names)},\n{body}\n}}\n"


def papers_bibtex(papers) -> str:
    """One .bib file of many papers (a collection); prefetch `authorships__author`."""
    return "\n".join(paper_bibtex(p) for p in papers)
