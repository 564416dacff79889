from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "broadsheet.library"
    label = "library"
    verbose_name = "Library import"
