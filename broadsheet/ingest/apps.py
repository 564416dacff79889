from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "broadsheet.ingest"
    label = "ingest"
