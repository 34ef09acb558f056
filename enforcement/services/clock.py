"""Today's date where the law is applied (Beijing time), whatever the server's own time zone.

A server running on UTC would otherwise think a filing entered before 08:00 Beijing time is
dated in the future, and count deadlines a day late in the evening.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"


def local_today() -> date:
    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", DEFAULT_ZONE) if has_app_context() else DEFAULT_ZONE
    return datetime.now(ZoneInfo(zone)).date()


def local_now() -> datetime:
    """The local (Beijing) wall-clock time, naive, as local times are stored (e.g. an execution's start)."""
    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", DEFAULT_ZONE) if has_app_context() else DEFAULT_ZONE
    return datetime.now(ZoneInfo(zone)).replace(tzinfo=None)


def to_local(at: datetime) -> datetime:
    """A stored (naive UTC) time in the local zone where the law is applied."""
    from datetime import timezone

    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", DEFAULT_ZONE) if has_app_context() else DEFAULT_ZONE
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(ZoneInfo(zone))
