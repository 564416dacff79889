import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from broadsheet.lib.addresses import validate_address


class User(AbstractUser):
    """A member. Our own model from the first migration, so fields can be added later."""

    # Unique when set; Django's default allows blanks, which members created by admins may have.
    email = models.EmailField("email address", blank=True, validators=[validate_address])
    # The member's default filter of the feed pages, as its URL parameters (cat=cs.CL&code=1;
    # papers/filters.py reads them); applied when a feed page's URL names no filter. Kept on
    # the member row, which every request loads anyway: no query of its own.
    feed_filter = models.CharField(max_length=2000, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                models.functions.Lower("email"),
                condition=~models.Q(email=""),
                name="unique_member_email",
            )
        ]


def _new_key() -> str:
    return secrets.token_urlsafe(24)


class PendingSignup(models.Model):
    """A sign-up waiting for its address to be proven: the member is created when the link
    mailed to the address is opened and the password chosen at sign-up is entered again.

    Signing up thus answers the same whether or not the address belongs to a member (that
    member gets a "someone tried to sign up with your address" email instead), and a link
    mailed to someone else's address cannot make an account with a password its sender knows.
    """

    username = models.CharField(max_length=150)
    email = models.EmailField(max_length=254, validators=[validate_address])
    password = models.CharField(max_length=128)  # hashed, as User.password
    next_url = models.CharField(max_length=500, blank=True)
    key = models.CharField(max_length=40, default=_new_key)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} <{self.email}>"


class Invitation(models.Model):
    """A moderator's single-use link to join a private site (accounts/invitations.py).

    Only the SHA-256 digest of the link's secret is stored: the link is shown once, to the
    moderator who made it. It works until `expires`, once; revoking it ends it early."""

    digest = models.CharField(max_length=64, unique=True)
    note = models.CharField(max_length=200, blank=True, help_text="Whom it is for.")
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    used_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.note or 'no note'})"

    @property
    def state(self) -> str:
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires <= timezone.now():
            return "expired"
        return "open"


class SingleSignOnIdentity(models.Model):
    """A member's identity at the OpenID Connect provider: the issuer's `sub` claim (for ORCID,
    the ORCID iD), which stays the same when the name or address there changes."""

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="sso_identities"
    )
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    name = models.CharField(max_length=300, blank=True, help_text="As the provider last gave it.")
    created = models.DateTimeField(default=timezone.now)
    # Whether the member has been offered to claim the author names matching `name`.
    claim_offered = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_member_per_identity")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
