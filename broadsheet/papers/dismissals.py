""" "Not interested": a member's wish never to be recommended a paper again."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from broadsheet.papers.models import Dismissal, Paper


def dismiss(user, paper: Paper) -> None:
    """Remember it; dismissing twice changes nothing."""
    try:
        with transaction.atomic():
            Dismissal.objects.create(user=user, paper=paper)
    except IntegrityError:
        pass
