"""Settings read from the environment; see the README's configuration table."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "development-only-secret-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_prometheus",
    "config.metrics.MetricsConfig",
    "accounts",
    "activity",
    "scheduling",
    "bookings",
    "engagement",
    "django_tasks",
    "django_tasks_db",
    "instructor",
    "notifications",
    "reports",
    "student",
    "calendars",
    "webhooks",
]

MIDDLEWARE = [
    # Outermost, so that latency and query counts cover every other middleware.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "config.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Times on the pages in the signed-in person's zone (User.time_zone).
    "accounts.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns its lockout of the login pages into a 429 page.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "instructor.navigation.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent connections buy nothing on an embedded file database.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with psycopg's C timestamp parser (config/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    # JIT compilation costs more than it saves on short OLTP statements (SPEC §8).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Redis is an accelerator, not a dependency (config/cache.py): these bound what an
# unreachable or hung Redis costs a request before the cache answers "miss".
REDIS_CONNECT_TIMEOUT = float(os.environ.get("REDIS_CONNECT_TIMEOUT", "0.25"))
REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "0.25"))
REDIS_FAILURE_BACKOFF = float(os.environ.get("REDIS_FAILURE_BACKOFF", "5"))


def redis_cache(url: str) -> dict:
    """The cache settings for a Redis at `url` (tests point it at dead servers too)."""
    return {
        "BACKEND": "config.cache.ResilientRedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "practica",
        "TIMEOUT": 300,
        "OPTIONS": {
            "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "failure_backoff": REDIS_FAILURE_BACKOFF,
        },
    }


if REDIS_URL:
    # Shared by every app server: API throttles count across processes.
    CACHES = {"default": redis_cache(REDIS_URL)}
else:
    # Per process: fine for development, wrong for several servers (config/wsgi.py warns).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# django-axes first: it refuses a locked-out (username, address) before any password check,
# and counts the failures of every login: the pages, the admin and the API token endpoint.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
# Username and address together: a guesser is stopped without letting anyone lock a
# user out from everywhere, and without one shared address (an office NAT) locking all.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Failures counted in the database, which every process shares, whether or not Redis is
# there: the lockout keeps working when Redis is down, and `axes_reset_username` /
# `axes_reset` (which only know the database) unlock people in production.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Failures are what matters; a row per successful login would be a write per token request.
AXES_DISABLE_ACCESS_LOG = True
# Unlock with `manage.py axes_reset_username <name>` (or `axes_reset`); no admin pages.
AXES_ENABLE_ADMIN = False
AXES_CLIENT_IP_CALLABLE = "config.login_limits.client_ip"
AXES_LOCKOUT_CALLABLE = "config.login_limits.lockout_response"
# Proxies in front of the app servers that append to X-Forwarded-For (nginx: 1).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

# Bodies over 1 MiB are refused with 413 before they are read (config/middleware.py);
# no API request comes near that.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(1024 * 1024)))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGIN_URL = "login"
# Role-aware: students land on their schedule, instructors and staff on their sessions.
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Domain settings.
BOOKING_CANCELLATION_HOURS = int(os.environ.get("BOOKING_CANCELLATION_HOURS", "24"))
# How long a booking waits for a session or user row lock before answering "busy".
BOOKING_LOCK_TIMEOUT_MS = int(os.environ.get("BOOKING_LOCK_TIMEOUT_MS", "3000"))
IDEMPOTENCY_KEY_TTL_HOURS = 24
# Students whose attendance rate falls below this are flagged on the register (reports).
ATTENDANCE_WARNING_RATE = float(os.environ.get("ATTENDANCE_WARNING_RATE", "0.8"))
# Locations where sessions may overlap (a sports hall, "Online"), compared as
# scheduling.conflicts.location_key does: case and spaces ignored.
SHAREABLE_LOCATIONS = env_list("SHAREABLE_LOCATIONS", "")
# The most occurrences one series may have (a year of daily sessions fits).
SERIES_MAX_OCCURRENCES = 400
# Bearer token that lets a Prometheus scraper read /metrics (staff sessions may too).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# Background work (README, Background work): Django's Tasks API (the django-tasks backport
# until Django 6) on the database backend, so a task enqueued inside a service's
# transaction is a row committed, or rolled back, with that transaction.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
    }
}

# Email (README, Email): EMAIL_URL, or EMAIL_HOST and friends; files under var/mail/ in
# development when neither is set.
from .email import email_settings  # noqa: E402

globals().update(email_settings(os.environ, debug=DEBUG, base_dir=BASE_DIR))
# Absolute links in emails ("https://practica.example"; no trailing slash).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# How long before a session's start its confirmed students are reminded.
REMINDER_LEAD_HOURS = float(os.environ.get("REMINDER_LEAD_HOURS", "24"))
# Transient SMTP failures: retried after RETRY_BASE * 2**(attempt - 1) seconds, at most
# EMAIL_MAX_ATTEMPTS attempts in all (the default gives up after about an hour).
EMAIL_MAX_ATTEMPTS = int(os.environ.get("EMAIL_MAX_ATTEMPTS", "7"))
EMAIL_RETRY_BASE_SECONDS = float(os.environ.get("EMAIL_RETRY_BASE_SECONDS", "60"))
# Webhooks (README, Webhooks): the first retry waits about this long, doubling after; private
# and loopback addresses are refused unless allowed (development and tests only).
WEBHOOKS_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOKS_RETRY_BASE_SECONDS", "30"))
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)

REST_FRAMEWORK = {
    # Throttles key anonymous clients on the address the outermost trusted proxy saw,
    # not on a client-supplied X-Forwarded-For (the same rule as the login limits).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The API speaks JSON only (anything else is a 415): form and multipart bodies
    # would lose types (null, lists) and accept garbage; numbers stay finite.
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.StandardPagination",
    # No default filter backends: each viewset declares the ones it uses.
    "DEFAULT_SCHEMA_CLASS": "config.spectacular.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        # One counter per client and window (config/throttling.py), not DRF's list of times.
        "config.throttling.AnonRateThrottle",
        "config.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("THROTTLE_ANON_RATE", "120/minute"),
        "user": os.environ.get("THROTTLE_USER_RATE", "3000/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Practica API",
    "DESCRIPTION": "Session scheduling and booking for training academies.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags and operation ids from the resource ("sessions_list"), not the version.
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.spectacular.allow_empty_query_values",
        "config.spectacular.list_error_codes",
    ],
    # Several models have a `status` (or `kind`) with different choices: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": "scheduling.models.Session.Status",
        "BookingStatusEnum": "bookings.models.Booking.Status",
        "AttendanceStatusEnum": "engagement.models.Attendance.Status",
        "RegisterCellEnum": "engagement.register.CELL_CHOICES",
    },
}

# Probes sent straight to the app port, over plain HTTP, get the truth rather than a
# redirect to an address the prober cannot reach (patterns match the path without "/").
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Content-Security-Policy (django-csp 4): scripts and styles from our own origin only,
# never inline, so an injected <script> or event handler does not run. The pages, the
# admin and Swagger UI (config/urls.py serves its init script as a file) need nothing
# more; images also as data: URIs, which the admin's and Swagger UI's icons are.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    # Off unless asked for: includeSubDomains binds every host under the domain to HTTPS,
    # and preload, once the browsers ship the list, cannot be taken back for months. The
    # domain's owner decides; `check --deploy` is told it was decided (W005, W021).
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS = [
        *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
        *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    ]
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "client_errors_one_line": {"()": "config.log_filters.ClientErrorsWithoutTraceback"}
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's default config gives "django" a console handler of its own; it also
        # propagates to the root's, so every line came out twice. The root's alone.
        "django": {"handlers": [], "propagate": True},
        # Configuring "django" resets its children: runserver's request lines keep
        # Django's own format (a timestamp each) as in its default config.
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.request": {"filters": ["client_errors_one_line"], "propagate": True},
        # axes announces its version when it loads: once per process, and runserver's and
        # db_worker's autoreloaders each load it twice. Its login records stay at INFO.
        "axes.apps": {"level": "WARNING"},
    },
}
