from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "broadsheet.digests"
    label = "digests"
