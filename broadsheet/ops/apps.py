from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running a site: serving, health checks, logs, the status page, backup and restore."""

    name = "broadsheet.ops"
    label = "ops"

    def ready(self) -> None:
        from broadsheet.ops import sections  # noqa: F401  (registers the core status sections)
