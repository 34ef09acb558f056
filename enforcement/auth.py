"""Login sessions and API tokens.

The session cookie stores "user_id:session_version". Logout, password change, role change and
deactivation bump the version on the server, so every copy of an older cookie stops working.
"""
from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l

from .extensions import db, login_manager
from .models import User

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_key: str) -> User | None:
    try:
        user_id, version = (int(part) for part in user_key.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None
