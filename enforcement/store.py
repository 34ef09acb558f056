"""Access to the application's object store (configured by STORAGE_URL)."""
from __future__ import annotations

from flask import current_app


def get_store():
    try:
        return current_app.extensions["object_store"]
    except KeyError as exc:  # pragma: no cover - misconfiguration
        raise RuntimeError("No object store configured (STORAGE_URL)") from exc
