"""Settings from environment variables, one class per environment.

Every variable read here is listed in README.md. Secrets have no default in
production: a misconfigured production app refuses to start.
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance")).resolve()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class Config:
    """Defaults shared by every environment (the embedded single-server setup)."""

    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'enforcement.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    STORAGE_URL = os.environ.get("STORAGE_URL", f"file://{INSTANCE_DIR / 'objects'}")

    # Sessions: signed cookies, checked against a per-user session version on the server
    # so logout and deactivation end every copy of the cookie.
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=_int("SESSION_MINUTES", 480))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    MAX_CONTENT_LENGTH = _int("MAX_FORM_BYTES", 2 * 1024 * 1024)

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "enforcement" / "translations")
    LANGUAGES = ("zh_CN", "en")

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    # The public annual-statistics PDF is drawn on request (about a second each): limit it per client.
    PUBLIC_PDF_RATE_LIMIT = os.environ.get("PUBLIC_PDF_RATE_LIMIT", "30 per minute")
    # How many reverse proxies (nginx, a load balancer) stand in front of the app. With 0 the
    # X-Forwarded-* headers are ignored; behind one proxy set 1, or every user shares the
    # proxy's address and the login rate limit locks them all out together.
    PROXY_COUNT = _int("PROXY_COUNT", 0)
    # Evidence uploads: the largest file, the part size sent to the store (S3 needs at least 5 MiB)
    # and how long an interrupted upload may be resumed before the sweeper drops it.
    MAX_UPLOAD_BYTES = _int("MAX_UPLOAD_MB", 4096) * 1024 * 1024
    UPLOAD_PART_BYTES = _int("UPLOAD_PART_MB", 8) * 1024 * 1024
    UPLOAD_RESUME_HOURS = _int("UPLOAD_RESUME_HOURS", 72)
    # At start, check that the bucket has versioning and object lock as configured (refuse otherwise).
    STORAGE_CHECK_ON_START = _bool("STORAGE_CHECK_ON_START", True)
    RATELIMIT_ENABLED = True

    CASES_PER_PAGE = _int("CASES_PER_PAGE", 25)
    # Seconds between checkpoints of the audit-chain head in the object store (0 = after every commit).
    AUDIT_CHECKPOINT_SECONDS = _int("AUDIT_CHECKPOINT_SECONDS", 0)
    # Limitation period for punishment, 行政处罚法 art. 36 (local rules may extend it to 5 years).
    LIMITATION_YEARS = _int("LIMITATION_YEARS", 2)
    DECISION_DAYS = _int("DECISION_DAYS", 90)
    # The night when no compulsory execution takes place unless the head marks it urgent
    # (行政强制法 art. 43), as "HH:MM-HH:MM" in local time.
    EXECUTION_QUIET_HOURS = os.environ.get("EXECUTION_QUIET_HOURS", "22:00-06:00")
    # Archiving a case extends the retention (object lock) of its records to this many years.
    ARCHIVE_RETENTION_YEARS = _int("ARCHIVE_RETENTION_YEARS", 30)
    # The CJK font embedded in the PDF documents (.ttc/.ttf/.otf); empty = search the usual Debian
    # paths (fonts-noto-cjk first). PDF_FONT_INDEX is the face inside that collection; unset = the
    # Simplified Chinese face of the known Noto CJK files, 0 for any other file.
    PDF_FONT_PATH = os.environ.get("PDF_FONT_PATH", "")
    PDF_FONT_INDEX = int(os.environ["PDF_FONT_INDEX"]) if os.environ.get("PDF_FONT_INDEX", "") != "" else None


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = Config.SECRET_KEY  # filled from instance/secret_key by create_app when unset


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    STORAGE_URL = "memory-tmp"  # replaced by the test fixture with a temporary file store
    RATELIMIT_ENABLED = True
    PASSWORD_FAST_HASH = True  # argon2 at minimum cost so the suite stays fast


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def config_from_env() -> type[Config]:
    name = os.environ.get("APP_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"APP_ENV must be one of {sorted(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
