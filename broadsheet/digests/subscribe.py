"""Subscribing, confirming, unsubscribing and saving searches: the rules, for views and API.

Double opt-in: a subscription is created unconfirmed with its confirmation email due; the
worker sends it (never the web request), and nothing else is sent before its link is opened.
Subscribing an address twice merges into the one subscription (the email is unique) and asks
for confirmation again only if it was never confirmed or was unsubscribed. A confirmed
subscription changes only through its owner (logged in, or the manage link): the public form,
given its address, changes nothing and has the worker mail the address its manage link; the
page reads the same as for a new address.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from broadsheet.digests.models import SavedSearch, Subscription, new_key
from broadsheet.lib.addresses import AddressError, normalise_address
from broadsheet.search.query import MAX_QUERY

MAX_SAVED_SEARCHES = 20


class DigestError(ValueError):
    """A request we refuse, with a message for the person who made it."""


def normalise_email(raw: str) -> str:
    try:
        return normalise_address(raw)
    except AddressError as e:
        raise DigestError(str(e)) from None


def subscribe(email: str, user=None, **options) -> Subscription:
    """Subscribe `email` (a member's own, when `user` is given). Returns the subscription."""
    email = normalise_email(email)
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().filter(email__iexact=email).first()
        if sub is None and user is not None:
            sub = Subscription.objects.select_for_update().filter(user=user).first()
        if sub is None:
            try:
                with transaction.atomic():
                    sub = Subscription.objects.create(
                        email=email, user=user, confirmation_due=True, **options
                    )
            except IntegrityError:  # the same address, subscribed at the same moment
                sub = Subscription.objects.get(email__iexact=email)
            else:
                return sub
        if user is not None and sub.user_id not in (None, user.pk):
            raise DigestError("That address receives another member's digest.")
        if user is None and sub.active and sub.confirmed_at is not None:
            Subscription.objects.filter(pk=sub.pk).update(manage_link_due=True)
            return sub
        changed = {k: v for k, v in options.items() if getattr(sub, k) != v}
        for name, value in changed.items():
            setattr(sub, name, value)
        if user is not None and sub.user_id is None:
            # An account's email address is not verified: whoever holds the address confirms
            # again before the digest becomes this member's.
            sub.user = user
            sub.confirmed_at = None
        if not sub.active or sub.confirmed_at is None:
            if not sub.active:
                sub.key = new_key()
            sub.active = True
            sub.confirmed_at = None
            sub.confirmation_due = True
        sub.email = email
        sub.save()
    return sub


def confirm(sub: Subscription) -> None:
    Subscription.objects.filter(pk=sub.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now(), confirmation_due=False
    )
    sub.refresh_from_db()


def unsubscribe(sub: Subscription) -> None:
    """Stop the digest. The row stays (the address may come back); its links die."""
    Subscription.objects.filter(pk=sub.pk).update(
        active=False, confirmation_due=False, key=new_key()
    )
    sub.refresh_from_db()


def subscription_of(user, create: bool = False) -> Subscription | None:
    sub = Subscription.objects.filter(user=user).first()
    if sub is None and create:
        if not user.email:
            raise DigestError("Add an email address to your account first.")
        sub = subscribe(user.email, user=user)
    return sub


def clean_query(text: str, limit: int = MAX_QUERY) -> str:
    """One line, no control characters: saved queries end up in email bodies and feed titles."""
    text = "".join(c if c.isprintable() else " " for c in (text or ""))
    return " ".join(text.split())[:limit]


def save_search(user, query: str, category: str = "", author: str = "") -> tuple[SavedSearch, bool]:
    query = clean_query(query)
    category, author = clean_query(category, 32), clean_query(author, 200)
    if not query:
        raise DigestError("A saved search needs a query.")
    sub = subscription_of(user, create=True)
    existing = sub.saved_searches.filter(query=query, category=category, author=author).first()
    if existing:
        return existing, False
    if sub.saved_searches.count() >= MAX_SAVED_SEARCHES:
        raise DigestError(f"You have {MAX_SAVED_SEARCHES} saved searches; delete one first.")
    try:
        with transaction.atomic():
            return SavedSearch.objects.create(
                subscription=sub, query=query, category=category, author=author
            ), True
    except IntegrityError:  # the same search saved twice at once
        return sub.saved_searches.get(query=query, category=category, author=author), False


def saved_searches_of(user):
    return SavedSearch.objects.filter(subscription__user=user)


def delete_saved_search(user, saved_id: int) -> bool:
    deleted, _ = saved_searches_of(user).filter(pk=saved_id).delete()
    return bool(deleted)
