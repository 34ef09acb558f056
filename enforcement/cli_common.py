"""What the command groups share: a refusal that exits 1, and the user a command acts as."""
from __future__ import annotations

import sys
from typing import NoReturn

import click
from sqlalchemy import func, select

from .extensions import db
from .models import User


def fail(message: str) -> NoReturn:
    """Roll back, print the message on stderr and exit 1."""
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def acting_user(username: str | None) -> User | None:
    """The active user named `username` (any case), None for the system; refuses an unknown one."""
    if not username:
        return None
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None or not user.active:
        fail(f"No active user {username!r}.")
    return user
