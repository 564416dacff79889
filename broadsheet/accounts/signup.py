"""Signing up without telling anyone which addresses belong to members.

`start` answers every valid sign-up the same way ("check your inbox") and sends one email:
- a new address gets a link to finish signing up (a PendingSignup; the member is created
  by `finish`, from that link, with the password chosen at sign-up entered again);
- a member's address gets "someone tried to sign up with your address" with links to log in
  and to reset the password.
Both are limited to one per address per BROADSHEET_MAIL_COOLDOWN_MINUTES, and both branches
hash the password, so neither the page nor the time it takes differs much.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from broadsheet.accounts.models import PendingSignup, User
from broadsheet.lib.mail_limits import may_mail

log = logging.getLogger("broadsheet.accounts")
LINK_DAYS = 2  # a link to finish signing up works this long
_SALT = "broadsheet.accounts.signup"


class SignupError(ValueError):
    """A sign-up that cannot be finished, with a message for the person finishing it."""


def _email(request: HttpRequest, to: str, template: str, context: dict) -> None:
    context = {"site_name": settings.SITE_NAME, **context}
    subject = " ".join(render_to_string(f"registration/{template}_subject.txt", context).split())
    body = render_to_string(f"registration/{template}_email.txt", context, request=request)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except (smtplib.SMTPException, OSError) as e:  # the page must not tell; the log does
        log.warning("sign-up email (%s) not sent: %s: %s", template, type(e).__name__, e)


def start(request: HttpRequest, username: str, email: str, password: str, next_url: str) -> None:
    """Act on a valid sign-up form; what the person sees next is the same in every case."""
    hashed = make_password(password)  # in both branches, so both take about as long
    PendingSignup.objects.filter(created__lt=timezone.now() - dt.timedelta(days=LINK_DAYS)).delete()
    member = User.objects.filter(email__iexact=email).first()
    if member is not None:
        if may_mail("signup", email):
            _email(
                request,
                member.email,
                "signup_exists",
                {
                    "username": member.get_username(),
                    "login_url": request.build_absolute_uri(reverse("login")),
                    "reset_url": request.build_absolute_uri(reverse("password_reset")),
                },
            )
        return
    pending = PendingSignup.objects.create(
        username=username, email=email, password=hashed, next_url=next_url
    )
    if may_mail("signup", email):
        token = signing.TimestampSigner(salt=_SALT).sign(f"{pending.pk}.{pending.key}")
        _email(
            request,
            email,
            "signup_confirm",
            {
                "username": username,
                "days": LINK_DAYS,
                "url": request.build_absolute_uri(reverse("signup-confirm", args=[token])),
            },
        )


def pending_of(token: str) -> PendingSignup | None:
    """The sign-up a link names, or None (forged, expired, finished, malformed)."""
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(
            token[:200], max_age=dt.timedelta(days=LINK_DAYS)
        )
    except signing.BadSignature:
        return None
    pk, _, key = value.partition(".")
    if not pk.isdigit():
        return None
    return PendingSignup.objects.filter(pk=int(pk), key=key).first()


def finish(pending: PendingSignup, password: str) -> User:
    """Create the member, if `password` is the one chosen at sign-up."""
    if not check_password(password, pending.password):
        raise SignupError("That is not the password you chose when signing up.")
    with transaction.atomic():
        if User.objects.filter(email__iexact=pending.email).exists():
            raise SignupError(
                "An account with this address exists already: log in, or reset its password."
            )
        if User.objects.filter(username__iexact=pending.username).exists():
            raise SignupError(
                f"Someone took the username “{pending.username}” in the meantime: please sign "
                "up again with another."
            )
        try:
            with transaction.atomic():
                member = User.objects.create(
                    username=pending.username, email=pending.email, password=pending.password
                )
        except IntegrityError:  # the same username or address, finished at the same moment
            raise SignupError("That username or address was just taken: sign up again.") from None
        PendingSignup.objects.filter(email__iexact=pending.email).delete()
    return member
