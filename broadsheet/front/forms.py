from django import forms
from django.conf import settings
from django.core.validators import URLValidator


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=settings.COMMENT_MAX_LENGTH,
        strip=True,
        error_messages={
            "max_length": (
                "Comments are limited to %(limit_value)d characters (this one has %(show_value)d)."
            ),
            "required": "Write something first.",
        },
    )


class ReplyForm(CommentForm):
    parent = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class ReasonForm(forms.Form):
    """The optional reason given with a moderation action, a report or a claim."""

    reason = forms.CharField(
        required=False,
        max_length=1000,
        strip=True,
        error_messages={"max_length": "Keep the reason under %(limit_value)d characters."},
    )


class ReportForm(ReasonForm):
    reason = forms.CharField(
        required=False,
        max_length=500,
        strip=True,
        error_messages={"max_length": "Keep the reason under %(limit_value)d characters."},
    )


class ClaimForm(forms.Form):
    message = forms.CharField(
        label="Anything that helps a moderator confirm it (a homepage, an ORCID)",
        required=False,
        max_length=500,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class WebURLField(forms.URLField):
    """An http(s) URL only: no javascript:, data: or ftp: links on a paper's page."""

    default_validators = [URLValidator(schemes=["http", "https"])]

    def __init__(self, **kwargs):
        super().__init__(assume_scheme="https", max_length=500, required=False, **kwargs)


class PaperLinksForm(forms.Form):
    github_repo = WebURLField(label="Code repository")
    project_url = WebURLField(label="Project page")
