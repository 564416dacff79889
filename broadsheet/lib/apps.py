from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "broadsheet.lib"
    label = "lib"
