"""Closing and archiving (结案归档).

- **The self-check** (案卷自查) runs before closing: the required records of every stage the case has
  been through, every condition of the closing gate, and the scorecard of the three systems and the
  legal deadlines. Each run is kept (`SelfCheck`) with what was checked and what was found. Missing
  things block closing; a deadline that was missed cannot be undone, so it is kept as found but
  does not block.
- **Closing** needs a passed self-check made in the current stage, with no record added after it.
- **Archiving** (after the closing report, a required record of the closed stage) makes the case
  read-only for everyone (`permissions.can_edit_case`, `records._check_evidence_open`) and extends
  the retention of every record object in the store to ARCHIVE_RETENTION_YEARS.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import Case, Record, Stage, User
from ..models._types import utcnow
from ..models.execution import SelfCheck
from . import audit
from .clock import local_today
from .errors import DomainError, GateRefused, PermissionDenied
from .workflow import gate, stage_label, unmet

CHECKABLE = (Stage.SERVICE, Stage.EXECUTION, Stage.CLOSED)


def latest_self_check(case: Case) -> SelfCheck | None:
    return db.session.scalar(select(SelfCheck).where(SelfCheck.case_id == case.id)
                             .order_by(SelfCheck.id.desc()).limit(1))


def self_checks_of(case: Case) -> list[SelfCheck]:
    return list(db.session.scalars(select(SelfCheck).where(SelfCheck.case_id == case.id).order_by(SelfCheck.id)))


def _newest_record_id(case: Case) -> int | None:
    return db.session.scalar(select(func.max(Record.id)).where(Record.case_id == case.id))


def findings(case: Case, today: date) -> tuple[list[dict], list[str]]:
    """(what was checked, each with its state and detail; the blocking findings in words)."""
    from . import dashboard
    from .records import missing_for, stages_visited, type_label

    checked: list[dict] = []
    blocking: list[str] = []
    # Only the stages the case has been in: one closed straight after service never owed execution's records.
    for stage in stages_visited(case):
        for item in missing_for(case, stage):
            blocking.append(_("Missing record of %(stage)s: %(type)s (%(basis)s).", stage=stage_label(stage),
                              type=type_label(item.record_type), basis=item.basis))
    checked.append({"item": _("Required records of every stage"), "state": "missing" if blocking else "ok",
                    "detail": "; ".join(blocking) or _("Every required record is there.")})
    for item in dashboard.scorecard(case, today):
        if item.key == "records":
            continue  # the same question as the first line, there only for the stages passed
        checked.append({"item": item.label, "state": item.state, "detail": item.detail})
        if item.state == dashboard.MISSING:
            blocking.append(f"{item.label}: {item.detail}")
    if Stage(case.stage) != Stage.CLOSED:
        from .records import _required_records

        # The records were checked above, stage by stage.
        gate_problems = unmet(case, Stage.CLOSED, today=today, skip=(_self_checked, _required_records))
        checked.append({"item": _("Conditions for closing"), "state": "missing" if gate_problems else "ok",
                        "detail": "; ".join(gate_problems) or _("Every condition for closing is met.")})
        blocking.extend(gate_problems)
    return checked, blocking


def can_self_check(user: User, case: Case) -> bool:
    from .permissions import can_edit_case

    return can_edit_case(user, case)


def run_self_check(case: Case, *, actor: User, today: date | None = None) -> SelfCheck:
    """Run the 案卷自查 and keep its result (also when it finds problems)."""
    today = today or local_today()
    if not can_self_check(actor, case):
        raise PermissionDenied(_("Only the officers on the case or the head of the body run its self-check."))
    if Stage(case.stage) not in CHECKABLE:
        raise GateRefused([_("The self-check is for a case after service, before it is archived; this case is in "
                             "%(stage)s.", stage=stage_label(case.stage))])
    # Kept in both interface languages, so that whoever reads it later reads it in theirs.
    checked, blocking = {}, {}
    for language in SelfCheck.LANGUAGES:
        with force_locale(language):
            checked[language], blocking[language] = findings(case, today)
    passed = not blocking[SelfCheck.LANGUAGES[0]]
    row = SelfCheck(case_id=case.id, passed=passed, findings=json.dumps(blocking, ensure_ascii=False),
                    checked=json.dumps(checked, ensure_ascii=False), last_record_id=_newest_record_id(case),
                    checked_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record("case.self_checked", "self_check", row.id, case.number, actor=actor,
                 after={"passed": row.passed, "findings": blocking[SelfCheck.LANGUAGES[0]], "stage": case.stage},
                 body_id=case.body_id, case_id=case.id)
    return row


@gate(Stage.SERVICE, Stage.CLOSED)
@gate(Stage.EXECUTION, Stage.CLOSED)
def _self_checked(case: Case, today: date) -> list[str]:
    """A case closes only after a passed self-check of its file as it now stands."""
    latest = latest_self_check(case)
    if latest is None or latest.checked_at < case.stage_since:
        return [_("Run the self-check (案卷自查) of the case file before closing it.")]
    if not latest.passed:
        return [_("The last self-check found %(count)s problem(s); mend them and run it again.",
                  count=len(latest.finding_list))]
    if latest.last_record_id != _newest_record_id(case):
        return [_("Records were added after the last self-check: run it again.")]
    return []


def retention_until(now: datetime | None = None) -> datetime:
    years = int(current_app.config.get("ARCHIVE_RETENTION_YEARS", 30))
    now = now or utcnow()
    return now + timedelta(days=round(365.25 * years))


def on_archived(case: Case, actor: User) -> int:
    """Give every record object of the archived case the long retention. When the store cannot, the
    archiving is refused (DomainError, so the caller rolls it back) with the reason in words; the
    retentions already extended stay (extending is harmless and is never undone)."""
    from storage import StorageError

    from .records import _store

    until = retention_until()
    store = _store()
    rows = list(db.session.scalars(select(Record).where(Record.case_id == case.id).order_by(Record.id)))
    kept = 0
    for record in rows:
        try:
            kept += store.retain_until(record.storage_key, until, version_id=record.version_id) is not None
        except FileNotFoundError:
            raise DomainError(_("The case cannot be archived: the stored file of record %(id)s (%(name)s) is missing "
                                "from the evidence store.", id=record.id, name=record.original_filename)) from None
        except StorageError as exc:
            raise DomainError(_("The case cannot be archived now: the evidence store did not keep the retention of "
                                "record %(id)s (%(error)s). Nothing was changed; try again later.", id=record.id,
                                error=exc)) from None
    # `kept` says how many the store itself now keeps that long (a store without object lock keeps none:
    # the event then says so rather than claim a retention nobody enforces).
    audit.record("case.retention_extended", "case", case.id, case.number, actor=actor,
                 after={"records": len(rows), "kept_by_store": kept, "retain_until": until.date(),
                        "years": int(current_app.config.get("ARCHIVE_RETENTION_YEARS", 30))},
                 body_id=case.body_id, case_id=case.id)
    return len(rows)


def _register_timeline() -> None:
    from flask_babel import lazy_gettext as _l

    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS

    EVENT_LABELS.update({"case.self_checked": _l("Self-check of the case file"),
                         "case.retention_extended": _l("Records kept for the archive's retention")})
    SHOWN_FIELDS.update({"case.self_checked": ("passed", "findings"),
                         "case.retention_extended": ("records", "retain_until")})
    for key, label in (("passed", _l("Passed")), ("findings", _l("Findings")), ("records", _l("Records")),
                       ("retain_until", _l("Kept until"))):
        FIELD_LABELS.setdefault(key, label)


_register_timeline()
