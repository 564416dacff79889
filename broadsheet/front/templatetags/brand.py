"""Tags for pages rendered without a request, such as the 500 page: nothing here may touch
the database or the request."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def site_name() -> str:
    return settings.SITE_NAME
