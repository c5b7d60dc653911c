"""Settings, read strictly from the environment (see ``.env.example``).

With nothing set, the project runs on embedded defaults that need no server:
SQLite in WAL mode and kombu's filesystem transport, so a newcomer with only
Python gets a working web server, Celery worker and beat. ``DATABASE_URL`` and
``REDIS_URL`` switch to PostgreSQL and Redis. ``DJANGO_ENV=production`` refuses
to start on anything insecure or embedded.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import Env
from config.jobs import BEAT_SCHEDULE

# Lets classes the type checker sees as generic (ModelAdmin[Incident], ModelForm[Complaint])
# be written that way at run time too.
django_stubs_ext.monkeypatch()

env = Env()
BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.str("VAR_DIR") or BASE_DIR / "var")

DJANGO_ENV = env.choice("DJANGO_ENV", ("development", "test", "production"), "development")
IS_PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DEBUG", default=DJANGO_ENV == "development")
_DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105 - refused in production
SECRET_KEY = env.str("SECRET_KEY") or _DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS")
# nginx's address (or network) as the app sees it; only from there is X-Real-IP the client's.
TRUSTED_PROXY_IPS = env.list("TRUSTED_PROXY_IPS")
for _proxy in TRUSTED_PROXY_IPS:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"TRUSTED_PROXY_IPS must list addresses or networks, got {_proxy!r}") from None
# Where customers and Twilio reach us; used for links in messages and webhook
# signature checks behind a proxy.
PUBLIC_BASE_URL = env.url("PUBLIC_BASE_URL", ("http", "https"), "http://127.0.0.1:8000").rstrip("/")
# Parcel lookups allowed per client IP and per tracking number in 10 minutes.
LOOKUPS_PER_IP = env.int("LOOKUPS_PER_IP", 30, minimum=1)
LOOKUPS_PER_TRACKING_NUMBER = env.int("LOOKUPS_PER_TRACKING_NUMBER", 10, minimum=1)
# The page id in the Statuspage-compatible JSON (/api/v2/).
STATUS_PAGE_ID = env.str("STATUS_PAGE_ID", "parcel-status")
# Where each rendering of the status page is also written as files (status.<language>.html and
# .gz) for nginx to send without asking the app (deploy/nginx/status-file.conf). Only where every
# web and worker process shares it with nginx (one host, or a shared volume); empty: not written.
STATUS_PUBLISH_DIR = env.str("STATUS_PUBLISH_DIR")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    "core",
    "customers",
    "orders",
    "notifications",
    "components",
    "incidents",
    "complaints",
    "compensation",
    "reports",
    "monitoring",
    "ops",
    "portal",
]

MIDDLEWARE = [
    # First: an anonymous read of the published status page, JSON or feed is answered with
    # the bytes the full path gave the same kind of request (portal/middleware.py says how).
    "portal.middleware.PublishedRenderingMiddleware",
    "core.middleware.TrustedProxyMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.metrics.RequestLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "core.middleware.RejectNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env.url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
DATABASES: dict[str, Mapping[str, Any]]
if DATABASE_URL:
    database = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env.int("CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
    if database["ENGINE"].endswith("postgresql") and env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # psycopg's own default, which Django turns off. Django's cursors bind on the client and
        # never prepare; only core.database.prepared_rows (the parcel lookup) binds on the server.
        database["OPTIONS"] = {**database.get("OPTIONS", {}), "prepare_threshold": 5}
    DATABASES = {"default": database}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                # WAL lets the web server read while the worker writes; the busy
                # timeout makes a writer wait for the lock instead of failing.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
USES_EMBEDDED_DATABASE = DATABASES["default"]["ENGINE"].endswith("sqlite3")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery --------------------------------------------------
REDIS_URL = env.url("REDIS_URL", ("redis", "rediss"))
CELERY_BROKER_URL = env.url("CELERY_BROKER_URL", ("redis", "rediss", "amqp", "filesystem")) or REDIS_URL
BROKER_DIR = VAR_DIR / "broker"
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "filesystem://localhost//"
USES_EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("filesystem")
if USES_EMBEDDED_BROKER:
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than any countdown or ETA we schedule, or Redis redelivers a task
        # that is merely waiting.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600, minimum=60),
        # A web request that publishes while Redis is down gives up within a
        # second instead of six; the outbox sweeper publishes it later.
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
        "socket_connect_timeout": 2,
    }
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", 15 * 60, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Which beat runs, from the one table of jobs (config/jobs.py).
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE
# A target is "about to be missed" in its last quarter (at least five minutes).
TARGET_WARNING_FRACTION = 0.25
# A reply is owed this long after a complaint is filed or the customer writes back;
# per-reason overrides in hours, e.g. {"lost": 12}.
COMPLAINT_REPLY_HOURS = env.int("COMPLAINT_REPLY_HOURS", 24, minimum=1)
COMPLAINT_REPLY_HOURS_BY_REASON: dict[str, int] = {}
# The assignee (or the team) is reminded this long before a reply falls due.
COMPLAINT_REMINDER_BEFORE = timedelta(hours=env.int("COMPLAINT_REMINDER_HOURS", 4, minimum=0))
# Compensation above these needs a supervisor: an incident's whole issue (CNY
# total), and a goodwill coupon an agent gives from a complaint.
COMPENSATION_APPROVAL_TOTAL = Decimal(env.int("COMPENSATION_APPROVAL_TOTAL", 10_000, minimum=0))
COMPENSATION_AGENT_LIMIT = Decimal(env.int("COMPENSATION_AGENT_LIMIT", 20, minimum=0))
GOODWILL_VALID_DAYS = 30
# Goodwill above these caps needs a supervisor too: the total on one complaint, and
# the total to one customer over the last GOODWILL_PERIOD_DAYS (CNY).
GOODWILL_COMPLAINT_LIMIT = Decimal(env.int("GOODWILL_COMPLAINT_LIMIT", 50, minimum=0))
GOODWILL_CUSTOMER_LIMIT = Decimal(env.int("GOODWILL_CUSTOMER_LIMIT", 100, minimum=0))
GOODWILL_PERIOD_DAYS = env.int("GOODWILL_PERIOD_DAYS", 30, minimum=1)
# Prometheus scrapes /metrics with "Authorization: Bearer <token>"; unset, only
# signed-in supervisors can read it.
METRICS_TOKEN = env.str("METRICS_TOKEN")
# /healthz reports the worker as down when no heartbeat arrived for this long.
WORKER_HEARTBEAT_MAX_AGE = timedelta(seconds=env.int("WORKER_HEARTBEAT_MAX_AGE_SECONDS", 120, minimum=30))

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", "parcel"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # Shared by the web server and the worker processes, unlike locmem.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Only the staff desk (the admin) sends messages, and its users always have a session:
# kept there. The default (a signed cookie, then the session) builds a cookie signer on
# every request, the crowd's on the public pages included.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Auth -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Internationalisation -------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
if not IS_PRODUCTION:
    # Serve straight from the source folders; production runs collectstatic.
    WHITENOISE_USE_FINDERS = True
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- REST framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Parcel incident platform API",
    "DESCRIPTION": "Incidents, affected orders, notifications, complaints and compensation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Served by us: no CDN is reachable from a locked-down network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ParcelStatusEnum": "orders.models.ParcelStatus",
        "IncidentStatusEnum": "incidents.models.IncidentStatus",
        "ComponentStatusEnum": "components.models.ComponentStatus",
        "AffectedReasonEnum": "incidents.models.AffectedReason",
        "ComplaintReasonEnum": "complaints.models.Reason",
        "AlertStatusEnum": "monitoring.models.AlertStatus",
        "AlertOutcomeEnum": "monitoring.models.Outcome",
    },
}
# A client system (token) may link by criteria at most this share of all parcels at
# once; more needs a person on the incident page.
INTEGRATION_LINK_MAX_PERCENT = env.int("INTEGRATION_LINK_MAX_PERCENT", 5, minimum=0)
# Largest batch the order-ingest endpoint accepts; the whole batch is validated
# and written in one transaction, so this bounds request memory and lock time.
ORDER_INGEST_MAX_BATCH = env.int("ORDER_INGEST_MAX_BATCH", 1000, minimum=1)
# Monitoring's alert deliveries: a body above this is refused unread (413), and a
# delivery of more alerts is refused whole (400; Alertmanager's max_alerts keeps it under).
ALERTS_MAX_BODY_BYTES = env.int("ALERTS_MAX_BODY_BYTES", 1_048_576, minimum=1024)
ALERTS_MAX_PER_REQUEST = env.int("ALERTS_MAX_PER_REQUEST", 500, minimum=1, maximum=10_000)

# --- Integrations (off unless configured) ---------------------------------------
EMAIL_HOST = env.str("EMAIL_HOST")
# Email goes out by SMTP, by an email provider's HTTP API through django-anymail,
# or (nothing configured) to the log. Anymail's settings come from ANYMAIL_*
# variables, e.g. ANYMAIL_POSTMARK_SERVER_TOKEN, ANYMAIL_SENDGRID_API_KEY.
ANYMAIL_PROVIDERS = (
    "amazon_ses",
    "brevo",
    "mailersend",
    "mailgun",
    "mailjet",
    "mandrill",
    "postal",
    "postmark",
    "resend",
    "sendgrid",
    "sparkpost",
)
EMAIL_PROVIDER = env.choice("EMAIL_PROVIDER", ("log", "smtp", *ANYMAIL_PROVIDERS), "smtp" if EMAIL_HOST else "log")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", 10, minimum=1)
if EMAIL_PROVIDER == "smtp":
    if not EMAIL_HOST:
        raise ImproperlyConfigured("EMAIL_PROVIDER=smtp needs EMAIL_HOST")
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env.int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
elif EMAIL_PROVIDER == "log":
    EMAIL_BACKEND = "notifications.backends.LoggingEmailBackend"
else:
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
ANYMAIL: dict[str, Any] = {
    name.removeprefix("ANYMAIL_"): value.strip()
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and value.strip()
}
ANYMAIL.setdefault("REQUESTS_TIMEOUT", EMAIL_TIMEOUT)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "noreply@parcel-status.example")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID")
# Points the real SDK at a stand-in server (tests, benchmarks, the demo).
TWILIO_API_BASE_URL = env.url("TWILIO_API_BASE_URL", ("http", "https"))
SMS_ENABLED = bool(TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)
TWILIO_TIMEOUT_SECONDS = env.int("TWILIO_TIMEOUT_SECONDS", 10, minimum=1)
# Several sending numbers, comma-separated: each recipient always hears from the
# same one (replies and STOP reach the number that wrote), and each has its own rate.
TWILIO_FROM_NUMBERS = env.list("TWILIO_FROM_NUMBER")
# Per sender (each number, or the Messaging Service), shared by all workers through
# a token bucket in Redis: what the provider accepts, not what one worker manages.
SMS_RATE_PER_SECOND = env.int("SMS_RATE_PER_SECOND", 30, minimum=1)
# An SMS longer than this many segments has its free text (update, reply) cut
# to fit, with its link kept: one message, not fifteen billed parts.
SMS_MAX_SEGMENTS = env.int("SMS_MAX_SEGMENTS", 3, minimum=1, maximum=10)
# Non-critical SMS wait for the end of quiet hours, in the recipient's local time
# (from the phone number's country; TIME_ZONE when it has several). Hours 0-23.
QUIET_HOURS_START = env.int("QUIET_HOURS_START", 22, minimum=0, maximum=23)
QUIET_HOURS_END = env.int("QUIET_HOURS_END", 8, minimum=0, maximum=23)
# Status-notice sign-up by SMS: codes only to these countries (ISO codes), and at
# most this many codes an hour site-wide, so the form cannot pump paid texts.
SUBSCRIPTION_SMS_COUNTRIES = [code.upper() for code in env.list("SUBSCRIPTION_SMS_COUNTRIES", ["CN", "HK", "MO", "TW"])]
SUBSCRIPTION_SMS_PER_HOUR = env.int("SUBSCRIPTION_SMS_PER_HOUR", 200, minimum=1)
# Provider calls a worker process keeps outstanding at once (SMS and email). It is
# also the bound on duplicates after a crash: a message counts against it from the
# moment it is handed to the provider until its outcome is committed.
NOTIFICATION_MAX_IN_FLIGHT = env.int("NOTIFICATION_MAX_IN_FLIGHT", 64, minimum=1, maximum=1000)
# Outgoing webhooks (Standard Webhooks): a short timeout, so a slow endpoint holds few
# slots for long; an endpoint failing this long is disabled and its owner told; a
# rotated secret keeps signing beside the new one this long; orders per delivery.
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
WEBHOOK_DISABLE_AFTER_HOURS = env.int("WEBHOOK_DISABLE_AFTER_HOURS", 24, minimum=1)
WEBHOOK_SECRET_OVERLAP_HOURS = env.int("WEBHOOK_SECRET_OVERLAP_HOURS", 24, minimum=0)
WEBHOOK_BATCH_ORDERS = env.int("WEBHOOK_BATCH_ORDERS", 100, minimum=1, maximum=1000)
# Endpoints on private, loopback and link-local addresses are refused (server-side
# request forgery) unless this is on; off in production unless set.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=not IS_PRODUCTION)
# Open SMTP (or email API) connections per worker process, each reused across messages.
NOTIFICATION_EMAIL_CONNECTIONS = env.int("NOTIFICATION_EMAIL_CONNECTIONS", 4, minimum=1, maximum=64)
# Up to this many affected parcels an update's messages are written in its own
# transaction (well under a second); above it a worker writes them so the request
# returns at once. The update row, committed with its notify flags, is the promise.
NOTIFICATION_SYNC_FAN_OUT_LIMIT = env.int("NOTIFICATION_SYNC_FAN_OUT_LIMIT", 20_000, minimum=0)
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", 8, minimum=1)
# A row claimed, or queued, longer ago than this and not done (worker killed
# mid-send, tasks lost with it) is handed out again.
NOTIFICATION_LEASE = timedelta(seconds=env.int("NOTIFICATION_LEASE_SECONDS", 300, minimum=30))

# --- Backups (manage.py backup_db / restore_db / verify_restore) --------------------
BACKUP_DIR = env.str("BACKUP_DIR") or str(VAR_DIR / "backups")
# A Fernet key; set, backups are encrypted and restores need it.
BACKUP_ENCRYPTION_KEY = env.str("BACKUP_ENCRYPTION_KEY")

# --- Logging ----------------------------------------------------------------------
LOG_LEVEL = env.choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOG_FORMAT = env.choice("LOG_FORMAT", ("json", "text"), "json" if IS_PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
        "text": {"()": "core.logging.KeyValueFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": "INFO"},
        # aiosmtpd (the local SMTP stand-in) logs every SMTP verb at INFO.
        "mail.log": {"level": "WARNING"},
        # The twilio SDK logs ten INFO lines of headers per message: 200,000 lines
        # for a 20,000-message fan-out, none of them needed.
        "twilio.http_client": {"level": "WARNING"},
        "twilio.async_http_client": {"level": "WARNING"},
    },
}

# --- Production hardening ---------------------------------------------------------
if IS_PRODUCTION:
    problems = []
    if DEBUG:
        problems.append("DEBUG is on")
    if SECRET_KEY == _DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        problems.append("SECRET_KEY is missing, too short (<50 characters) or a development key")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS is empty or contains '*'")
    if USES_EMBEDDED_DATABASE:
        problems.append("DATABASE_URL must point at PostgreSQL, not the embedded SQLite database")
    if USES_EMBEDDED_BROKER:
        problems.append("REDIS_URL or CELERY_BROKER_URL must be set; the filesystem broker is for development")
    if EMAIL_PROVIDER in ANYMAIL_PROVIDERS and ":" not in ANYMAIL.get("WEBHOOK_SECRET", ""):
        problems.append(
            "ANYMAIL_WEBHOOK_SECRET (user:password) must be set with an email provider: "
            "its bounce and complaint webhooks are how an address stops getting email"
        )
    if not env.is_set("PUBLIC_BASE_URL") or not PUBLIC_BASE_URL.startswith("https://"):
        problems.append("PUBLIC_BASE_URL must be set to the https:// address customers and Twilio reach")
    if problems:
        raise ImproperlyConfigured("Refusing to start with DJANGO_ENV=production: " + "; ".join(problems) + ".")

    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if env.bool("TRUST_X_FORWARDED_PROTO", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is probed over plain HTTP by the load balancer.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    if not TRUSTED_PROXY_IPS:
        # Not fatal (a deploy without a proxy is possible), but behind nginx every
        # client then shares nginx's address: one caller's rate limit stops everyone.
        sys.stderr.write(
            "WARNING: DJANGO_ENV=production without TRUSTED_PROXY_IPS: X-Real-IP is ignored, so every client "
            "counts as the proxy's address for rate limits and the admin sign-in throttle. "
            "Set TRUSTED_PROXY_IPS to nginx's address.\n"
        )

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
