"""The case file (案卷) as a ZIP download, streamed: services.archive makes it, this only serves it.

Whoever may view the case may download it (auditors included); a case outside the user's scope is
"not found". Missing objects are refused before the download starts (a page naming the record); a
damaged one found midway breaks the download off, so that no complete-looking ZIP carries it. The
database transaction ends before the bytes stream; the export's audit event is committed when the
last byte has gone (or `case.export_incomplete` when the download stopped before).
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, stream_with_context
from flask_login import current_user, login_required

from ..extensions import db
from ..services import archive as archive_service
from ..services import cases as case_service
from ..web import commit

log = logging.getLogger(__name__)
bp = Blueprint("archive", __name__)


@bp.get("/cases/<int:case_id>/case-file.zip")
@login_required
def export(case_id: int):
    from storage import StorageError
    from storage.base import content_disposition

    actor = current_user._get_current_object()
    case = case_service.get_case(actor, case_id)
    try:
        plan = archive_service.prepare(case, actor=actor)
    except StorageError:
        abort(503)
    db.session.commit()  # nothing written yet: no transaction stays open while the bytes stream

    def chunks():
        done = False
        reason = "the download stopped"
        try:
            yield from archive_service.stream(plan)
            done = True
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            db.session.rollback()
            try:
                if done:
                    archive_service.finish(plan, plan.summary, actor=actor)
                else:
                    log.warning("case file export of case %s broke off: %s", plan.case_id, reason)
                    archive_service.record_incomplete(plan, actor=actor, reason=reason)
                commit()
            except Exception:  # noqa: BLE001 - the response is gone; keep the log
                db.session.rollback()
                log.exception("the export event of case %s could not be recorded", plan.case_id)

    headers = {"Content-Disposition": content_disposition("attachment", archive_service.archive_filename(
        plan.case_number)), "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    return Response(stream_with_context(chunks()), mimetype="application/zip", headers=headers)
