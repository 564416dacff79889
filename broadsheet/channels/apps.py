import logging

from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "broadsheet.channels"
    label = "channels"

    def ready(self):
        from broadsheet.lib import status

        from .status import channel_rows

        status.register("Channels", channel_rows)
        # Channel URLs hold secrets, and Apprise logs them (at DEBUG, whole URLs; some warnings
        # name a plugin's "host", which is a token for Slack or Telegram). Its records stay out
        # of the site's logs: deliver.py reads them from each send's result instead. urllib3
        # logs request paths (webhook tokens) at DEBUG.
        apprise_log = logging.getLogger("apprise")
        apprise_log.propagate = False
        apprise_log.setLevel(logging.WARNING)  # what deliver.py reads; DEBUG is never needed
        apprise_log.addHandler(logging.NullHandler())
        pool_log = logging.getLogger("urllib3.connectionpool")
        pool_log.setLevel(max(pool_log.getEffectiveLevel(), logging.INFO))
