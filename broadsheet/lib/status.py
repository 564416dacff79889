"""The sections of the admin status page (/admin/status/), registered by the apps that own
what they report, so the page needs no change when an app is added:

    from broadsheet.lib import status
    status.register("Digests", digest_status_rows)   # in the app's AppConfig.ready()

A section is a callable returning (label, value) rows. One that fails shows its error in its
place; the rest of the page still renders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Rows = Iterable[tuple[str, object]]

_sections: dict[str, Callable[[], Rows]] = {}


@dataclass
class Section:
    title: str
    rows: list[tuple[str, object]] = field(default_factory=list)
    error: str = ""


def register(title: str, rows: Callable[[], Rows]) -> None:
    """Add (or replace) the section `title`; sections show in the order registered."""
    _sections[title] = rows


def sections() -> list[Section]:
    out = []
    for title, rows in _sections.items():
        try:
            out.append(Section(title, [(str(k), v) for k, v in rows()]))
        except Exception as e:  # one broken section must not hide the others
            out.append(Section(title, error=f"{type(e).__name__}: {e}"))
    return out
