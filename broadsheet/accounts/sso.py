"""Single sign-on with an OpenID Connect provider (mozilla-django-oidc), ORCID included.

Who a sign-in is, in this order:
1. a member who signed in with this identity before (the issuer's `sub`, SingleSignOnIdentity);
2. the member already logged in, who is linking the identity to their account;
3. the member with the provider's verified address (`email_verified` true);
4. else a new member, if the site takes one: a public site always; a private one when the
   session holds an opened invitation (used up by it) or the verified address is at one of
   BROADSHEET_OIDC_ALLOWED_EMAIL_DOMAINS.
When allowed domains are listed, every sign-in must carry a verified address at one of them.

The id token is checked as mozilla-django-oidc does (RS256 against the provider's JWKS, the
nonce), plus its audience (our client id) and, when BROADSHEET_OIDC_ISSUER is set, its issuer.
ORCID gives no address: its members come by invitation, and the name it gives (the ORCID
record's) is matched against the site's authors to offer the author claim (`author_offer`).
"""

from __future__ import annotations

import logging
import re
import unicodedata

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from broadsheet.accounts import invitations
from broadsheet.accounts.models import SingleSignOnIdentity, User
from broadsheet.lib.addresses import validate_address
from broadsheet.papers.models import Author, AuthorClaim

log = logging.getLogger("broadsheet.accounts")
USERNAME_MAX = 30  # of the made-up part; a number may follow


def enabled() -> bool:
    return bool(settings.OIDC_RP_CLIENT_ID)


def issuer() -> str:
    """What identities are kept under: the configured issuer, else the authorization URL."""
    return settings.OIDC_OP_ISSUER or settings.OIDC_OP_AUTHORIZATION_ENDPOINT


def names_in(claims: dict) -> list[str]:
    """The person's names as the provider gives them: `name`, and given + family name."""
    found = []
    for name in (
        claims.get("name"),
        f"{claims.get('given_name') or ''} {claims.get('family_name') or ''}",
    ):
        name = " ".join(str(name or "").split())
        if name and name not in found:
            found.append(name)
    return found


def matching_authors(name: str) -> list[Author]:
    """Unclaimed authors whose name is this one (case aside)."""
    if not name:
        return []
    return list(Author.objects.filter(name__iexact=name, claimed_by__isnull=True)[:5])


def _verified_email(claims: dict) -> str:
    """The address, if the provider says it verified it and we could mail it; else ""."""
    email = str(claims.get("email") or "").strip()
    if not email or claims.get("email_verified") is not True:
        return ""
    try:
        validate_address(email)
    except ValidationError:
        return ""
    return email


def _domain_allowed(email: str) -> bool:
    return bool(email) and email.rpartition("@")[2].lower() in settings.OIDC_ALLOWED_EMAIL_DOMAINS


def _username(claims: dict) -> str:
    """A free username from the claims: preferred_username, the address, the name."""
    for candidate in (
        claims.get("preferred_username"),
        str(claims.get("email") or "").partition("@")[0],
        (names_in(claims) or [""])[0],
    ):
        text = unicodedata.normalize("NFKD", str(candidate or ""))
        base = re.sub(r"[^\w.@+-]+", "", text.encode("ascii", "ignore").decode().replace(" ", "."))
        base = base.strip(".")[:USERNAME_MAX]
        if base:
            break
    else:
        base = "member"
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}{n}"
    return name


class SingleSignOnBackend(OIDCAuthenticationBackend):
    def authenticate(self, request, **kwargs):
        if not enabled() or request is None:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The id token is for another client.")
        if settings.OIDC_OP_ISSUER and payload.get("iss") != settings.OIDC_OP_ISSUER:
            raise SuspiciousOperation("The id token is from another issuer.")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo is about someone else than the id token.")
        claims = {**payload, **userinfo}
        if not self.verify_claims(claims):
            raise SuspiciousOperation("No verified address at an allowed domain.")
        return self.member_for(claims)

    def verify_claims(self, claims: dict) -> bool:
        if not claims.get("sub"):
            return False
        if settings.OIDC_ALLOWED_EMAIL_DOMAINS:
            return _domain_allowed(_verified_email(claims))
        return True

    def member_for(self, claims: dict) -> User | None:
        subject = str(claims["sub"])[:255]
        name = (names_in(claims) or [""])[0][:300]
        identity = (
            SingleSignOnIdentity.objects.select_related("user")
            .filter(issuer=issuer(), subject=subject)
            .first()
        )
        if identity is not None:
            if identity.name != name:
                identity.name = name
                identity.save(update_fields=["name"])
            return identity.user
        member = self._existing_member(claims)
        with transaction.atomic():
            if member is None:
                member = self._new_member(claims)
                if member is None:
                    return None
            try:
                with transaction.atomic():
                    SingleSignOnIdentity.objects.create(
                        user=member, issuer=issuer(), subject=subject, name=name
                    )
            except IntegrityError:  # the same identity signing in twice at once
                raise SuspiciousOperation("This identity was just linked; sign in again.") from None
        return member

    def _existing_member(self, claims: dict) -> User | None:
        current = getattr(self.request, "user", None)
        if current is not None and current.is_authenticated:
            return current
        email = _verified_email(claims)
        if email:
            return User.objects.filter(email__iexact=email).first()
        return None

    def _new_member(self, claims: dict) -> User | None:
        email = _verified_email(claims)
        invitation_id = self.request.session.get(invitations.SESSION_KEY)
        by_invitation = False
        if settings.PRIVATE and not _domain_allowed(email):
            if invitation_id is None:
                messages.error(
                    self.request,
                    f"No member here has this {settings.OIDC_PROVIDER_NAME} account, and "
                    "membership is by invitation: open your invitation link first.",
                )
                return None
            by_invitation = True
        member = User.objects.create_user(_username(claims), email=email or "")
        if by_invitation:
            if not invitations.consume(invitation_id, member):
                raise SuspiciousOperation("The invitation was used or revoked meanwhile.")
            self.request.session.pop(invitations.SESSION_KEY, None)
        return member


class CallbackView(OIDCAuthenticationCallbackView):
    """mozilla-django-oidc's callback; a provider that is down or answers nonsense, or a token
    that fails its checks, sends the person back to the login page with a message (never a
    500), and a matching author name sends them to the claim offer first."""

    def get(self, request):
        try:
            return super().get(request)
        except (
            requests.RequestException,
            SuspiciousOperation,
            IntegrityError,  # a username taken by a sign-up at the same moment
            ValueError,
            KeyError,
        ) as e:
            log.warning("single sign-on failed: %s: %s", type(e).__name__, e)
            return self.login_failure()

    @property
    def success_url(self):
        identity = (
            SingleSignOnIdentity.objects.filter(
                user=self.user, issuer=issuer(), claim_offered=False
            )
            .exclude(name="")
            .first()
        )
        if identity is not None and matching_authors(identity.name):
            SingleSignOnIdentity.objects.filter(pk=identity.pk).update(claim_offered=True)
            return reverse("sso-authors")
        return super().success_url


@login_required
def author_offer(request: HttpRequest) -> HttpResponse:
    """After a sign-in whose name matches authors here: offer to claim them (the claim form
    posts to the author page's claim view, which moderators confirm). The callback marked the
    offer as made, so it is shown once unasked; the page itself only reads."""
    identity = (
        SingleSignOnIdentity.objects.filter(user=request.user, issuer=issuer())
        .exclude(name="")
        .first()
    )
    if identity is None:
        raise Http404("No single sign-on name to match")
    claimed = set(AuthorClaim.objects.filter(user=request.user).values_list("author_id", flat=True))
    authors = [a for a in matching_authors(identity.name) if a.pk not in claimed]
    context = {
        "identity": identity,
        "authors": authors,
        "provider": settings.OIDC_PROVIDER_NAME,
        "message": f"Signed in with {settings.OIDC_PROVIDER_NAME} as {identity.subject}.",
    }
    return render(request, "accounts/sso_authors.html", context)


def _only_when_enabled(view):
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not enabled():
            raise Http404("Single sign-on is not set up on this site")
        return view(request, *args, **kwargs)

    return wrapper


urlpatterns = [
    path(
        "oidc/authenticate/",
        _only_when_enabled(OIDCAuthenticationRequestView.as_view()),
        name="oidc_authentication_init",
    ),
    path(
        "oidc/callback/",
        _only_when_enabled(CallbackView.as_view()),
        name="oidc_authentication_callback",
    ),
    path("accounts/sso/authors", author_offer, name="sso-authors"),
]
