"""A Zotero API key a member asked the site to remember, so that the library's collection can
be updated with one click. Stored encrypted (stored_keys.py); deleted with its collection."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from broadsheet.papers.models import Collection


class ZoteroKey(models.Model):
    collection = models.OneToOneField(
        Collection, on_delete=models.CASCADE, related_name="zotero_key"
    )
    encrypted = models.TextField(help_text="Fernet token of the API key (stored_keys.py)")
    saved = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Zotero key of collection {self.collection_id}"
