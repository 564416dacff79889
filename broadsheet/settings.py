"""Django settings for Broadsheet.

Everything comes from BROADSHEET_* environment variables (listed with their defaults in
.env.example). The default database is a SQLite file under BROADSHEET_DATA_DIR, so a fresh
checkout just runs; BROADSHEET_DATABASE_URL switches to PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import zoneinfo
from pathlib import Path

import dj_database_url

from broadsheet.lib.env import SettingError, env, envbool, envfloat, envint, envlist
from broadsheet.ops.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env("BROADSHEET_DATA_DIR", str(Path.cwd() / "data"))).resolve()
# Model files made on this machine from the installed packages (the int8 query model): sites
# of one installation may share the folder, since its file names name every version used.
MODEL_DIR = Path(env("BROADSHEET_MODEL_DIR", str(DATA_DIR / "models"))).resolve()

DEBUG = envbool("BROADSHEET_DEBUG", False)

SECRET_KEY = env("BROADSHEET_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise SettingError(
            "BROADSHEET_SECRET_KEY (or BROADSHEET_SECRET_KEY_FILE) must be set unless "
            "BROADSHEET_DEBUG=true; `./run` creates one under the data directory"
        )
    SECRET_KEY = "insecure-debug-only-key"

ALLOWED_HOSTS = envlist("BROADSHEET_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("BROADSHEET_CSRF_TRUSTED_ORIGINS", "")
SITE_NAME = env("BROADSHEET_SITE_NAME", "Broadsheet")
SITE_URL = env("BROADSHEET_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Behind a TLS-terminating proxy, BROADSHEET_HTTPS=true turns on everything
# `check --deploy` asks for.
HTTPS = envbool("BROADSHEET_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("BROADSHEET_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("BROADSHEET_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("BROADSHEET_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Reverse proxies whose X-Forwarded-For names the client (addresses or CIDR ranges; empty:
# trust none, the client is the peer). broadsheet.lib.clients.client_ip reads it.
FORWARDED_ALLOW_IPS = envlist("BROADSHEET_FORWARDED_ALLOW_IPS", "")
for _proxy in FORWARDED_ALLOW_IPS:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise SettingError(
            f"BROADSHEET_FORWARDED_ALLOW_IPS: {_proxy!r} is not an IP address or network"
        ) from None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles only from our own static files (the
# templates have no inline <script>, on*= or style= attributes), images also as data: URIs
# (the API docs page's icons), nothing framed, no plugins, no <base>. Permissions-Policy
# (django-permissions-policy): no page needs a device or sensor, so none may ask for one.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope",
        "magnetometer", "microphone", "midi", "payment", "usb", "browsing-topics",
    )
}  # fmt: skip
# HSTS preload is a deliberate, hard-to-undo choice; leave it to the operator.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

INSTALLED_APPS = [
    "broadsheet.lib",
    "broadsheet.papers",
    "broadsheet.accounts",
    "broadsheet.front",
    "broadsheet.ingest",
    "broadsheet.search",
    "broadsheet.api",
    "broadsheet.ops",
    "broadsheet.digests",
    "broadsheet.channels",
    "broadsheet.library",
    "ninja",  # only for its static files: the API docs page then loads no CDN script
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",  # failed-login limits (settings below)
]

MIDDLEWARE = [
    "broadsheet.ops.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "broadsheet.api.cors.ReadOnlyCorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions, CSRF and auth: a cached anonymous page skips them all.
    "broadsheet.front.page_cache.AnonymousPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A private site (BROADSHEET_PRIVATE): members only, past this point.
    "broadsheet.api.private.PrivateSiteMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "broadsheet.urls"
WSGI_APPLICATION = "broadsheet.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "broadsheet.front.context.site",
                "broadsheet.accounts.context.sign_in",
            ],
        },
    },
]

DATABASE_URL = env("BROADSHEET_DATABASE_URL")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    except ValueError as e:
        raise SettingError(f"BROADSHEET_DATABASE_URL: {e}") from None
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # The embedded default: make the data directory on first use, so a fresh checkout runs.
    try:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SettingError(
            f"BROADSHEET_DATA_DIR={DATA_DIR}: cannot create ({e.strerror})"
        ) from None
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "broadsheet.sqlite3",
            "OPTIONS": {
                # IMMEDIATE: a write transaction takes the lock when it starts, so two
                # writers queue on the busy timeout instead of failing to upgrade a read lock.
                "transaction_mode": "IMMEDIATE",
                "timeout": envint("BROADSHEET_SQLITE_TIMEOUT", 20, minimum=1),
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                    # Reads through a memory map of the file (up to 2 GB, SQLite's own cap)
                    # instead of a read() call per page into a 2 MB private cache: a search
                    # reads a few hundred scattered rows, faster mapped, and the pages are the
                    # OS's shared page cache, not memory of each worker (bench/README.md).
                    " PRAGMA mmap_size=2147418112;"
                    # Past those 2 GB pages are read into this connection's own cache: 64 MB
                    # instead of 2 keeps the B-tree levels above the rows there, which makes
                    # a search's check of its candidates faster on a large database
                    # (bench/README.md). Pages are allocated as read.
                    " PRAGMA cache_size=-65536;"
                ),
            },
            "TEST": {"NAME": DATA_DIR / "test-broadsheet.sqlite3"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out login before any password is hashed.
AUTHENTICATION_BACKENDS = [
    "broadsheet.accounts.backends.LoginLimitBackend",
    "broadsheet.accounts.backends.PasswordLoginSwitch",
    "django.contrib.auth.backends.ModelBackend",
    "broadsheet.accounts.sso.SingleSignOnBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("BROADSHEET_TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise SettingError(f"BROADSHEET_TIME_ZONE={TIME_ZONE!r}: not a known time zone") from None
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Email: printed to the console unless BROADSHEET_EMAIL_URL names an SMTP server,
# e.g. smtp://user:password@mail.example.org:587?tls=true
EMAIL_URL = env("BROADSHEET_EMAIL_URL")
DEFAULT_FROM_EMAIL = env("BROADSHEET_EMAIL_FROM", "Broadsheet <broadsheet@localhost>")
if EMAIL_URL:
    from broadsheet.lib.email_url import parse_email_url

    globals().update(parse_email_url(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# At most one confirmation, one password reset and one "someone used your address" email per
# address in this many minutes (0: no limit); and posts per client address per hour to each of
# the forms that send email (sign-up, password reset, digest subscribe).
MAIL_COOLDOWN_MINUTES = envint("BROADSHEET_MAIL_COOLDOWN_MINUTES", 15, minimum=0)
MAIL_FORM_POSTS_PER_HOUR = envint("BROADSHEET_MAIL_FORM_POSTS_PER_HOUR", 20, minimum=1)

# Site rules.
VOTES_PER_MINUTE = envint("BROADSHEET_VOTES_PER_MINUTE", 30, minimum=1)
TRENDING_GRAVITY = envfloat("BROADSHEET_TRENDING_GRAVITY", 1.5)
TRENDING_DAYS = envint("BROADSHEET_TRENDING_DAYS", 7, minimum=1)
# /for-you shows papers listed or published this many days up to the newest listing first.
FOR_YOU_DAYS = envint("BROADSHEET_FOR_YOU_DAYS", 30, minimum=1)
PAGE_SIZE = envint("BROADSHEET_PAGE_SIZE", 50, minimum=1)
# Anonymous readers' day, week, month, trending and paper pages are served from a cache
# (front/page_cache.py): a change shows within PAGE_CACHE_CHECK_SECONDS (each process's check,
# one indexed query) plus its renderings, anything else that ages a page (relative times)
# within PAGE_CACHE_SECONDS. 0 turns the cache off.
PAGE_CACHE_SECONDS = envint("BROADSHEET_PAGE_CACHE_SECONDS", 300, minimum=0)
PAGE_CACHE_CHECK_SECONDS = envfloat("BROADSHEET_PAGE_CACHE_CHECK_SECONDS", 0.5)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Files, so every process of a node shares one rendering of a page.
    "pages": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": DATA_DIR / "cache" / "pages",
        "OPTIONS": {"MAX_ENTRIES": 2000},
    },
}
COMMENT_MAX_LENGTH = envint("BROADSHEET_COMMENT_MAX_LENGTH", 5000, minimum=1)

# Abuse limits (docs/security.md), per member or, for visitors, per client address.
COMMENTS_PER_HOUR = envint("BROADSHEET_COMMENTS_PER_HOUR", 20, minimum=1)
# Look-ups at arXiv of papers we do not have (the submit form and API), whatever the answer.
SUBMIT_FETCHES_PER_HOUR = envint("BROADSHEET_SUBMIT_FETCHES_PER_HOUR", 10, minimum=1)
# /search (also as you type) and the search feeds, together.
SEARCHES_PER_MINUTE = envint("BROADSHEET_SEARCHES_PER_MINUTE", 30, minimum=1)
# Failed logins (django-axes, kept in the database) per account and per client address; at
# the limit both are refused for the cool-off, which failures meanwhile do not extend.
AXES_FAILURE_LIMIT = envint("BROADSHEET_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=envint("BROADSHEET_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "broadsheet.lib.clients.client_ip"
AXES_LOCKOUT_CALLABLE = "broadsheet.accounts.lockout.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False  # no start-up banner in every command's output

# One JSON object a line for log pipelines, or plain text for people.
LOG_FORMAT = env("BROADSHEET_LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise SettingError(f"BROADSHEET_LOG_FORMAT={LOG_FORMAT!r}: expected text or json")
LOGGING = logging_config(LOG_FORMAT, env("BROADSHEET_LOG_LEVEL", "INFO"))
AUTH_USER_MODEL = "accounts.User"

# Sources (base URLs are settings so tests and mirrors can point them elsewhere).
ARXIV_API_URL = env("BROADSHEET_ARXIV_API_URL", "https://export.arxiv.org/api/query")
ARXIV_OAI_URL = env("BROADSHEET_ARXIV_OAI_URL", "https://oaipmh.arxiv.org/oai")
HF_ENDPOINT = env("BROADSHEET_HF_ENDPOINT", "https://huggingface.co").rstrip("/")
# Seconds between two requests to arXiv (its terms ask for at least 3).
ARXIV_REQUEST_INTERVAL = envfloat("BROADSHEET_ARXIV_REQUEST_INTERVAL", 3.0)

# Submissions: per member per day, and how recent a paper must be.
SUBMIT_DAILY_LIMIT = envint("BROADSHEET_SUBMIT_DAILY_LIMIT", 5, minimum=0)
SUBMIT_MAX_AGE_DAYS = envint("BROADSHEET_SUBMIT_MAX_AGE_DAYS", 14, minimum=1)
SUBMIT_FETCH_TIMEOUT = envfloat("BROADSHEET_SUBMIT_FETCH_TIMEOUT", 10.0)

# What `broadsheet worker` ingests, and when (in the site's time zone). arXiv announces new
# papers at 20:00 US Eastern, Sunday to Thursday.
INGEST_ARXIV_CATEGORIES = envlist("BROADSHEET_INGEST_ARXIV_CATEGORIES", "")
INGEST_HF_DAILY = envbool("BROADSHEET_INGEST_HF_DAILY", False)
_ingest_at = env("BROADSHEET_INGEST_AT", "02:00")
try:
    INGEST_AT = tuple(int(part) for part in _ingest_at.split(":"))
    assert len(INGEST_AT) == 2 and 0 <= INGEST_AT[0] < 24 and 0 <= INGEST_AT[1] < 60
except (ValueError, AssertionError):
    raise SettingError(f"BROADSHEET_INGEST_AT={_ingest_at!r}: expected HH:MM") from None

# Library import (broadsheet.library): the largest file accepted, entries per import, arXiv
# papers fetched per import, imports per member per hour, the Zotero API, and whether another
# Broadsheet's collection may be read from a non-public address.
LIBRARY_MAX_BYTES = envint("BROADSHEET_LIBRARY_MAX_BYTES", 5_000_000, minimum=1)
LIBRARY_MAX_ENTRIES = envint("BROADSHEET_LIBRARY_MAX_ENTRIES", 5000, minimum=1)
LIBRARY_FETCH_MAX = envint("BROADSHEET_LIBRARY_FETCH_MAX", 200, minimum=0)
LIBRARY_IMPORTS_PER_HOUR = envint("BROADSHEET_LIBRARY_IMPORTS_PER_HOUR", 10, minimum=1)
ZOTERO_API_URL = env("BROADSHEET_ZOTERO_API_URL", "https://api.zotero.org").rstrip("/")
LIBRARY_PRIVATE_HOSTS = envbool("BROADSHEET_LIBRARY_PRIVATE_HOSTS", False)
# Seconds an import from the page may spend looking up titles and fetching from Zotero and
# arXiv (the command has no limit); under BROADSHEET_TIMEOUT, when gunicorn kills a request.
LIBRARY_PAGE_SECONDS = envint("BROADSHEET_LIBRARY_PAGE_SECONDS", 20, minimum=1)

# Thumbnails and GitHub stars, kept up to date by `broadsheet worker` (0 per run: none).
THUMBNAILS_PER_RUN = envint("BROADSHEET_THUMBNAILS_PER_RUN", 20, minimum=0)
GITHUB_STARS_PER_RUN = envint("BROADSHEET_GITHUB_STARS_PER_RUN", 50, minimum=0)
GITHUB_API_URL = env("BROADSHEET_GITHUB_API_URL", "https://api.github.com").rstrip("/")
GITHUB_TOKEN = env("BROADSHEET_GITHUB_TOKEN")

# Search by meaning as well as by words (loads a 21 MB model on the first query).
SEARCH_SEMANTIC = envbool("BROADSHEET_SEARCH_SEMANTIC", True)
# Which engine serves search on PostgreSQL: `embedded` (tantivy and a faiss file in each node's
# data directory, fed from the database's change log by `broadsheet search-follow`: SQLite's
# engine, faster at every size measured) or `database` (tsvector/GIN and pgvector HNSW in the
# database: no per-node state). SQLite always runs the embedded engine.
SEARCH_ENGINE = env("BROADSHEET_SEARCH_ENGINE", "embedded").strip().lower()
if SEARCH_ENGINE not in ("database", "embedded"):
    raise SettingError(f"BROADSHEET_SEARCH_ENGINE={SEARCH_ENGINE!r}: expected database or embedded")

# API: requests per minute per IP (anonymous) and per token or member session.
API_RATE_LIMIT_ANONYMOUS = envint("BROADSHEET_API_RATE_LIMIT_ANONYMOUS", 60, minimum=1)
API_RATE_LIMIT_TOKEN = envint("BROADSHEET_API_RATE_LIMIT_TOKEN", 300, minimum=1)
# The API's `since` cursors leave out what changed in the last N seconds: a transaction still
# open may hold an earlier time, and would be passed over once the cursor moved beyond it.
API_SINCE_SETTLE_SECONDS = envint("BROADSHEET_API_SINCE_SETTLE_SECONDS", 60, minimum=0)
# How long feed readers and proxies may cache a feed, in seconds.
FEED_MAX_AGE = envint("BROADSHEET_FEED_MAX_AGE", 300, minimum=0)

# Operations: /readyz, the worker heartbeat, backups in PostgreSQL mode.
WORKER_HEARTBEAT_MAX_AGE = envint("BROADSHEET_WORKER_HEARTBEAT_MAX_AGE", 300, minimum=30)
READYZ_REQUIRE_WORKER = envbool("BROADSHEET_READYZ_REQUIRE_WORKER", False)
PG_DUMP = env("BROADSHEET_PG_DUMP", "pg_dump")
PG_RESTORE = env("BROADSHEET_PG_RESTORE", "pg_restore")
# Email digests (`broadsheet send-digests`, run by the worker at BROADSHEET_DIGEST_SEND_AT).
_digest_at = env("BROADSHEET_DIGEST_SEND_AT", "07:00")
try:
    DIGEST_SEND_AT = tuple(int(part) for part in _digest_at.split(":"))
    assert len(DIGEST_SEND_AT) == 2 and 0 <= DIGEST_SEND_AT[0] < 24 and 0 <= DIGEST_SEND_AT[1] < 60
except (ValueError, AssertionError):
    raise SettingError(f"BROADSHEET_DIGEST_SEND_AT={_digest_at!r}: expected HH:MM") from None
DIGEST_WEEKLY_DAY = envint("BROADSHEET_DIGEST_WEEKLY_DAY", 0, minimum=0)
if DIGEST_WEEKLY_DAY > 6:
    raise SettingError("BROADSHEET_DIGEST_WEEKLY_DAY: 0 (Monday) to 6 (Sunday)")
DIGEST_CONFIRM_DAYS = envint("BROADSHEET_DIGEST_CONFIRM_DAYS", 7, minimum=1)
DIGEST_MAX_ATTEMPTS = envint("BROADSHEET_DIGEST_MAX_ATTEMPTS", 5, minimum=1)
DIGEST_RETRY_SECONDS = envint("BROADSHEET_DIGEST_RETRY_SECONDS", 300, minimum=1)
DIGEST_BOUNCE_LIMIT = envint("BROADSHEET_DIGEST_BOUNCE_LIMIT", 3, minimum=1)
DIGEST_CLAIM_TIMEOUT = envint("BROADSHEET_DIGEST_CLAIM_TIMEOUT", 600, minimum=1)

# A private instance (docs/operations.md, "Private instance"; api/private.py): every page,
# feed and API answer needs a member; sign-up only by moderators' invitations (valid this
# many days) or single sign-on. BROADSHEET_PASSWORD_LOGIN=false leaves single sign-on as
# the only way in.
PRIVATE = envbool("BROADSHEET_PRIVATE", False)
INVITE_DAYS = envint("BROADSHEET_INVITE_DAYS", 7, minimum=1)
PASSWORD_LOGIN = envbool("BROADSHEET_PASSWORD_LOGIN", True)
# Single sign-on with an OpenID Connect provider (mozilla-django-oidc); on when a client id is
# set. The provider's endpoints are given one by one (ORCID's are in docs/operations.md).
OIDC_RP_CLIENT_ID = env("BROADSHEET_OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env("BROADSHEET_OIDC_CLIENT_SECRET")
OIDC_OP_ISSUER = env("BROADSHEET_OIDC_ISSUER")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("BROADSHEET_OIDC_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env("BROADSHEET_OIDC_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env("BROADSHEET_OIDC_USERINFO_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env("BROADSHEET_OIDC_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = env("BROADSHEET_OIDC_SCOPES", "openid email profile")
OIDC_TIMEOUT = envfloat("BROADSHEET_OIDC_TIMEOUT", 10.0)
OIDC_PROVIDER_NAME = env("BROADSHEET_OIDC_PROVIDER_NAME", "single sign-on")
# Verified addresses at these domains may join by single sign-on without an invitation (on a
# private site) and only they may sign in that way when any are listed.
OIDC_ALLOWED_EMAIL_DOMAINS = [
    d.lower() for d in envlist("BROADSHEET_OIDC_ALLOWED_EMAIL_DOMAINS", "")
]
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"
if OIDC_RP_CLIENT_ID and not all(
    (OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_USER_ENDPOINT,
     OIDC_OP_JWKS_ENDPOINT)
):  # fmt: skip
    raise SettingError(
        "BROADSHEET_OIDC_CLIENT_ID is set: also set BROADSHEET_OIDC_AUTHORIZATION_ENDPOINT, "
        "_TOKEN_ENDPOINT, _USERINFO_ENDPOINT and _JWKS_ENDPOINT"
    )
# Channels (Slack, Discord, Matrix, webhooks... through Apprise; `broadsheet send-channels`).
# Their URLs are encrypted with this Fernet key; unset, one is derived from SECRET_KEY (HKDF).
CHANNEL_KEY = env("BROADSHEET_CHANNEL_KEY")
CHANNEL_TIMEOUT = envint("BROADSHEET_CHANNEL_TIMEOUT", 10, minimum=1)
CHANNEL_PARALLEL = envint("BROADSHEET_CHANNEL_PARALLEL", 4, minimum=1)
CHANNEL_MAX_ATTEMPTS = envint("BROADSHEET_CHANNEL_MAX_ATTEMPTS", 5, minimum=1)
CHANNEL_RETRY_SECONDS = envint("BROADSHEET_CHANNEL_RETRY_SECONDS", 300, minimum=1)
CHANNEL_FAILURE_LIMIT = envint("BROADSHEET_CHANNEL_FAILURE_LIMIT", 3, minimum=1)
CHANNEL_CLAIM_TIMEOUT = envint("BROADSHEET_CHANNEL_CLAIM_TIMEOUT", 600, minimum=1)
CHANNEL_ALLOW_PRIVATE_HOSTS = envbool("BROADSHEET_CHANNEL_ALLOW_PRIVATE_HOSTS", False)
