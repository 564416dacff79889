from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from broadsheet.ingest.submit import SubmitError, submit
from broadsheet.lib import limits


class SubmitForm(forms.Form):
    paper = forms.CharField(
        label="arXiv id or link",
        max_length=300,
        error_messages={"max_length": "That is too long to be an arXiv id or link."},
        widget=forms.TextInput(
            attrs={
                "placeholder": "2401.01234 or https://arxiv.org/abs/2401.01234",
                "autofocus": True,
            }
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def submit_page(request):
    form = SubmitForm(request.POST or None)
    existing = None
    if request.method == "POST" and form.is_valid():
        try:
            listing = submit(request.user, form.cleaned_data["paper"])
        except SubmitError as e:
            form.add_error("paper", str(e))
            existing = e.listing
        except limits.RateLimited as e:
            return limits.too_many_page(request, str(e), e.retry_after)
        else:
            messages.success(request, "Listed on today's papers. Thank you!")
            return redirect(listing.paper)
    status = 400 if form.errors else 200
    return render(request, "front/submit.html", {"form": form, "existing": existing}, status=status)
