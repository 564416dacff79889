"""The channel form: a name, an Apprise URL (checked by Apprise, stored encrypted), what goes
there and when."""

from __future__ import annotations

from django import forms

from broadsheet.channels import vault
from broadsheet.channels.deliver import check_url
from broadsheet.channels.models import TOP_N_MAX, Channel
from broadsheet.digests.models import SavedSearch
from broadsheet.papers.filters import FilterError, normalised_text

CHANNELS_PER_OWNER = 10  # a member's channels (and the site's), at most


class ChannelForm(forms.ModelForm):
    url = forms.CharField(
        label="Apprise URL",
        max_length=2000,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=(
            "For example slack://TokenA/TokenB/TokenC/#channel, discord://WebhookID/Token, "
            "mmosts://host/token, matrixs://user:pass@host/#room, tgram://bottoken/chat_id, "
            "mailtos://user:pass@host or json://host/path. Stored encrypted; only its scheme "
            "and host are shown again."
        ),
    )

    class Meta:
        model = Channel
        fields = [
            "name", "url", "content", "saved_search", "paper_filter", "top_n", "send_at",
            "enabled",
        ]  # fmt: skip
        labels = {
            "paper_filter": "Filter",
            "content": "What goes there",
            "top_n": "Papers per message",
            "send_at": "Every day at",
            "enabled": "Send",
        }
        help_texts = {
            "top_n": f"1 to {TOP_N_MAX}",
            "paper_filter": "Optional: a filtered page's address, or its parameters, e.g. "
            "cat=cs.CL&code=1&include=diffusion&exclude=survey",
        }
        widgets = {
            "send_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "content": forms.RadioSelect,
        }

    def __init__(self, *args, owner=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["url"].required = self.instance.pk is None
        if self.instance.pk is not None:
            self.fields[
                "url"
            ].help_text = (
                f"Now {self.instance.url_hint}. Leave empty to keep it; a new one replaces it."
            )
        if owner is None:  # a site-wide channel: the community feed only
            self.fields["content"].choices = [Channel.Content.choices[0]]
            del self.fields["saved_search"]
        else:
            searches = SavedSearch.objects.filter(subscription__user=owner)
            self.fields["saved_search"].queryset = searches
            self.fields[
                "saved_search"
            ].help_text = "For “new papers for a saved search” (save one from the search page)."

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if url and (problem := check_url(url)):
            raise forms.ValidationError(problem)
        return url

    def clean_paper_filter(self) -> str:
        try:
            return normalised_text(self.cleaned_data.get("paper_filter", ""))
        except FilterError as e:
            raise forms.ValidationError(str(e)) from None

    def clean(self):
        data = super().clean()
        if data.get("content") == Channel.Content.SEARCH and not data.get("saved_search"):
            self.add_error("saved_search", "Choose the saved search whose new papers go there.")
        if self.instance.pk is None:
            mine = Channel.objects.filter(owner=self.owner)
            if mine.count() >= CHANNELS_PER_OWNER:
                raise forms.ValidationError(
                    f"{CHANNELS_PER_OWNER} channels at most: delete one to add another."
                )
        return data

    def save(self, commit: bool = True) -> Channel:
        channel = super().save(commit=False)
        channel.owner = self.owner
        if url := self.cleaned_data.get("url"):
            channel.url_sealed = vault.seal(url)
            channel.url_hint = vault.mask(url)
        if channel.content != Channel.Content.SEARCH:
            channel.saved_search = None
        # The owner has seen why it was switched off and saved it again: it gets another go.
        channel.disabled_reason = ""
        channel.failures = 0
        if commit:
            channel.save()
        return channel
