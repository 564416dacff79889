from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "broadsheet.digests"
    label = "digests"

    def ready(self):
        from broadsheet.lib import status

        from .status import digest_rows

        status.register("Digests", digest_rows)
