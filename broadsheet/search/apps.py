from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "broadsheet.search"
    label = "search"
    verbose_name = "Search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from broadsheet.papers.filters import use_keyword_matcher
        from broadsheet.papers.signals import bulk_change_hooks, papers_changed
        from broadsheet.search.indexing import bulk_import, on_papers_changed
        from broadsheet.search.papers_search import keyword_matches
        from broadsheet.search.spelling import deferred

        papers_changed.connect(on_papers_changed, dispatch_uid="broadsheet.search.index")
        for hook in (bulk_import, deferred):
            if hook not in bulk_change_hooks:
                bulk_change_hooks.append(hook)
        use_keyword_matcher(keyword_matches)
