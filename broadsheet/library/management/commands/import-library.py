"""broadsheet import-library --user NAME FILE | --zotero user:ID|group:ID | --broadsheet URL"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from broadsheet.library.entries import LibraryError
from broadsheet.library.imports import import_broadsheet, import_file, import_zotero
from broadsheet.library.zotero_library import ZoteroSource


class Command(BaseCommand):
    help = (
        "Import a member's library (a BibTeX or RIS file, a Zotero library or collection, or "
        "another Broadsheet's public collection) into a collection of theirs; its papers seed "
        "their picks. Importing the same library again updates that collection."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="the member's username")
        parser.add_argument("file", nargs="?", type=Path, help="a .bib or .ris file")
        parser.add_argument("--zotero", metavar="user:ID|group:ID", help="a Zotero library")
        parser.add_argument("--zotero-key", default="", help="a Zotero API key (read access)")
        parser.add_argument("--zotero-collection", default="", help="a collection's 8-char key")
        parser.add_argument("--broadsheet", metavar="URL", help="another Broadsheet's collection")
        parser.add_argument(
            "--fetch-max", type=int, default=None,
            help="arXiv papers to fetch at most (default BROADSHEET_LIBRARY_FETCH_MAX)",
        )  # fmt: skip

    def handle(self, *args, **opts):
        chosen = [x for x in (opts["file"], opts["zotero"], opts["broadsheet"]) if x]
        if len(chosen) != 1:
            raise CommandError("Give exactly one of FILE, --zotero or --broadsheet.")
        user = get_user_model().objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(f"No member is called {opts['user']!r}.")
        options = {"fetch_max": opts["fetch_max"]}
        try:
            if opts["file"]:
                path: Path = opts["file"]
                try:
                    data = path.read_bytes()
                except OSError as e:
                    raise CommandError(f"{path}: cannot read ({e.strerror})") from None
                report = import_file(user, path.name, data, **options)
            elif opts["zotero"]:
                kind, _, library_id = opts["zotero"].partition(":")
                source = ZoteroSource.checked(
                    kind, library_id, opts["zotero_key"], opts["zotero_collection"]
                )
                report = import_zotero(user, source, **options)
            else:
                report = import_broadsheet(user, opts["broadsheet"], **options)
        except LibraryError as e:
            raise CommandError(str(e)) from None
        for line in report.lines():
            self.stdout.write(line)
