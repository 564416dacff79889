"""Invitation pages: the moderators' list (make, revoke) and the link's sign-up page
(the rules are in accounts/invitations.py)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from broadsheet.accounts import invitations
from broadsheet.accounts.forms import SignupForm
from broadsheet.accounts.models import Invitation, User
from broadsheet.front.moderation_views import moderator_required
from broadsheet.lib.mail_limits import limit_posts

LIST_MAX = 100


class InvitationForm(forms.Form):
    note = forms.CharField(
        max_length=200, required=False, help_text="Whom it is for (only moderators see this)."
    )


@never_cache
@moderator_required
@require_http_methods(["GET", "POST"])
def invitation_list(request: HttpRequest) -> HttpResponse:
    new_link = None
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, secret = invitations.create(request.user, form.cleaned_data["note"])
        new_link = request.build_absolute_uri(reverse("invitation", args=[secret]))
        form = InvitationForm()
    context = {
        "form": form,
        "new_link": new_link,
        "invite_days": settings.INVITE_DAYS,
        "invitations": Invitation.objects.select_related("created_by", "used_by")[:LIST_MAX],
    }
    return render(request, "accounts/invitations.html", context, status=400 if form.errors else 200)


@moderator_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if not invitations.revoke(pk):
        raise Http404("No unused invitation with this number")
    messages.success(request, "Invitation revoked: its link no longer works.")
    return redirect("invitations")


def _join(form: SignupForm, invitation: Invitation) -> User:
    """Create the member and use up the invitation, both or neither."""
    with transaction.atomic():
        member = form.save()
        if not invitations.consume(invitation.pk, member):
            raise ValueError("This invitation was just used or revoked.")
    return member


@never_cache
@require_http_methods(["GET", "POST"])
@limit_posts("signup")
def accept(request: HttpRequest, secret: str) -> HttpResponse:
    """The invitation link: sign up with a password, or by single sign-on."""
    invitation = invitations.find(secret)
    if invitation is None:
        return render(request, "accounts/invitation_bad_link.html", status=404)
    if request.user.is_authenticated:
        messages.info(request, "You are a member already; the invitation is left for someone else.")
        return redirect("home")
    request.session[invitations.SESSION_KEY] = invitation.pk
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        if not settings.PASSWORD_LOGIN:
            return HttpResponse(
                "Sign up by single sign-on here.", status=400, content_type="text/plain"
            )
        if form.is_valid():
            email = form.cleaned_data["email"]
            if User.objects.filter(email__iexact=email).exists():
                form.add_error("email", "An account with this address exists already: log in.")
            else:
                try:
                    member = _join(form, invitation)
                except (ValueError, IntegrityError):
                    form.add_error(None, "This invitation or that username was just taken.")
                else:
                    del request.session[invitations.SESSION_KEY]
                    login(request, member, backend="django.contrib.auth.backends.ModelBackend")
                    messages.success(request, f"Welcome to {settings.SITE_NAME}.")
                    return redirect("home")
    context = {"form": form, "invitation": invitation}
    return render(request, "accounts/invitation.html", context, status=400 if form.errors else 200)


urlpatterns = [
    path("accounts/invitation/<str:secret>", accept, name="invitation"),
    path("moderation/invitations", invitation_list, name="invitations"),
    path("moderation/invitations/<int:pk>/revoke", invitation_revoke, name="invitation-revoke"),
]
