"""Our own JSON API at /api/v1/ (django-ninja; OpenAPI document at /api/v1/openapi.json)."""
