"""Digest pages: subscribe, confirm, unsubscribe (one click, no login), manage, preview,
saved searches. Thin: the rules are in subscribe.py; nothing here sends email (the worker
sends confirmations and digests)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from broadsheet.digests import subscribe as rules
from broadsheet.digests import tokens
from broadsheet.digests.compose import preview as compose_preview
from broadsheet.digests.emails import digest_context
from broadsheet.digests.forms import PreferencesForm, SaveSearchForm, SubscribeForm
from broadsheet.digests.models import Subscription
from broadsheet.digests.periods import current_periods
from broadsheet.lib.mail_limits import limit_posts


def _bad_link(request: HttpRequest) -> HttpResponse:
    return render(request, "digests/bad_link.html", status=404)


@never_cache
@require_http_methods(["GET", "POST"])
@limit_posts("digest-subscribe")
def subscribe_page(request: HttpRequest) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    initial = {"email": user.email} if user else {}
    form = SubscribeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        mine = user if user and email.strip().lower() == (user.email or "").lower() else None
        try:
            rules.subscribe(email, user=mine, frequency=form.cleaned_data["frequency"])
        except rules.DigestError as e:
            form.add_error("email", str(e))
        else:
            return render(request, "digests/check_inbox.html", {"email": email.strip()})
    status = 400 if form.errors else 200
    return render(request, "digests/subscribe.html", {"form": form}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def confirm_page(request: HttpRequest, token: str) -> HttpResponse:
    # GET shows a button and POST confirms: mail scanners that follow links must not confirm.
    sub = tokens.read_token(token, tokens.CONFIRM)
    if sub is None or not sub.active:
        return _bad_link(request)
    if request.method == "POST":
        rules.confirm(sub)
        return render(request, "digests/confirmed.html", {"subscription": sub})
    return render(request, "digests/confirm.html", {"subscription": sub})


@csrf_exempt  # RFC 8058: mail providers POST `List-Unsubscribe=One-Click`; the token is the proof
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    sub = tokens.read_token(token, tokens.UNSUBSCRIBE)
    if sub is None:
        return render(request, "digests/unsubscribed.html", {"unknown": True}, status=404)
    if request.method == "POST":
        rules.unsubscribe(sub)
        return render(request, "digests/unsubscribed.html", {"subscription": sub})
    return render(request, "digests/unsubscribe.html", {"subscription": sub})


def _preferences(request: HttpRequest, sub: Subscription, template: str, extra: dict):
    form = PreferencesForm(request.POST or None, instance=sub)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Your digest settings are saved.")
            return redirect(request.path)
    context = {"form": form, "subscription": sub, **extra}
    return render(request, template, context, status=400 if form.errors else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def manage_page(request: HttpRequest, token: str) -> HttpResponse:
    """Settings of a subscription, for anyone holding a manage link from one of its emails."""
    sub = tokens.read_token(token, tokens.MANAGE)
    if sub is None or not sub.active:
        return _bad_link(request)
    return _preferences(request, sub, "digests/manage.html", {})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    sub = rules.subscription_of(request.user)
    if sub is None:
        return render(request, "digests/settings.html", {"subscription": None})
    saved = list(sub.saved_searches.all())
    return _preferences(request, sub, "digests/settings.html", {"saved_searches": saved})


@login_required
@require_POST
def subscribe_member(request: HttpRequest) -> HttpResponse:
    try:
        rules.subscription_of(request.user, create=True)
    except rules.DigestError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, "Check your inbox: we sent a link to confirm the digest.")
    return redirect("digests:settings")


@never_cache
@login_required
def preview_page(request: HttpRequest) -> HttpResponse:
    sub = rules.subscription_of(request.user)
    if sub is None:
        return render(request, "digests/settings.html", {"subscription": None}, status=404)
    now = timezone.now()
    periods = [p for p in current_periods(now) if p.kind == sub.frequency]
    period = periods[0] if periods else current_periods(now)[0]
    digest = compose_preview(sub, period, now)
    return render(
        request, "digests/preview.html", {"preview": digest_context(digest), "digest": digest}
    )


@login_required
@require_POST
def save_search(request: HttpRequest) -> HttpResponse:
    form = SaveSearchForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "digests/bad_request.html",
            {"message": "A saved search needs a query."},
            status=400,
        )
    data = form.cleaned_data
    try:
        saved, created = rules.save_search(request.user, data["q"], data["cat"], data["author"])
    except rules.DigestError as e:
        return render(request, "digests/bad_request.html", {"message": str(e)}, status=400)
    messages.success(
        request,
        f"Saved “{saved.query}”: new papers for it come in your digest."
        if created
        else f"“{saved.query}” was already saved.",
    )
    return redirect("digests:settings")


@login_required
@require_POST
def delete_saved_search(request: HttpRequest, saved_id: int) -> HttpResponse:
    if not rules.delete_saved_search(request.user, saved_id):
        return render(
            request, "digests/bad_request.html", {"message": "No such saved search."}, status=404
        )
    messages.success(request, "Saved search deleted.")
    return redirect(reverse("digests:settings"))
