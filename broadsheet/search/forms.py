from django import forms

from broadsheet.search.results import Filters


class SearchForm(forms.Form):
    q = forms.CharField(required=False, strip=True)
    after = forms.DateField(required=False, label="From")
    before = forms.DateField(required=False, label="To")
    cat = forms.RegexField(
        required=False, max_length=32, regex=r"^[A-Za-z][A-Za-z0-9.\-]*$", label="Category"
    )
    author = forms.CharField(required=False, max_length=100)

    def filters(self) -> Filters:
        """The valid filter fields; invalid ones are ignored (and shown as errors)."""
        data = self.cleaned_data if self.is_bound else {}
        author = data.get("author") or ""
        return Filters(
            after=data.get("after"),
            before=data.get("before"),
            category=data.get("cat") or None,
            authors=(author,) if author.strip() else (),
        )
