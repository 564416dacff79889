"""arXiv's subject categories and the OAI-PMH sets that hold them.

arXiv's OAI-PMH sets are archives, not categories: `cs`, `math`, `stat`, and for physics
`physics:hep-th`, `physics:cond-mat`, ... A record names its categories inside its metadata
(`<categories>cs.LG cs.CL stat.ML</categories>`), so harvesting cs.LG means harvesting the
set `cs` and keeping the records that list cs.LG. A cross-listed paper is in the set of each
of its categories' archives.
"""

from __future__ import annotations

from collections.abc import Iterable

# Archive -> its categories' suffixes ("" for an archive that is a category itself, such as
# hep-th). From arXiv's category taxonomy (https://arxiv.org/category_taxonomy).
_TAXONOMY: dict[str, str] = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS "
    "NA NE NI OH OS PF PL RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR "
    "QA RA RT SG SP ST",
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "gr-qc": "",
    "hep-ex": "",
    "hep-lat": "",
    "hep-ph": "",
    "hep-th": "",
    "math-ph": "",
    "nlin": "AO CD CG PS SI",
    "nucl-ex": "",
    "nucl-th": "",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an "
    "ed-ph flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "quant-ph": "",
    "q-bio": "BM CB GN MC NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
# Archives that are sets of their own; the others are inside the set `physics`.
_TOP_SETS = {"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"}

CATEGORIES: frozenset[str] = frozenset(
    f"{archive}.{suffix}" for archive, suffixes in _TAXONOMY.items() for suffix in suffixes.split()
) | frozenset(a for a, suffixes in _TAXONOMY.items() if not suffixes or a == "astro-ph")
ARCHIVES: frozenset[str] = frozenset(_TAXONOMY)


class UnknownCategory(ValueError):
    pass


def archive_of(category: str) -> str:
    return category.split(".", 1)[0]


def oai_set(archive: str) -> str:
    """The OAI-PMH set that holds an archive's records: `cs`, `physics:hep-th`."""
    return archive if archive in _TOP_SETS else f"physics:{archive}"


def sets_for(categories: Iterable[str]) -> dict[str, frozenset[str]]:
    """The OAI sets to harvest for these categories (or whole archives, such as `cs`), each
    with the asked categories it holds. Raises UnknownCategory naming what arXiv has not."""
    by_set: dict[str, set[str]] = {}
    for category in categories:
        if category not in CATEGORIES and category not in ARCHIVES:
            raise UnknownCategory(
                f"{category!r} is not an arXiv category or archive (e.g. cs.LG, hep-th, math)"
            )
        by_set.setdefault(oai_set(archive_of(category)), set()).add(category)
    return {s: frozenset(cats) for s, cats in sorted(by_set.items())}


def matches(record_categories: Iterable[str], wanted: frozenset[str]) -> bool:
    """Whether a record listing these categories is in one of the wanted categories or
    archives (`cs` wants every cs.* category)."""
    return any(c in wanted or archive_of(c) in wanted for c in record_categories)
