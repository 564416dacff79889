from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from broadsheet.accounts import signup as signup_rules
from broadsheet.accounts.forms import FinishSignupForm, SignupForm
from broadsheet.accounts.models import User
from broadsheet.lib.mail_limits import limit_posts
from broadsheet.papers.models import Collection, Listing, Paper
from broadsheet.papers.moderation import is_moderator

PROFILE_ITEMS = 50


@never_cache
@require_http_methods(["GET", "POST"])
@limit_posts("signup")
def signup(request):
    """The same answer for every valid form, whether or not the address is a member's: the
    address gets an email (a link to finish, or "you have an account already").
    A private site takes members by invitation (front/invitation_views.py) only."""
    if settings.PRIVATE:
        return render(request, "registration/signup_invitation_only.html", status=403)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if not next_url.startswith(("/", "http://", "https://")):  # else redirect() takes a view name
        next_url = ""
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            signup_rules.start(
                request, data["username"], data["email"], data["password1"], next_url
            )
            return render(request, "registration/signup_check_inbox.html", {"email": data["email"]})
    else:
        form = SignupForm()
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


@never_cache
@require_http_methods(["GET", "POST"])
@limit_posts("signup-confirm")
def signup_confirm(request, token: str):
    """The emailed link: the password chosen at sign-up, entered again, creates the member."""
    pending = signup_rules.pending_of(token)
    if pending is None:
        return render(request, "registration/signup_bad_link.html", status=404)
    form = FinishSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = signup_rules.finish(pending, form.cleaned_data["password"])
        except signup_rules.SignupError as e:
            form.add_error(None, str(e))
        else:
            login(request, member, backend="django.contrib.auth.backends.ModelBackend")
            next_url = pending.next_url
            if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
                next_url = ""
            return redirect(next_url or "home")
    status = 400 if form.errors else 200
    return render(
        request,
        "registration/signup_confirm.html",
        {"form": form, "pending": pending},
        status=status,
    )


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
