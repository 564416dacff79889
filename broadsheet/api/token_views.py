"""The member's API tokens page (/settings/tokens): create, list, revoke.

A new token is shown once, in the response to the POST that made it, and never stored in
clear (not even in the session); the page is not cached.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from broadsheet.api.models import ApiToken
from broadsheet.api.tokens import MAX_TOKENS_PER_MEMBER, create_token, revoke_token


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What it is for, so you can tell your tokens apart."
    )
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        widget=forms.RadioSelect,
        help_text="Read is enough to fetch papers and listings; write also upvotes and submits.",
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    new_token = None
    status = 200
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            if request.user.api_tokens.count() >= MAX_TOKENS_PER_MEMBER:
                form.add_error(
                    None, f"You have {MAX_TOKENS_PER_MEMBER} tokens; revoke one to make another."
                )
            else:
                _, new_token = create_token(
                    request.user, form.cleaned_data["name"], form.cleaned_data["scope"]
                )
                form = TokenForm()
        if form.errors:
            status = 400
    else:
        form = TokenForm()
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": request.user.api_tokens.all(),
    }
    return render(request, "api/tokens.html", context, status=status)


@login_required
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    if not revoke_token(request.user, token_id):
        raise Http404("No such token")
    messages.success(request, "Token revoked. Programs using it can no longer sign in.")
    return redirect("api-tokens")
