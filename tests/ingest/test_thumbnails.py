"""Thumbnails: the worker renders a listed paper's first PDF page (or downloads Hugging Face's
image) into the data directory, and the site serves it with long caching; failures wait."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from factories import list_paper, make_paper
from PIL import Image

from broadsheet.ingest.models import ThumbnailFailure
from broadsheet.ingest.thumbnails import MAX_ATTEMPTS, WIDTH, make_thumbnails, store
from broadsheet.papers.models import Paper

from .conftest import Reply

pytestmark = pytest.mark.django_db


def tiny_pdf(width: int = 612, height: int = 792) -> bytes:
    """A one-page PDF, written by hand: a black bar across the top half of a white page."""
    content = f"0 0 0 rg 0 {height // 2} {width} {height // 2} re f".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
        "/Contents 4 0 R /Resources << >> >>".encode(),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def png(width: int, height: int, colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def listed(title: str, **fields) -> Paper:
    paper = make_paper(title, **fields)
    list_paper(paper, timezone.localdate())
    return paper


def test_a_listed_paper_gets_its_first_page_served_with_long_caching(data_dir, replay, polite):
    pdf_paper = listed("With a PDF", pdf_url=replay.url("/pdf/2601.00001"))
    make_paper("Not listed", pdf_url=replay.url("/pdf/2601.00002"))
    replay.script("/pdf/2601.00001", Reply(200, tiny_pdf(), {"Content-Type": "application/pdf"}))

    counts = make_thumbnails(client=polite)

    assert (counts.made, counts.failed) == (1, 0)
    assert [r.path for r in replay.requests] == ["/pdf/2601.00001"]  # only listed papers
    pdf_paper.refresh_from_db()
    assert pdf_paper.thumbnail == pdf_paper.thumbnail_src == f"/thumbnails/{pdf_paper.pk}.webp"
    path = store() / f"{pdf_paper.pk}.webp"
    assert path.parent == data_dir / "thumbnails"
    image = Image.open(path)
    assert (image.format, image.width) == ("WEBP", WIDTH)
    assert abs(image.height - 792 * WIDTH / 612) <= 1  # the page's proportions
    rgb = image.convert("L")
    assert rgb.getpixel((WIDTH // 2, 20)) < 60  # the black bar, top half
    assert rgb.getpixel((WIDTH // 2, image.height - 20)) > 200  # white below
    assert path.stat().st_size < 20_000

    response = Client().get(pdf_paper.thumbnail)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert "max-age=604800" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == path.read_bytes()
    again = Client().get(pdf_paper.thumbnail, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert Client().get("/thumbnails/999999.webp").status_code == 404

    assert make_thumbnails(client=polite).made == 0  # made once
    assert len(replay.requests) == 1


def test_a_bad_pdf_is_recorded_and_not_fetched_on_every_run(data_dir, replay, polite):
    paper = listed("A broken PDF", pdf_url=replay.url("/pdf/bad"))
    replay.script("/pdf/bad", Reply(200, b"%PDF-1.4 not really"), repeat_last=True)

    assert make_thumbnails(client=polite).failed == 1
    failure = ThumbnailFailure.objects.get(paper=paper)
    assert failure.attempts == 1 and "PDF" in failure.error
    assert make_thumbnails(client=polite).failed == 0  # waiting: not fetched again
    assert len(replay.requests) == 1

    later = timezone.now()
    for attempt in range(2, MAX_ATTEMPTS + 1):
        later += dt.timedelta(days=10)
        with time_machine.travel(later):
            assert make_thumbnails(client=polite).failed == 1
        assert ThumbnailFailure.objects.get(paper=paper).attempts == attempt
    with time_machine.travel(later + dt.timedelta(days=365)):
        assert make_thumbnails(client=polite).failed == 0  # given up
    assert len(replay.requests) == MAX_ATTEMPTS
    paper.refresh_from_db()
    assert paper.thumbnail == "" and paper.thumbnail_src == ""


def test_a_source_image_is_downloaded_into_the_store(data_dir, replay, polite):
    paper = listed("From Hugging Face", thumbnail=replay.url("/social/2601.00003.png"))
    replay.script("/social/2601.00003.png", Reply(200, png(1200, 648)))
    assert paper.thumbnail_src == ""  # a remote image is never shown as it is

    assert make_thumbnails(client=polite).made == 1

    paper.refresh_from_db()
    assert paper.thumbnail == f"/thumbnails/{paper.pk}.webp"
    image = Image.open(store() / f"{paper.pk}.webp")
    assert image.size == (WIDTH, round(648 * WIDTH / 1200))
    assert image.convert("RGB").getpixel((10, 10))[0] > 150


def test_a_broken_source_image_falls_back_to_the_pdf(data_dir, replay, polite):
    paper = listed(
        "Image gone", thumbnail=replay.url("/social/gone.png"), pdf_url=replay.url("/pdf/ok")
    )
    replay.script("/social/gone.png", Reply(404, b"gone"))
    replay.script("/pdf/ok", Reply(200, tiny_pdf()))

    assert make_thumbnails(client=polite).made == 1
    paper.refresh_from_db()
    assert paper.thumbnail_src == f"/thumbnails/{paper.pk}.webp"


def test_a_run_is_bounded_newest_listings_first(data_dir, replay, polite, settings):
    settings.THUMBNAILS_PER_RUN = 2
    papers = []
    for i in range(3):
        paper = make_paper(f"Paper {i}", pdf_url=replay.url(f"/pdf/{i}"))
        list_paper(paper, timezone.localdate() - dt.timedelta(days=i))
        replay.script(f"/pdf/{i}", Reply(200, tiny_pdf()))
        papers.append(paper)

    assert make_thumbnails(client=polite).made == 2
    assert [r.path for r in replay.requests] == ["/pdf/0", "/pdf/1"]
    assert make_thumbnails(client=polite).made == 1
