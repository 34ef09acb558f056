"""Locale selection: Simplified Chinese first, English available.

Browsers send `zh-CN,zh;q=0.9`, which Babel's best_match does not map to zh_Hans_CN: we
match on zh_CN, zh and en ourselves and normalise to the two locales we ship.
"""
from __future__ import annotations

from flask import current_app, has_request_context, request, session

SUPPORTED = {"zh_CN": "zh_CN", "zh": "zh_CN", "en": "en"}


def normalise(tag: str | None) -> str | None:
    if not tag:
        return None
    tag = tag.replace("-", "_").strip()
    lowered = tag.lower()
    if lowered.startswith("zh"):
        return "zh_CN"
    if lowered.startswith("en"):
        return "en"
    return None


def select_locale() -> str:
    if not has_request_context():  # CLI commands and services called outside a request
        return current_app.config.get("CLI_LOCALE") or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    chosen = normalise(session.get("lang"))
    if chosen:
        return chosen
    for tag, _q in request.accept_languages:
        match = normalise(tag)
        if match:
            return match
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")


def select_timezone() -> str:
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")


def list_separator() -> str:
    """What joins items of a list inside a sentence: "; " in English, "；" in Chinese."""
    from flask_babel import gettext

    return gettext("; ")
