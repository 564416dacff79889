from django.contrib.auth.models import AbstractUser
from django.db import models

from broadsheet.lib.addresses import validate_address


class User(AbstractUser):
    """A member. Our own model from the first migration, so fields can be added later."""

    # Unique when set; Django's default allows blanks, which members created by admins may have.
    email = models.EmailField("email address", blank=True, validators=[validate_address])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                models.functions.Lower("email"),
                condition=~models.Q(email=""),
                name="unique_member_email",
            )
        ]
