"""Web-layer plumbing shared by every blueprint: commit at the edge, errors, template helpers."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError

from .extensions import db
from .services import audit, permissions
from .services.errors import DomainError, GateRefused, NotFound, PermissionDenied

log = logging.getLogger(__name__)


def commit() -> None:
    """Commit the request's transaction, then checkpoint the audit head outside the database."""
    db.session.commit()
    store = current_app.extensions.get("object_store")
    if store is None:
        return
    try:
        if audit.write_checkpoint(store, min_interval_seconds=current_app.config["AUDIT_CHECKPOINT_SECONDS"]):
            db.session.commit()
    except Exception:  # the change itself is safe; the next commit checkpoints again
        db.session.rollback()
        log.exception("audit checkpoint failed")


def attempt(action) -> tuple[list[str], bool]:
    """Call one service for a form. A refusal is rolled back and comes back as (every unmet condition
    in words, whether it was a stale version: someone else changed the object first); nothing refused
    gives ([], False). Permission and not-found errors pass through to become 403 and 404."""
    from .services.errors import Conflict

    try:
        action()
    except (PermissionDenied, NotFound):
        raise
    except Conflict as exc:
        db.session.rollback()
        return [exc.message], True
    except GateRefused as exc:
        db.session.rollback()
        return list(exc.unmet), False
    except DomainError as exc:
        db.session.rollback()
        return [exc.message], False
    return [], False


def wants_json() -> bool:
    return (request.path.startswith(("/api/", "/uploads/")) or request.is_json
            or request.accept_mimetypes.best == "application/json")


def _store_origin(app: Flask) -> str:
    """" <scheme://host>" of the object store's presigned URLs, or "" when it serves none (local files)."""
    if "store_origin" not in app.extensions:
        origin = ""
        store = app.extensions.get("object_store")
        try:
            url = store.url("cases/origin-probe", content_type="application/octet-stream") if store else None
        except Exception:  # noqa: BLE001 - no origin: the pages then show local files only
            url = None
        if url:
            parts = urlsplit(url)
            origin = f" {parts.scheme}://{parts.netloc}"
        app.extensions["store_origin"] = origin
    return app.extensions["store_origin"]


def register_web(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if wants_json():
            body = {"error": exc.message}
            if isinstance(exc, GateRefused):
                body["unmet"] = exc.unmet
            return body, exc.status_code
        if isinstance(exc, NotFound):
            return render_template("errors/error.html", code=404, message=exc.message), 404
        if isinstance(exc, PermissionDenied):
            return render_template("errors/error.html", code=403, message=exc.message), 403
        return render_template("errors/error.html", code=exc.status_code, message=exc.message,
                               unmet=getattr(exc, "unmet", None)), exc.status_code

    @app.errorhandler(StaleDataError)
    def stale(_exc):
        db.session.rollback()
        message = _("Someone else changed this case at the same time. Reload the page and try again.")
        if wants_json():
            return {"error": message}, 409
        return render_template("errors/error.html", code=409, message=message), 409

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = _("The form expired or was not sent by this site. Reload the page and try again.")
        if wants_json():
            return {"error": message}, 400
        return render_template("errors/error.html", code=400, message=message), 400

    for code, text in ((400, _l("Bad request.")), (403, _l("You are not allowed to do this.")),
                       (404, _l("The page was not found.")), (405, _l("Method not allowed.")),
                       (413, _l("The upload is larger than allowed.")),
                       (429, _l("Too many attempts. Wait a minute and try again.")),
                       (500, _l("Something went wrong on the server. The change was not saved."))):
        def handler(exc, code=code, text=text):
            if code == 500:
                db.session.rollback()
            message = str(text)
            if wants_json():
                return {"error": message}, code
            return render_template("errors/error.html", code=code, message=message), code
        app.register_error_handler(code, handler)

    @app.before_request
    def remember_language():
        lang = request.args.get("lang")
        if lang in ("zh_CN", "en"):
            session["lang"] = lang

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        store = _store_origin(app)  # records may be shown from the store's short-lived URLs
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; img-src 'self' data: blob:{store}; media-src 'self' blob:{store}; "
            f"frame-src 'self'{store}; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
        return response

    @app.context_processor
    def helpers():
        from .services.workflow import stage_label
        return {"perm": permissions, "stage_label": stage_label, "current_locale": str(get_locale() or "zh_CN"),
                "flash_unmet": g.get("unmet")}

    @app.template_filter("filesize")
    def format_filesize(value):
        size = float(value or 0)
        for unit in ("B", "KB", "MB", "GB"):
            if size < 1024 or unit == "GB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024

    @app.template_filter("date")
    def format_date(value):
        return value.isoformat() if value else ""

    @app.template_filter("datetime")
    def format_datetime(value):
        if not value:
            return ""
        from flask_babel import format_datetime as babel_dt
        from datetime import timezone
        return babel_dt(value.replace(tzinfo=timezone.utc), "yyyy-MM-dd HH:mm")


def flash_refusal(exc: DomainError) -> None:
    """Show a refusal on the next page: a GateRefused lists every unmet condition."""
    if isinstance(exc, GateRefused):
        flash(_("The step was refused. Unmet conditions:"), "error")
        for item in exc.unmet:
            flash(item, "unmet")
    else:
        flash(exc.message, "error")


def safe_target(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirect).

    Browsers treat a backslash as a slash and drop tabs and newlines inside a URL, so a backslash
    or a tab after the first slash leads off-site just like "//evil.example": refuse those
    characters, then require a path with neither scheme nor host.
    """
    if not target or not target.startswith("/"):
        return None
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


def back(default_endpoint: str, **values):
    target = safe_target(request.form.get("next")) or safe_target(request.args.get("next"))
    if target:
        return redirect(target)
    return redirect(url_for(default_endpoint, **values))
