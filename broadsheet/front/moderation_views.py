"""Moderation from the site: the moderators' page, the audit log and the small POST actions
behind the buttons shown to moderators on papers, comments and profiles."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from broadsheet.accounts.models import User
from broadsheet.front.forms import ReasonForm
from broadsheet.papers import moderation
from broadsheet.papers.models import AuthorClaim, Comment, Listing, ModerationAction, Paper

LIST_MAX = 50


def moderator_required(view):
    """Anonymous visitors log in first; members who are not moderators get a 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not moderation.is_moderator(request.user):
            raise PermissionDenied("Only moderators may do this.")
        return view(request, *args, **kwargs)

    return wrapper


def moderator_action(view):
    """A POST by a moderator, with the optional reason for the audit log passed as `reason`."""

    @require_POST
    @moderator_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return HttpResponse(form.errors["reason"][0], status=400, content_type="text/plain")
        return view(request, *args, reason=form.cleaned_data["reason"], **kwargs)

    return wrapper


def _back(request) -> str:
    target = request.POST.get("next", "")
    # Only a path: redirect() would look any other word up as a view name (a 500 when none).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/moderation/"


@moderator_required
def dashboard(request):
    reported = (
        Comment.objects.filter(reports__resolved=False)
        .annotate(
            open_reports=Count("reports", filter=Q(reports__resolved=False)),
            last_report=Max("reports__updated"),
        )
        .select_related("user", "paper")
        .prefetch_related("reports__reporter")
        .order_by("-open_reports", "-last_report")[:LIST_MAX]
    )
    context = {
        "reported": reported,
        "claims": AuthorClaim.objects.filter(status=AuthorClaim.Status.PENDING)
        .select_related("author", "user", "author__claimed_by")
        .order_by("created")[:LIST_MAX],
        "hidden_papers": Paper.objects.filter(hidden=True).order_by("-modified")[:LIST_MAX],
        "hidden_listings": Listing.objects.filter(hidden=True)
        .select_related("paper")
        .order_by("-day")[:LIST_MAX],
        "hidden_comments": Comment.objects.filter(hidden=True)
        .select_related("user", "paper")
        .order_by("-created")[:LIST_MAX],
        "suspended": User.objects.filter(is_active=False).order_by("username")[:LIST_MAX],
        "recent": ModerationAction.objects.all()[:10],
    }
    return render(request, "front/moderation.html", context)


@moderator_required
def audit_log(request):
    page = Paginator(ModerationAction.objects.all(), settings.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "front/moderation_log.html", {"page": page})


@moderator_action
def set_hidden(request, kind: str, pk: int, action: str, reason: str):
    model = moderation.HIDEABLE[kind]
    target = get_object_or_404(model.objects.select_related(*_related(kind)), pk=pk)
    hide = action == "hide"
    if moderation.set_hidden(request.user, target, hide, reason):
        messages.success(
            request, f"{'Hid' if hide else 'Showing again'}: {moderation.label_of(target)}."
        )
    else:
        messages.info(request, f"It was already {'hidden' if hide else 'shown'}.")
    return redirect(_back(request))


def _related(kind: str) -> tuple[str, ...]:
    return {"comment": ("user", "paper"), "listing": ("paper",)}.get(kind, ())


@moderator_action
def set_suspended(request, pk: int, action: str, reason: str):
    member = get_object_or_404(User, pk=pk)
    suspend = action == "suspend"
    try:
        changed = moderation.set_suspended(request.user, member, suspend, reason)
    except moderation.NotAllowed as e:
        raise PermissionDenied(str(e)) from None
    if changed:
        messages.success(
            request, f"{'Suspended' if suspend else 'Lifted the suspension of'} {member.username}."
        )
    else:
        messages.info(
            request, f"{member.username} was already {'suspended' if suspend else 'active'}."
        )
    return redirect(_back(request))


@moderator_action
def dismiss_reports(request, pk: int, reason: str):
    comment = get_object_or_404(Comment.objects.select_related("user", "paper"), pk=pk)
    n = moderation.dismiss_reports(request.user, comment, reason)
    messages.success(request, f"Dismissed {n} report{'s' if n != 1 else ''}.")
    return redirect(_back(request))


@moderator_action
def decide_claim(request, pk: int, action: str, reason: str):
    claim = get_object_or_404(AuthorClaim, pk=pk)
    try:
        moderation.decide_claim(request.user, claim, action == "approve", reason)
    except moderation.NotAllowed as e:
        return HttpResponse(str(e), status=409, content_type="text/plain")
    messages.success(request, f"Claim {'approved' if action == 'approve' else 'rejected'}.")
    return redirect(_back(request))
