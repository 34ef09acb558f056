"""The integrity checks started from the auditors' dashboard; every run is kept (CheckRun) and is
an audit event. The same checks as `flask audit verify` and `flask storage verify`; from the screen
the storage check reads a random sample of records so the request stays short."""
from __future__ import annotations

import json

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import CheckRun
from ..models._types import utcnow
from . import audit, permissions
from .dashboard import can_run_checks, can_view_dashboard

SCREEN_SAMPLE = 200


def _finish(run: CheckRun, actor, ok: bool, summary: dict) -> CheckRun:
    run.finished_at = utcnow()
    run.ok = ok
    run.summary = json.dumps(summary, ensure_ascii=False, sort_keys=True)
    db.session.add(run)
    audit.record("check.run", "check_run", run.id if run.id else "", run.kind, actor=actor,
                  after={"kind": run.kind, "ok": ok, "summary": summary}, body_id=actor.body_id)
    return run


def run_audit_check(actor) -> CheckRun:
    """Recompute the whole audit chain (and compare it with the stored checkpoint, if any)."""
    permissions.require(can_run_checks(actor), "Only auditors and admins run the checks")
    run = CheckRun(kind="audit_chain", started_at=utcnow(), run_by_id=actor.id)
    store = current_app.extensions.get("object_store")
    report = audit.verify_chain(store)
    summary = {"events": report.events, "head_seq": report.head_seq, "head_hash": report.head_hash,
               "first_broken_id": report.first_broken_id, "problems": report.problems[:20],
               "checkpoint_seq": (report.checkpoint or {}).get("seq")}
    db.session.add(run)
    db.session.flush()
    return _finish(run, actor, report.ok, summary)


def run_storage_check(actor, *, sample: int = SCREEN_SAMPLE) -> CheckRun:
    """Re-hash a random sample of the stored records and compare with their recorded SHA-256."""
    from . import records

    permissions.require(can_run_checks(actor), "Only auditors and admins run the checks")
    run = CheckRun(kind="storage", started_at=utcnow(), run_by_id=actor.id)
    report = records.verify_records(sample=sample)
    summary = {"sample": sample, "checked": report.checked, "bytes": report.bytes,
               "mismatched": [r.id for r, _actual in report.mismatched][:50],
               "missing": [r.id for r in report.missing][:50],
               "errors": [r.id for r, _error in report.errors][:50]}
    db.session.add(run)
    db.session.flush()
    return _finish(run, actor, report.ok, summary)


def recent_runs(user, limit: int = 20) -> list[CheckRun]:
    if not can_view_dashboard(user):
        return []
    return list(db.session.scalars(select(CheckRun).order_by(CheckRun.id.desc()).limit(limit)))
