"""`broadsheet render-pages`: render changed cached pages outside the serving processes."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from broadsheet.front import page_renderer

log = logging.getLogger("broadsheet.pages")


class Command(BaseCommand):
    help = (
        "Render again the cached anonymous pages that changed (a vote, a listing, a comment), "
        "as the web workers ask, so that no serving process spends its time rendering. "
        "`broadsheet serve` starts it; safe to kill at any time (the workers then render)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="render what is asked now, exit")

    def handle(self, *args, once=False, **options):
        if not settings.PAGE_CACHE_SECONDS or settings.PRIVATE:
            raise CommandError(
                "the page cache is off (BROADSHEET_PAGE_CACHE_SECONDS=0 or a private site): "
                "there are no cached pages to render"
            )
        if not once:
            self.stdout.write("Rendering changed pages as the web workers ask.")
            self.stdout.flush()
        rendered = page_renderer.run(once=once)
        log.info("page renderer: %d pages rendered", rendered)
        if once:
            self.stdout.write(f"Rendered {rendered} pages.")
