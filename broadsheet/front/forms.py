from django import forms
from django.conf import settings


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
