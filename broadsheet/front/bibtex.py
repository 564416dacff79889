"""BibTeX entries for papers.

Every value is escaped before it is written, so no source text can end its field or add one:
text fields (title, authors, journal) keep their LaTeX but get balanced braces, LaTeX's
special characters escaped outside $...$ and no backslash that could escape a brace; identifier
fields (eprint, primaryClass, doi, url) are written only when they look like what they are,
without braces, backslashes or spaces.
"""

from __future__ import annotations

import re

from broadsheet.papers.models import Paper

# Characters that break a BibTeX/LaTeX build when meant literally. Inside $...$ they are left
# alone, because titles keep their LaTeX as written.
_SPECIAL = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_"}
_MATH = re.compile(r"(\$[^$]*\$)")
# A backslash that starts no LaTeX command or escape (before a brace, a space, another
# backslash or the end): written as \textbackslash{} so it cannot escape the closing brace.
_LONE_BACKSLASH = re.compile(r"\\(?=[{}\s\\]|$)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# Identifiers, checked whole; anything else is dropped rather than written.
_ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}(v\d+)?|[a-z\-]+(\.[A-Z]{2})?/\d{7}(v\d+)?")
_CATEGORY = re.compile(r"[A-Za-z][A-Za-z0-9.\-]{0,31}")
_DOI = re.compile(r"10\.\d{4,9}/[^\s{}\\\"#%,]+")
_URL = re.compile(r"https?://[^\s{}\\\"]+")


def escape(text: str) -> str:
    """A text field's value: LaTeX kept, specials escaped outside math, braces balanced."""
    text = _CONTROL.sub(" ", text)
    text = _LONE_BACKSLASH.sub(r"\\textbackslash{}", text)
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


def escape_name(name: str) -> str:
    """One author: ` and ` inside a name would split it in two, so the word is braced."""
    return re.sub(r"(?i)(?<=\s)(and)(?=\s)", r"{\1}", escape(name))


def identifier(value: str | None, pattern: re.Pattern[str]) -> str | None:
    value = (value or "").strip()
    return value if pattern.fullmatch(value) else None


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
    return key or re.sub(r"[^0-9A-Za-z_\-]", "", paper.slug) or f"paper{paper.pk}"


def paper_bibtex(paper: Paper) -> str:
    names = [a.author.name for a in paper.authorships.all() if a.author.name.strip()]
    fields: list[tuple[str, str]] = [("title", "{" + escape(paper.title) + "}")]
    if names:
        fields.append(("author", " and ".join(escape_name(n) for n in names)))
    if paper.published_at:
        fields.append(("year", str(paper.published_at.year)))
    arxiv_id = identifier(paper.arxiv_id, _ARXIV_ID)
    if arxiv_id:
        fields += [("eprint", arxiv_id), ("archivePrefix", "arXiv")]
        if category := identifier(paper.primary_category, _CATEGORY):
            fields.append(("primaryClass", category))
    if doi := identifier(paper.doi, _DOI):
        fields.append(("doi", doi))
    if paper.journal_ref:
        fields.append(("journal", escape(paper.journal_ref)))
    url = identifier(paper.abs_url, _URL) or identifier(paper.project_url, _URL)
    if url is None and arxiv_id:
        url = f"https://arxiv.org/abs/{arxiv_id}"
    if url:
        fields.append(("url", url))
    entry = "article" if paper.journal_ref else "misc"
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
    return f"@{entry}{{{cite_key(paper, names)},\n{body}\n}}\n"


def papers_bibtex(papers) -> str:
    """One .bib file of many papers (a collection); prefetch `authorships__author`."""
    return "\n".join(paper_bibtex(p) for p in papers)
