"""Settings for the trading platform, read from the environment.

Two stacks, one code base:

* embedded default (no variables set): SQLite under ``var/``, the in-memory channel
  layer, Celery in eager mode and an in-process clock that fires deadlines;
* production and CI: ``DATABASE_URL`` (PostgreSQL), ``REDIS_URL`` (channel layer,
  Celery broker and results), several ASGI processes, a Celery worker and beat.

Web processes keep no state of their own, so any number of them can run behind a
load balancer once ``REDIS_URL`` and ``DATABASE_URL`` point at shared services.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

from core.deploy import production_from_env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GGZY_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Production mode (core/deploy.py): GGZY_PRODUCTION=1. Secrets are never generated,
# cookies are HTTPS-only, HSTS is on, demo data is refused.
GGZY_PRODUCTION = production_from_env()


class ProductionConfigError(SystemExit):
    """A production host lacks a setting it must be given: one readable line, exit 1."""

    def __init__(self, line: str):
        super().__init__(f"ggzy: {line}")


def _secret_key() -> str:
    """SECRET_KEY from the environment, else (not in production) one generated once and
    kept in var/. A production host must be given its key: generating one silently would
    sign sessions with a key nobody backs up and that differs between web processes."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    if GGZY_PRODUCTION:
        raise ProductionConfigError(
            "SECRET_KEY is not set; production mode (GGZY_PRODUCTION=1) never generates "
            "it: set SECRET_KEY to a long random value shared by every web process."
        )
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False) and not GGZY_PRODUCTION
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    # Below every domain app: keys, refusals, the clock, statutory numbers.
    "core",
    "core.notifications",
    "accounts",
    "audit",
    # The procedure, one app per stage, in order (DESIGN.md, README "Layout").
    "bidding.tenders",
    "bidding.bids",
    "bidding.opening",
    "expert_pool",
    "bidding.evaluation",
    "bidding.award",
    # The procedure as a whole: the workspace, the demo, the pre-split schema history.
    "bidding",
    "supervision",
    "supervision.complaints",
    "supervision.inspections",
    "supervision.opendata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside the guards below, so their refusals carry the policy too.
    "core.middleware.ContentSecurityPolicyMiddleware",
    # Before anything reads the body or queries the database (core/middleware.py).
    "core.middleware.BodyCapMiddleware",
    "core.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tradecentre.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.notifications.context_processors.unread",
            ],
        },
    },
]
WSGI_APPLICATION = None

# Notifications' email (core.notifications): the console on the embedded stack; SMTP in
# production (EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the host).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ggzy-noreply@localhost")
# Absolute links in emails ("" = site-relative paths).
NOTIFICATIONS_SITE_URL = os.environ.get("SITE_URL", "")
ASGI_APPLICATION = "tradecentre.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for the writer instead of failing at once when a deadline rush serialises
    # writes on the embedded database; take the write lock when a transaction starts,
    # so two writers never deadlock upgrading read locks ("database is locked").
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"})
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
        "DB_POOL", True):
    # A connection pool per process: a deadline rush waits for a connection instead of
    # exhausting the server's max_connections (each request thread would open its own).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "20")),
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "60")),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "bidding:dashboard"
LOGOUT_REDIRECT_URL = "tenders:tender_list"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The trading centre's zone: everything people read is in it (core/timefmt.py).
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Uploads stream to disk above 2.5 MB instead of being held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Any request body over its cap is refused with 413 before it is read (core/middleware.py;
# under ASGI in front of Django, which would otherwise spool it to disk first). The cap is
# this, except a bid chunk (BID_UPLOAD_CHUNK_BYTES + 64 KiB) and tender documents from a
# signed-in user (TENDER_DOCUMENT_MAX_BYTES + 1 MiB).
MAX_REQUEST_BODY_BYTES = int(os.environ.get("MAX_REQUEST_BODY_BYTES", 10 * 1024 * 1024))
# JSON bodies nested deeper than this are refused with 400 (core/parsers.py).
JSON_MAX_DEPTH = 64

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # Pub/sub channels ignore the Redis database number: the prefix keeps two
            # platforms (or test stacks) on one Redis apart.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "max_connections": 2000}],
                       "prefix": os.environ.get("CHANNEL_LAYER_PREFIX", "ggzy")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: eager with no broker (embedded), workers and beat on Redis otherwise.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "lifecycle-tick": {"task": "bidding.tasks.lifecycle_tick", "schedule": 30.0},
}
# The in-process clock replaces beat when there is no broker: a thread in the
# ASGI process runs the lifecycle tick every few seconds.
EMBEDDED_CLOCK = env_bool("EMBEDDED_CLOCK", not REDIS_URL)
EMBEDDED_CLOCK_SECONDS = float(os.environ.get("EMBEDDED_CLOCK_SECONDS", "5"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "core.api_errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Public Resource Trading Platform API / 公共资源交易平台接口",
    "DESCRIPTION": (
        "Tenders, documents, clarifications, amendments, sealed bids (keys, submission in "
        "one request or resumable uploads, receipts, bonds), the online opening (state, "
        "actions, record, Merkle proofs) and the audit trail. Websockets: "
        "`/ws/tenders/{id}/` (status feed) and "
        "`/ws/openings/{id}/` (the opening hall); their messages are listed in the README. "
        "Authenticate with `Authorization: Token <key>` from `POST /api/auth/token/`. "
        "Every error has the shape "
        '`{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {...}}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"OrganisationKindEnum": "accounts.models.Organisation.Kind",
                            "BondKindEnum": "bidding.bids.models.BidBond.Kind",
                            "TenderStatusEnum": "bidding.tenders.models.Tender.Status"},
}

# Tender documents: allowed types and size (the size limit is a local policy).
TENDER_DOCUMENT_MAX_BYTES = int(os.environ.get("TENDER_DOCUMENT_MAX_BYTES", 200 * 1024 * 1024))
TENDER_DOCUMENT_EXTENSIONS = [
    ".pdf",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".zip",
    ".txt",
    ".dwg",
    ".ofd",
    ".gef",
]

TENDER_REFERENCE_PREFIX = os.environ.get("TENDER_REFERENCE_PREFIX", "GGZY")

# Sealed bids.
PLATFORM_KEY_FILE = os.environ.get("PLATFORM_KEY_FILE", str(VAR_DIR / "platform_signing_key.pem"))
PLATFORM_DOCUMENT_CERT_FILE = os.environ.get(
    "PLATFORM_DOCUMENT_CERT_FILE", str(VAR_DIR / "platform_document_cert.pem"))
# Where the platform signing key comes from: "file" (default), "env" (PEM in
# PLATFORM_SIGNING_KEY; chosen when that variable is set) or "external" (an HSM/KMS
# adapter: PLATFORM_EXTERNAL_SIGNER is the dotted path of its factory). README "Audit trail".
PLATFORM_KEY_PROVIDER = os.environ.get("PLATFORM_KEY_PROVIDER") or None
PLATFORM_EXTERNAL_SIGNER = os.environ.get("PLATFORM_EXTERNAL_SIGNER") or None
# The platform verify key as pinned by verifiers (never derived from the key on disk).
AUDIT_PINNED_KEY_FILE = os.environ.get("AUDIT_PINNED_KEY_FILE") or None
# The witness that cosigns tree heads (python -m audit.witness), and its pinned key.
AUDIT_WITNESS_URL = os.environ.get("AUDIT_WITNESS_URL") or None
AUDIT_WITNESS_KEY_FILE = os.environ.get("AUDIT_WITNESS_KEY_FILE") or None

# The expert pool (README "Expert pool"): avoidance, confirmation, the draw's beacon.
EXPERT_AVOID_EMPLOYMENT_YEARS = int(os.environ.get("EXPERT_AVOID_EMPLOYMENT_YEARS", "3"))
EXPERT_MAX_SERVICES_PER_TENDERER = int(os.environ.get("EXPERT_MAX_SERVICES_PER_TENDERER", "3"))
EXPERT_SERVICE_WINDOW_MONTHS = int(os.environ.get("EXPERT_SERVICE_WINDOW_MONTHS", "12"))
EXPERT_CONFIRM_WINDOW_MINUTES = int(os.environ.get("EXPERT_CONFIRM_WINDOW_MINUTES", "60"))
EXPERT_DRAW_BEACON = os.environ.get("EXPERT_DRAW_BEACON", "commit_reveal")
EXPERT_DRAW_BEACON_PARTIES = ["supervisor", "operator", "notary"]
# Supervision: the learned risk model needs this many decided cases; where it is kept.
SUPERVISION_MIN_LABELLED_TENDERS = int(os.environ.get("SUPERVISION_MIN_LABELLED_TENDERS", "20"))
SUPERVISION_MODEL_DIR = os.environ.get("SUPERVISION_MODEL_DIR", str(VAR_DIR / "supervision"))
# Text extraction from decrypted bid files for the document screens (hostile files capped).
EXTRACT_MAX_INPUT_MB = int(os.environ.get("EXTRACT_MAX_INPUT_MB", "200"))
EXTRACT_MAX_TEXT_MB = int(os.environ.get("EXTRACT_MAX_TEXT_MB", "16"))
EXTRACT_MAX_PAGES = int(os.environ.get("EXTRACT_MAX_PAGES", "5000"))
EXTRACT_MAX_UNZIPPED_MB = int(os.environ.get("EXTRACT_MAX_UNZIPPED_MB", "512"))
# Experts drawn again and again for one tenderer: the window, and a fixed limit (unset: the
# interquartile-range fence decides).
SUPERVISION_EXPERT_WINDOW_DAYS = int(os.environ.get("SUPERVISION_EXPERT_WINDOW_DAYS", "365"))
SUPERVISION_EXPERT_REPEAT_LIMIT = (int(os.environ["SUPERVISION_EXPERT_REPEAT_LIMIT"])
                                   if os.environ.get("SUPERVISION_EXPERT_REPEAT_LIMIT")
                                   else None)
EXPERT_NOTIFY_CHANNELS = [
    c.strip() for c in os.environ.get("EXPERT_NOTIFY_CHANNELS", "inapp,email,sms,voice").split(",")
    if c.strip()
]
PLATFORM_NAME = os.environ.get("PLATFORM_NAME", "福州市公共资源交易平台")

# Open data (OCDS 1.1, supervision/opendata): set from the environment when given; the
# defaults are in supervision/opendata/ocds.py (README "Open data"). A publisher registers
# its OCDS prefix before publishing anything.
for _name in ("OCDS_PREFIX", "OCDS_BASE_URL", "OCDS_PUBLISHER_NAME", "OCDS_PUBLISHER_URI",
              "OCDS_LICENSE", "OCDS_PUBLICATION_POLICY"):
    if _name in os.environ:
        globals()[_name] = os.environ[_name]
# k of the opening key's k-of-n split among the registered custodians.
OPENING_KEY_THRESHOLD = int(os.environ.get("OPENING_KEY_THRESHOLD", "2"))
# A bid chunk: the body streams to disk (bidding/bids/streaming.py), so memory does not grow
# with it; a larger chunk spreads each request's fixed cost (a sync to disk, a commit) over
# more bytes, at the price of resending more after a broken connection (bench_upload).
BID_UPLOAD_CHUNK_BYTES = int(os.environ.get("BID_UPLOAD_CHUNK_BYTES", 32 * 1024 * 1024))
BID_MAX_BYTES = int(os.environ.get("BID_MAX_BYTES", 8 * 1024**3))
PRICE_SHEET_MAX_BYTES = 64 * 1024
# Trust X-Forwarded-For from a reverse proxy only when told to (evidence of upload IPs).
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)

# Local statutory values: see core/statutory.py for the rules and sources.
STATUTORY_OVERRIDES: dict[str, object] = {}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Every page: scripts from this origin's files only (core/middleware.py has the policy).
# CONTENT_SECURITY_POLICY = "..." replaces it; "" turns the header off.

if GGZY_PRODUCTION:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (README "Deployment").
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31_536_000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
