from django.db import models


class HarvestState(models.Model):
    """Where a resumable harvest stands, so a killed harvest continues and the next one is
    incremental. One row per harvest name (e.g. "oai:cs")."""

    name = models.CharField(max_length=100, unique=True)
    # The OAI-PMH resumptionToken of the next page while a harvest is under way.
    resumption_token = models.TextField(blank=True)
    # The `from` date of the harvest under way, kept so a resumed run knows it.
    started_from = models.DateField(null=True, blank=True)
    # The newest datestamp seen in completed harvests: the next one starts there.
    last_datestamp = models.DateField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class ThumbnailFailure(models.Model):
    """A listed paper whose thumbnail could not be made (no PDF, a PDF PDFium cannot read, a
    source that refused): tried again after a wait that doubles each time, then given up, so
    a bad PDF is not fetched on every run. Deleted when a thumbnail is made."""

    paper = models.OneToOneField(
        "papers.Paper", on_delete=models.CASCADE, primary_key=True, related_name="thumbnail_failure"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField()
    error = models.CharField(max_length=500)

    def __str__(self) -> str:
        return f"thumbnail of paper {self.paper_id}: {self.error}"


class GitHubRepo(models.Model):
    """A repository papers link to, as last asked of GitHub's API: its stars, the ETag for
    the next (conditional, free of rate limit when unchanged) request, and when."""

    name = models.CharField(max_length=200, unique=True, help_text="owner/name, lower case")
    stars = models.PositiveIntegerField(null=True, blank=True)
    etag = models.CharField(max_length=200, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return self.name
