from django import forms
from django.contrib.auth.forms import UserCreationForm

from broadsheet.accounts.models import User


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        required=True,
        max_length=254,
        help_text="For password resets. Never shown to other members.",
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A member with this email address already exists.")
        return email
