"""JSON API: the Hugging Face-compatible endpoints (/api/daily_papers, /api/papers/...) and our
own API at /api/v1/ (django-ninja, OpenAPI), with personal tokens and rate limits.

No domain rules here: listings, votes, submissions and search come from `papers` and `search`.
"""
