"""Thumbnails of listed papers, made by the worker and served from our own site.

The first page of the paper's PDF is rendered with PDFium (pypdfium2) at WIDTH pixels and
stored as a small WebP file under DATA_DIR/thumbnails/<paper id>.webp; a paper from Hugging
Face's daily papers comes with HF's own image, which is downloaded into the same store
instead (a PDF is the fallback). Pages then show /thumbnails/<id>.webp and ask nothing of
outside services. PDFs come through the same polite client as ingest (arXiv's spacing).

Each run makes at most THUMBNAILS_PER_RUN, newest listings first. A paper whose thumbnail
cannot be made is tried again after RETRY_AFTER, doubled each time, and given up after
MAX_ATTEMPTS (ThumbnailFailure), so a bad PDF is not fetched on every run.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from broadsheet.ingest.http import FetchError, PoliteClient
from broadsheet.ingest.models import ThumbnailFailure
from broadsheet.papers.models import Paper

log = logging.getLogger("broadsheet.ingest")

WIDTH = 320
MAX_HEIGHT = 640  # a page taller than twice its width (a poster) is cut, not squeezed
WEBP_QUALITY = 70  # ~10-20 KB for a page of text at 320 px
URL_PREFIX = "/thumbnails/"
RETRY_AFTER = dt.timedelta(hours=6)
MAX_ATTEMPTS = 4
MAX_PIXELS = 40_000_000  # a downloaded image larger than this is refused, not decoded


class ThumbnailError(Exception):
    """A source's bytes are not a picture we can make a thumbnail of."""


def store() -> Path:
    return Path(settings.DATA_DIR) / "thumbnails"


def file_name(paper_id: int) -> str:
    return f"{int(paper_id)}.webp"


def url_of(paper_id: int) -> str:
    """What Paper.thumbnail holds once the file is made; the URL stays the same per paper."""
    return f"{URL_PREFIX}{file_name(paper_id)}"


def render_first_page(pdf: bytes, width: int = WIDTH):
    """The PDF's first page as a PIL image `width` pixels wide."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as e:
        raise ThumbnailError(f"not a PDF PDFium can read ({e})") from None
    try:
        if len(document) == 0:
            raise ThumbnailError("the PDF has no pages")
        page = document[0]
        page_width = page.get_width()
        if page_width <= 0:
            raise ThumbnailError("the first page has no width")
        bitmap = page.render(scale=width / page_width, fill_color=(255, 255, 255, 255))
        return bitmap.to_pil().convert("RGB")
    except pdfium.PdfiumError as e:
        raise ThumbnailError(f"PDFium could not render the first page ({e})") from None
    finally:
        document.close()


def scaled_image(data: bytes, width: int = WIDTH):
    """A downloaded image (Hugging Face's thumbnail) scaled to `width` pixels wide."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise ThumbnailError(f"an image of {image.width}x{image.height} pixels")
        image = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise ThumbnailError(f"not an image Pillow can read ({e})") from None
    if image.width != width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return image


def save(image, paper_id: int) -> Path:
    """Write the image as WebP, atomically (a server never sends half a file)."""
    if image.height > MAX_HEIGHT:
        image = image.crop((0, 0, image.width, MAX_HEIGHT))
    folder = store()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file_name(paper_id)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as tmp:
        image.save(tmp, "WEBP", quality=WEBP_QUALITY, method=6)
    os.replace(tmp.name, target)
    os.chmod(target, 0o644)
    return target


def due(limit: int) -> list[Paper]:
    """Listed, visible papers with no stored thumbnail that have somewhere to get one from
    and are not waiting after a failure: the newest listings first."""
    now = timezone.now()
    waiting = Q(thumbnail_failure__retry_at__gt=now) | Q(
        thumbnail_failure__attempts__gte=MAX_ATTEMPTS
    )
    return list(
        Paper.objects.filter(listing__isnull=False, listing__hidden=False, hidden=False)
        .exclude(thumbnail__startswith=URL_PREFIX)
        .filter(Q(thumbnail__startswith="http") | Q(pdf_url__startswith="http"))
        .exclude(waiting)
        .order_by("-listing__day", "-listing__submitted_at", "-pk")[:limit]
    )


def _sources(paper: Paper) -> list[tuple[str, str]]:
    """(kind, URL) to try in order: the source's own image, then the PDF."""
    out = []
    if paper.thumbnail.startswith(("https://", "http://")):
        out.append(("image", paper.thumbnail))
    if paper.pdf_url.startswith(("https://", "http://")):
        out.append(("pdf", paper.pdf_url))
    return out


class Clients:
    """One polite client per host: arXiv's spacing for arXiv, a second elsewhere."""

    def __init__(self, client: PoliteClient | None = None) -> None:
        self.only = client
        self.by_host: dict[str, PoliteClient] = {}

    def for_url(self, url: str) -> PoliteClient:
        if self.only is not None:
            return self.only
        host = urllib.parse.urlsplit(url).hostname or ""
        if host not in self.by_host:
            arxiv = host == "arxiv.org" or host.endswith(".arxiv.org")
            interval = settings.ARXIV_REQUEST_INTERVAL if arxiv else 1.0
            self.by_host[host] = PoliteClient(min_interval=interval, retries=2)
        return self.by_host[host]


def make_thumbnail(paper: Paper, clients: Clients) -> None:
    """Fetch and store one paper's thumbnail; raises ThumbnailError or FetchError."""
    errors = []
    for kind, url in _sources(paper):
        try:
            data = clients.for_url(url).get(url)
            image = scaled_image(data) if kind == "image" else render_first_page(data)
        except (FetchError, ThumbnailError) as e:
            errors.append(f"{kind}: {e}")
            continue
        save(image, paper.pk)
        return
    raise ThumbnailError("; ".join(errors) or "no PDF or image to make it from")


@dataclass
class ThumbnailCounts:
    made: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.made} thumbnails made, {self.failed} failed"


def make_thumbnails(limit: int | None = None, client: PoliteClient | None = None):
    """Thumbnails for up to `limit` (THUMBNAILS_PER_RUN) listed papers that lack one."""
    limit = settings.THUMBNAILS_PER_RUN if limit is None else limit
    counts = ThumbnailCounts()
    clients = Clients(client)
    for paper in due(limit):
        try:
            make_thumbnail(paper, clients)
        except ThumbnailError as e:
            _failed(paper, str(e))
            counts.failed += 1
            continue
        Paper.objects.filter(pk=paper.pk).update(thumbnail=url_of(paper.pk))
        ThumbnailFailure.objects.filter(paper_id=paper.pk).delete()
        counts.made += 1
    return counts


def _failed(paper: Paper, error: str) -> None:
    failure = ThumbnailFailure.objects.filter(paper_id=paper.pk).first()
    attempts = (failure.attempts if failure else 0) + 1
    retry_at = timezone.now() + RETRY_AFTER * 2 ** (attempts - 1)
    ThumbnailFailure.objects.update_or_create(
        paper_id=paper.pk,
        defaults={"attempts": attempts, "retry_at": retry_at, "error": error[:500]},
    )
    log.warning("thumbnail of %s: %s (attempt %d)", paper.ref, error, attempts)
