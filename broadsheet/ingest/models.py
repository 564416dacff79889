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
