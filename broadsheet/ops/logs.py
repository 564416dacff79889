"""Structured logs: one JSON object a line (BROADSHEET_LOG_FORMAT=json) or plain text, and
a line per request with its status and duration.

Fields passed with `extra={...}` (a job's name, counts, seconds; a request's path and status)
become keys of the JSON object, so a log pipeline can sum and graph them without parsing text.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from broadsheet.lib.clients import PAGE_RENDERER, client_ip

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

request_log = logging.getLogger("broadsheet.requests")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def logging_config(fmt: str, level: str) -> dict:
    """Django's LOGGING for the chosen format ("text" or "json")."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "broadsheet.ops.logs.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": fmt}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            # Our request lines replace gunicorn's access log (they carry the duration).
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # faiss says at INFO which of its builds it tried to load, in every process.
            "faiss.loader": {"level": "WARNING"},
        },
    }


# Load balancers poll these every few seconds; logging each would drown the real traffic.
QUIET_PATHS = ("/healthz", "/readyz")


class RequestLogMiddleware:
    """One log line per request: method, path, status, duration, and the member's id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        ms = (time.perf_counter() - start) * 1000
        # Only a user the request already loaded: loading it here could hit a database that
        # is down (the very request being logged may be the 503 saying so).
        user = getattr(getattr(request, "user", None), "_wrapped", None)
        if user is empty:
            user = None
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
        # The page renderer's renderings go through here too; they are no reader's request.
        renderer = PAGE_RENDERER in request.META
        request_log.log(
            level,
            "%s %s %d %.1f ms%s",
            request.method,
            request.path,
            response.status_code,
            ms,
            " (page renderer)" if renderer else "",
            extra={
                "page_renderer": renderer,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(ms, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
                # The client, behind a trusted proxy too (lib.clients), as the limits count it.
                "remote_addr": client_ip(request),
            },
        )
        return response
