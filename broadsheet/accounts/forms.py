import logging
import smtplib
import unicodedata

from confusable_homoglyphs import confusables
from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, UserCreationForm

from broadsheet.accounts.models import User
from broadsheet.lib.addresses import AddressField
from broadsheet.lib.mail_limits import may_mail


class SignupForm(UserCreationForm):
    email = AddressField(
        required=True,
        max_length=254,
        help_text="For password resets. Never shown to other members.",
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_username(self):
        """NFKC-normalised (fullwidth ｇｒａｃｅ is grace), and no mix of scripts whose letters
        look alike: "аlice" with a Cyrillic а would pass for alice."""
        username = super().clean_username()
        if not username:  # refused already (taken)
            return username
        username = unicodedata.normalize("NFKC", username)
        if confusables.is_dangerous(username):
            raise forms.ValidationError(
                "This username mixes letters from different scripts that look alike (such as "
                "Latin a and Cyrillic а), so it could pass for someone else's. Use letters of "
                "one script.",
                code="confusable",
            )
        return username

    def _get_validation_exclusions(self):
        # The address is not checked against members' (the model's unique constraint): whether
        # it is one is never shown (broadsheet/accounts/signup.py). AddressField checked it.
        exclude = super()._get_validation_exclusions()
        exclude.add("email")
        return exclude


class FinishSignupForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="The one you chose when signing up.",
    )


class LoginForm(AuthenticationForm):
    """Django's login form, telling a suspended member why they cannot log in.

    Django's backend refuses inactive (suspended) members with the same message as a wrong
    password. We say "suspended" only to someone who gave that member's right password, so the
    message tells a stranger nothing they could not learn by logging in."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "suspended": "This account is suspended. Write to the site's moderators if you think "
        "this is a mistake.",
    }

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            if getattr(self.request, "axes_locked_out", False):
                raise  # a locked-out login is refused without a password check
            username = self.cleaned_data.get("username")
            password = self.cleaned_data.get("password")
            member = User.objects.filter(username=username, is_active=False).first()
            if member is not None and password and member.check_password(password):
                raise forms.ValidationError(
                    self.error_messages["suspended"], code="suspended"
                ) from None
            raise


class ResetForm(PasswordResetForm):
    """Django's password reset form, the address checked like every address we accept, and at
    most one reset email per address per BROADSHEET_MAIL_COOLDOWN_MINUTES (the page after it
    reads the same whether or not one went out)."""

    email = AddressField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def send_mail(self, subject_template_name, email_template_name, context, from_email,
                  to_email, html_email_template_name=None):  # fmt: skip
        if not may_mail("password-reset", to_email):
            return
        try:
            super().send_mail(subject_template_name, email_template_name, context, from_email,
                              to_email, html_email_template_name)  # fmt: skip
        except (smtplib.SMTPException, OSError) as e:  # the page reads the same; the log says
            logging.getLogger("broadsheet.accounts").warning(
                "password reset email not sent: %s: %s", type(e).__name__, e
            )
