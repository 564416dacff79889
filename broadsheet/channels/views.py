"""Channel pages under the member's settings, and the site's channels for moderators. Thin:
nothing here sends anything; a test message is queued for the worker (see `test_send`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from broadsheet.channels.forms import ChannelForm
from broadsheet.channels.models import Channel
from broadsheet.papers.moderation import is_moderator


def _list_url(channel_or_site) -> str:
    site = channel_or_site if isinstance(channel_or_site, bool) else channel_or_site.site_wide
    return reverse("channels:site" if site else "channels:mine")


def _channel(request: HttpRequest, channel_id: int) -> Channel:
    """The channel, if it is the member's own or a site channel and they moderate."""
    channel = Channel.objects.select_related("saved_search").filter(id=channel_id).first()
    if channel is None:
        raise Http404("No such channel.")
    if channel.site_wide:
        if not is_moderator(request.user):
            raise PermissionDenied("Only moderators manage the site's channels.")
    elif channel.owner_id != request.user.pk:
        raise Http404("No such channel.")
    return channel


def _list(request: HttpRequest, site: bool) -> HttpResponse:
    owner = None if site else request.user
    form = ChannelForm(request.POST or None, owner=owner)
    if request.method == "POST" and form.is_valid():
        channel = form.save()
        messages.success(request, f"Channel “{channel.name}” added. Send a test message to check.")
        return redirect(_list_url(site))
    channels = Channel.objects.filter(owner=owner).select_related("saved_search")
    context = {
        "form": form,
        "channels": channels,
        "site": site,
        "moderator": is_moderator(request.user),
    }
    return render(request, "channels/list.html", context, status=400 if form.errors else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mine(request: HttpRequest) -> HttpResponse:
    return _list(request, site=False)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def site(request: HttpRequest) -> HttpResponse:
    if not is_moderator(request.user):
        raise PermissionDenied("Only moderators manage the site's channels.")
    return _list(request, site=True)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel(request, channel_id)
    form = ChannelForm(request.POST or None, instance=channel, owner=channel.owner)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Channel saved.")
        return redirect(_list_url(channel))
    context = {"form": form, "channel": channel}
    return render(request, "channels/edit.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def test_send(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Queue a test message. The worker sends it within seconds (`channel-tests` job): the web
    request never waits on a destination that may take BROADSHEET_CHANNEL_TIMEOUT seconds or
    more to answer (SMTP, a slow webhook), and sending stays in one place, with its timeouts."""
    channel = _channel(request, channel_id)
    Channel.objects.filter(id=channel.id).update(test_due=True, test_result="", test_done_at=None)
    messages.success(request, "Test message queued: its result shows here within seconds.")
    return redirect(_list_url(channel))


@login_required
@require_POST
def delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel(request, channel_id)
    channel.delete()
    messages.success(request, f"Channel “{channel.name}” deleted.")
    return redirect(_list_url(channel))
