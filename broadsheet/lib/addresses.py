"""The one check of every email address we accept: only what our SMTP sending can carry.

Django's SMTP backend speaks plain SMTP (no SMTPUTF8): the part before the @ must be ASCII and
the domain must encode to ASCII through IDNA. An address failing that (say a U+2028 LINE
SEPARATOR in its domain) raises UnicodeError when a message to it is built, so it is refused
here, where a person can still correct it. email-validator does the syntax, the IDNA encoding,
the unsafe-character and length rules; we also refuse IP literals (`x@[127.0.0.1]`) and run
the address through Django's own sanitize_address, the step that raised before.

Addresses are stored in the form `normalise_address` returns: the local part as typed and the
domain as lower-case ASCII (IDNA, `xn--` labels for international names).
"""

from __future__ import annotations

import email_validator
from django import forms
from django.core.exceptions import ValidationError
from django.core.mail.message import sanitize_address

MAX_LENGTH = 254  # RFC 5321's limit on a forward path, less the angle brackets


class AddressError(ValueError):
    """An address we refuse, with a message for the person who typed it."""


def normalise_address(raw: str) -> str:
    """The address in the form we store and send to, or AddressError saying what is wrong."""
    address = (raw or "").strip()
    if not address:
        raise AddressError("Enter an email address.")
    if len(address) > MAX_LENGTH:
        raise AddressError(f"Enter a valid email address (at most {MAX_LENGTH} characters).")
    try:
        checked = email_validator.validate_email(
            address,
            check_deliverability=False,  # no DNS lookups from a form
            allow_smtputf8=False,
            allow_domain_literal=False,
            allow_quoted_local=False,
            allow_display_name=False,
        )
    except email_validator.EmailNotValidError as e:
        raise AddressError(f"Enter a valid email address. {e}") from None
    normalised = f"{checked.ascii_local_part}@{checked.ascii_domain.lower()}"
    try:
        sanitize_address(normalised, "utf-8")
    except (UnicodeError, ValueError):
        raise AddressError("Enter a valid email address our mail server can deliver to.") from None
    return normalised


def validate_address(value: str) -> None:
    """A Django validator (model and form fields)."""
    try:
        normalise_address(value)
    except AddressError as e:
        raise ValidationError(str(e), code="invalid") from None


class AddressField(forms.CharField):
    """A form field cleaning to the normalised address, with our message on failure."""

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return value
        try:
            return normalise_address(value)
        except AddressError as e:
            raise ValidationError(str(e), code="invalid") from None
