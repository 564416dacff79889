from django import forms

from broadsheet.digests.models import Subscription
from broadsheet.papers.filters import FilterError, normalised_text

WEEKDAYS = [
    (str(i), name)
    for i, name in enumerate(
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    )
]


class SubscribeForm(forms.Form):
    email = forms.CharField(max_length=254, help_text="We send a link to confirm it first.")
    frequency = forms.ChoiceField(
        choices=Subscription.Frequency.choices, initial="daily", widget=forms.RadioSelect
    )


class PreferencesForm(forms.ModelForm):
    weekdays = forms.MultipleChoiceField(
        choices=WEEKDAYS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Days a daily digest is sent.",
    )
    top_n = forms.IntegerField(
        min_value=0,
        max_value=50,
        label="Trending papers",
        help_text="How many of the period's trending papers (0: none).",
    )

    class Meta:
        model = Subscription
        fields = [
            "frequency", "weekdays", "top_n", "include_saved_searches", "include_picks",
            "paper_filter",
        ]  # fmt: skip
        labels = {
            "paper_filter": "Filter",
            "include_saved_searches": "New papers for my saved searches",
            "include_picks": "Personal picks (papers like the ones I upvoted)",
        }
        widgets = {"frequency": forms.RadioSelect}
        help_texts = {
            "paper_filter": "Optional, for every part of the digest: a filtered page's "
            "address, or its parameters, e.g. cat=cs.CL&code=1&include=diffusion&exclude=survey"
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["weekdays"] = list(self.instance.weekdays)

    def clean_paper_filter(self) -> str:
        try:
            return normalised_text(self.cleaned_data.get("paper_filter", ""))
        except FilterError as e:
            raise forms.ValidationError(str(e)) from None

    def clean_weekdays(self) -> str:
        days = "".join(sorted(set(self.cleaned_data.get("weekdays") or [])))
        if not days and self.data.get("frequency") == "daily":
            raise forms.ValidationError("Choose at least one day for a daily digest.")
        return days or self.instance.weekdays


class SaveSearchForm(forms.Form):
    q = forms.CharField(max_length=1000)
    cat = forms.CharField(max_length=32, required=False)
    author = forms.CharField(max_length=200, required=False)
