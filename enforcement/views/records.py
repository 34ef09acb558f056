"""Records of a case: the upload protocol, the record page, viewing and downloading.

The upload protocol (JSON; the page's script and the API speak it):

- ``POST /cases/<id>/uploads`` with the record's metadata and the file's name and size → 201
  ``{"id", "offset": 0, "part_size", "size"}``; a refusal is 4xx ``{"error"}``.
- ``PUT /uploads/<id>?offset=N`` with the file's bytes from N on as the body (any length, chunked
  or not) → 201 ``{"record_id", "url", "sha256", "size"}`` when the file is complete; 409
  ``{"error", "offset"}`` when N is not where the upload continues; 503 when the store fails
  (the upload stays resumable).
- ``GET /uploads/<id>`` → ``{"offset", "size"}``: where to resume after a dropped connection.
- ``DELETE /uploads/<id>`` → 204: cancelled, the store's parts discarded.
"""
from __future__ import annotations

import logging
import re
from functools import wraps

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import ClientDisconnected
from wtforms.validators import ValidationError

from ..extensions import csrf, db
from ..services import cases as case_service
from ..services import decisions as decision_service
from ..services import records as record_service
from ..services.errors import DomainError
from ..web import commit

log = logging.getLogger(__name__)
bp = Blueprint("records", __name__)

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_FIELDS = ("type_code", "stage", "description", "captured_at", "place", "latitude", "longitude", "device",
           "av_method", "av_maker", "av_proves", "transcript", "supersedes_id", "supersede_reason")


def _json_error(message: str, status: int, **extra):
    return {"error": message, **extra}, status


def _storage_error(exc: Exception):
    db.session.rollback()
    log.warning("object store failed during an upload: %s", exc)
    return _json_error(_("The evidence store is not reachable. Nothing was lost: the upload continues "
                         "when you retry."), 503)


# --- the upload protocol -------------------------------------------------------------------------

def begin(case_id: int, actor):
    """Shared by the page's script and the API."""
    from storage import StorageError

    case = case_service.get_case(actor, case_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _json_error(_("Send the upload's details as JSON."), 400)
    try:
        upload = record_service.begin_upload(case, actor, filename=str(data.get("filename") or ""),
                                             size=data.get("size"),
                                             **{k: data.get(k) for k in _FIELDS if data.get(k) is not None})
        commit()
    except StorageError as exc:
        return _storage_error(exc)
    return {"id": upload.id, "offset": 0, "part_size": upload.part_size, "size": upload.size,
            "url": url_for(request.blueprint + ".upload_status", upload_id=upload.id)}, 201


def status(upload_id: str, actor):
    from storage import StorageError

    upload = record_service.get_upload(actor, upload_id)
    try:
        offset = record_service.resume_offset(upload)
        commit()
    except StorageError as exc:
        return _storage_error(exc)
    return {"offset": offset, "size": upload.size}


def send(upload_id: str, actor):
    from storage import StorageError

    upload = record_service.get_upload(actor, upload_id)
    try:
        offset = int(request.args.get("offset", "0"))
    except ValueError:
        return _json_error(_("The offset must be a whole number."), 400)
    # The body is streamed to the store: the form-size limit does not apply, the declared size does.
    request.max_content_length = record_service.upload_limit()
    try:
        received = record_service.receive(upload, actor, request.stream, offset=offset, before_transfer=commit)
    except record_service.OffsetMismatch as exc:
        db.session.rollback()
        return _json_error(exc.message, 409, offset=exc.expected)
    except DomainError:
        commit()  # a refusal cancels the upload; keep that
        raise
    except ClientDisconnected:
        db.session.rollback()
        return _json_error(_("The connection dropped; the upload can be resumed."), 400)
    except FileNotFoundError:  # another window of this upload finished or cancelled it meanwhile
        db.session.rollback()
        return _json_error(_("The upload changed meanwhile (another window?); ask where it continues."), 409,
                           offset=None)
    except StorageError as exc:
        return _storage_error(exc)
    commit()
    if received.record is None:
        return {"offset": received.offset, "size": upload.size}, 200
    record = received.record
    return {"record_id": record.id, "sha256": record.sha256, "size": record.size,
            "url": url_for("records.show", record_id=record.id)}, 201


def cancel(upload_id: str, actor):
    from storage import StorageError

    upload = record_service.get_upload(actor, upload_id)
    try:
        record_service.cancel(upload, actor)
        commit()
    except StorageError as exc:
        return _storage_error(exc)
    return "", 204


def _checked(view):
    """Login required, and the CSRF token of the header checked without reading the body.

    Flask-WTF's app-wide check reads the form before any view, which would refuse a large file
    with 413 before the upload view could stream it (and would read a big url-encoded body into
    memory first); these views are exempt from it and check the header X-CSRFToken, which the
    page's script sends. Only the PUT of the file's bytes gets the upload limit; every other
    request keeps the form limit.
    """
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return _json_error(_("Your session has ended. Log in again; the upload can be resumed."), 401)
        if request.method == "PUT":
            request.max_content_length = record_service.upload_limit()
        if current_app.config.get("WTF_CSRF_ENABLED", True) and request.method not in ("GET", "HEAD", "OPTIONS"):
            try:
                validate_csrf(request.headers.get("X-CSRFToken"))
            except ValidationError as exc:
                raise CSRFError(exc.args[0] if exc.args else "CSRF") from exc
        return view(*args, **kwargs)
    return csrf.exempt(wrapper)


@bp.post("/cases/<int:case_id>/uploads")
@_checked
def upload_begin(case_id: int):
    return begin(case_id, current_user._get_current_object())


@bp.get("/uploads/<upload_id>")
@_checked
def upload_status(upload_id: str):
    return status(upload_id, current_user._get_current_object())


@bp.put("/uploads/<upload_id>")
@_checked
def upload_send(upload_id: str):
    return send(upload_id, current_user._get_current_object())


@bp.delete("/uploads/<upload_id>")
@_checked
def upload_cancel(upload_id: str):
    return cancel(upload_id, current_user._get_current_object())


@bp.post("/session/keepalive")
@_checked
def keepalive():
    """Called by the upload page while files are being sent, so a long upload keeps the login alive."""
    return "", 204


# --- the record page and its file ------------------------------------------------------------------

@bp.get("/records/<int:record_id>")
@login_required
def show(record_id: int):
    record = record_service.get_record(current_user, record_id)
    if record_service.log_page_view(record, current_user):
        commit()
    records = record_service.case_records(record.case)
    replaced = record_service.superseded_ids(records)
    return render_template("records/show.html", record=record, case=record.case,
                           replaced_by=replaced.get(record.id),
                           post_decision=record.id in decision_service.post_decision_ids(record.case, records),
                           can_correct=record_service.can_correct(current_user, record),
                           available=record_service.store_available())


@bp.get("/records/<int:record_id>/file")
@login_required
def file(record_id: int):
    """The record's bytes: inline where that is safe (images, PDF, video), else as a download.

    Range requests are answered (a video seeks). Each viewing is one audit event
    (`records.log_access` says when a later range continues one); a presigned URL (S3) always is.
    """
    from storage import StorageError, download_headers

    record = record_service.get_record(current_user, record_id)
    download = request.args.get("download") == "1"
    how = "downloaded" if download else "viewed"
    store = current_app.extensions["object_store"]
    try:
        url = store.url(record.storage_key, filename=record.original_filename, content_type=record.content_type,
                        version_id=record.version_id, attachment=download)
    except StorageError:
        abort(503)
    if url is not None:  # the link grants the whole object: every one is an event
        record_service.log_access(record, current_user, how)
        commit()
        return redirect(url, code=303)
    range_header = request.headers.get("Range", "")
    match = _RANGE.match(range_header.strip()) if range_header else None
    bounds = _range_bounds(match, record.size) if match is not None else None
    continues = match is not None and not (bounds is not None and bounds[0] == 0)
    if record_service.log_access(record, current_user, how, continues_viewing=continues):
        commit()
    headers = download_headers(record.content_type, record.original_filename, attachment=download)
    headers["Accept-Ranges"] = "bytes"
    headers["Cache-Control"] = "private, no-store"
    headers["X-Frame-Options"] = "SAMEORIGIN"  # the record page shows a PDF in a frame of this site
    headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    try:
        if match is not None:
            start, end = bounds
            if start is None:
                return Response(status=416, headers={"Content-Range": f"bytes */{record.size}"})
            data = store.read_range(record.storage_key, start, end, version_id=record.version_id)
            headers["Content-Range"] = f"bytes {start}-{start + len(data) - 1}/{record.size}"
            return Response(data, status=206, headers=headers)
        reader = store.open(record.storage_key, version_id=record.version_id)
    except FileNotFoundError:
        abort(404)
    except StorageError:
        abort(503)
    headers["Content-Length"] = str(record.size)

    def chunks():
        with reader:
            yield from reader.iter_chunks()

    return Response(chunks(), headers=headers, direct_passthrough=True)


_MAX_RANGE = 8 * 1024 * 1024  # a range answer is read into memory: keep it bounded


def _range_bounds(match, size: int):
    first, last = match.group(1), match.group(2)
    if first == "":
        if last == "":
            return None, None
        start = max(size - int(last), 0)
        end = size - 1
    else:
        start = int(first)
        end = int(last) if last else size - 1
    if start >= size or end < start:
        return None, None
    end = min(end, size - 1, start + _MAX_RANGE - 1)
    return start, end


@bp.get("/cases/<int:case_id>/records/new")
@login_required
def new(case_id: int):
    """The upload page: several files at once, each with a progress bar (needs JavaScript)."""
    case = case_service.get_case(current_user, case_id)
    if not record_service.can_add_record(current_user, case):
        flash(_("Only the officers on the case or the head of the body add records, and not to an archived "
                "case."), "error")
        return redirect(url_for("cases.show", case_id=case.id))
    supersedes = None
    if request.args.get("supersedes"):
        supersedes_id = request.args.get("supersedes", type=int)
        if supersedes_id is None:
            abort(404)
        supersedes = record_service.get_record(current_user, supersedes_id)
        if supersedes.case_id != case.id:
            abort(404)
    return render_template("records/new.html", case=case, types=record_service.record_types(),
                           supersedes=supersedes, limit_mb=record_service.upload_limit() // (1024 * 1024),
                           type_label=record_service.type_label,
                           stages=record_service.STAGE_ORDER[:record_service.STAGE_ORDER.index(case.stage_enum) + 1])
