from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from broadsheet.accounts.forms import SignupForm
from broadsheet.accounts.models import User
from broadsheet.papers.models import Collection, Listing, Paper
from broadsheet.papers.moderation import is_moderator

PROFILE_ITEMS = 50


class LoginView(auth_views.LoginView):
    """Django's login, named by the site: without django.contrib.sites its context names the
    site by the request's host, which would override the site's name in the header and title."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "site_name": settings.SITE_NAME}


@require_http_methods(["GET", "POST"])
def signup(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(next_url or "home")
    else:
        form = SignupForm()
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


def profile(request, username: str):
    if "\x00" in username:  # PostgreSQL refuses NUL in text parameters
        raise Http404("No such member")
    member = get_object_or_404(User, username=username, is_active=True)
    submissions = (
        Listing.objects.visible()
        .filter(submitted_by=member)
        .select_related("paper")
        .order_by("-submitted_at")[:PROFILE_ITEMS]
    )
    upvoted = (
        Paper.objects.visible()
        .filter(upvotes__user=member)
        .order_by("-upvotes__created")[:PROFILE_ITEMS]
    )
    return render(
        request,
        "accounts/profile.html",
        {
            "member": member,
            "submissions": submissions,
            "upvoted": upvoted,
            "submission_count": Listing.objects.visible().filter(submitted_by=member).count(),
            "upvote_count": member.upvotes.filter(paper__hidden=False).count(),
            # The member's own private lists stay on /collections; a profile shows public ones.
            "collections": Collection.objects.filter(owner=member, public=True).with_counts(),
            "is_moderator": is_moderator(request.user),
        },
    )
