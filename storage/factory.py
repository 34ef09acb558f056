"""Build an object store from a one-line URL (the ``STORAGE_URL`` setting)."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, unquote, urlsplit

from .base import ObjectStore

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

_S3_OPTIONS = {
    "endpoint": str,
    "region": str,
    "addressing": str,
    "access_key": str,
    "secret_key": str,
    "session_token": str,
    "lock_mode": str,
    "lock_days": int,
    "part_size": int,
    "concurrency": int,
    "connect_timeout": float,
    "read_timeout": float,
    "max_attempts": int,
    "declare_checksums": "auto-bool",
}
_FILE_OPTIONS = {"create": bool, "concurrency": int}


def _convert(name: str, value, kind):
    if not isinstance(value, str):
        return value
    if kind == "auto-bool":  # true, false, or auto (None: the store decides)
        return None if value.lower() == "auto" else _convert(name, value, bool)
    if kind is bool:
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"storage option {name} must be true or false, not {value!r}")
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"storage option {name} has an invalid value {value!r}") from None


def _options(query: str, extra: dict, allowed: dict) -> dict:
    options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False))
    options.update(extra)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown storage option(s): {', '.join(unknown)}")
    return {name: _convert(name, value, allowed[name]) for name, value in options.items()}


def store_from_url(url: str, **options) -> ObjectStore:
    """Return the object store a URL names. Keyword `options` add to or override the query.

    ``file:///abs/path`` or ``file:relative/path`` (relative to the working
    directory) gives a `LocalStore`; option ``create`` (default true) makes
    the directory, ``concurrency`` (default 2) is the number of parts
    `upload_parts` writes at once.

    ``s3://bucket?endpoint=...&region=...&addressing=path&access_key=...&secret_key=...
    &lock_mode=COMPLIANCE&lock_days=3650&part_size=8388608&concurrency=4`` gives an
    `S3Store`; every parameter is optional (also ``session_token``,
    ``connect_timeout``, ``read_timeout``, ``max_attempts``, and
    ``declare_checksums=auto|true|false``, see `storage.s3`). Without keys in
    the URL, boto3 reads the standard ``AWS_*`` environment. ``lock_mode=none``
    writes no retention of its own (a bucket default retention still applies).

    Raises ValueError for a malformed URL or an unknown option.
    """
    if not isinstance(url, str) or ":" not in url:
        raise ValueError("storage URL must look like file:///path or s3://bucket")
    parts = urlsplit(url)
    if parts.scheme == "file":
        from .local import LocalStore

        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file storage URL must name a local path, not host {parts.netloc!r}")
        path = unquote(parts.path)
        if not path:
            raise ValueError("file storage URL needs a path")
        return LocalStore(os.path.abspath(path), **_options(parts.query, options, _FILE_OPTIONS))
    if parts.scheme == "s3":
        from .s3 import S3Store

        bucket = parts.netloc
        if not bucket or parts.path not in ("", "/"):
            raise ValueError("S3 storage URL must be s3://bucket (no path)")
        settings = _options(parts.query, options, _S3_OPTIONS)
        for name in ("access_key", "secret_key", "session_token", "endpoint", "region"):
            if settings.get(name) == "":
                settings.pop(name)
        if str(settings.get("lock_mode", "")).lower() in ("none", "off"):
            settings["lock_mode"] = None
        elif "lock_mode" in settings:
            settings["lock_mode"] = settings["lock_mode"].upper()
        return S3Store(bucket, **settings)
    raise ValueError(f"unsupported storage URL scheme {parts.scheme!r} (use file or s3)")
