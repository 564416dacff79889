from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "broadsheet.search"
    label = "search"
    verbose_name = "Search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from broadsheet.papers.signals import papers_changed
        from broadsheet.search.indexing import on_papers_changed

        papers_changed.connect(on_papers_changed, dispatch_uid="broadsheet.search.index")
