"""Execution (执行): voluntary compliance, the forced demolition and its go/no-go gate, the court
application of the land route, and fines with their late penalty.

- **Voluntary compliance** (自行履行) is recorded with its proof (a 履行情况证明 record); the case
  then closes without a forced execution, and the forced-execution records are not required
  (`path` feeds `records.requirements`).
- **The forced demolition** (planning route, 行政强制法 ch. IV and art. 44): `demolition_unmet` lists
  every unmet condition; `start_demolition` refuses while the list is not empty, at the very time
  the demolition starts. `record_demolition_done` needs the full audio/video record covering the
  execution from its start to its end; the on-site record and the list of belongings are records
  the rules require before the case leaves execution.
- **The land route**: the body applies to the court (art. 53–55): 10 working days after the reminder
  was served, and after the party's period to sue (15 days, 土地管理法 art. 83) passed, within 3 months.
- **Fines** (行政处罚法 art. 67, 72): paid within 15 days of service; after that the late penalty of
  3 % a day runs, capped at the fine.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import Case, Challenge, DecisionType, Publication, Record, Role, Route, Stage, User
from ..models.disclosure import PublicationKind, PublicationStatus
from ..models._types import utcnow
from ..models.execution import Execution, FinePayment, ServedDocument
from . import audit
from .calendar import CalendarUnknown, add_calendar_days, add_working_days, covers, is_workday
from .clock import local_now, local_today
from .errors import Conflict, GateRefused, PermissionDenied
from .workflow import gate, stage_label

RECONSIDERATION_DAYS = 60   # 行政复议法 art. 20
SUIT_MONTHS = 6             # 行政诉讼法 art. 46
LAND_SUIT_DAYS = 15         # 土地管理法 art. 83: sue within 15 days of receiving the demolition decision
COURT_WAIT_WORKING_DAYS = 10  # 行政强制法 art. 54 (periods of 10 days or less are working days, art. 69)
COURT_APPLY_MONTHS = 3      # 行政强制法 art. 53
FINE_DAYS = 15              # 行政处罚法 art. 67
LATE_RATE = Decimal("0.03")  # 行政处罚法 art. 72: 3 % of the fine a day, never more than the fine
MIN_EXECUTION_OFFICERS = 2

# Decisions that need nothing done after service, and those the party carries out (or is made to).
EXECUTES_ITSELF = (DecisionType.WARNING.value, DecisionType.NO_PENALTY.value, DecisionType.LICENCE_REVOCATION.value)


def served(*args, **kwargs):
    """serving.served, imported at the call: serving imports workflow, which imports this module."""
    from .serving import served as _served

    return _served(*args, **kwargs)


# --- reading ---------------------------------------------------------------------------------------------

def execution_of(case: Case, *, create: bool = False) -> Execution | None:
    row = db.session.scalar(select(Execution).where(Execution.case_id == case.id))
    if row is None and create:
        from .records import lock_case

        lock_case(case)  # two first steps at once: the second waits, then finds the first one's row
        row = db.session.scalar(select(Execution).where(Execution.case_id == case.id))
        if row is not None:
            return row
        row = Execution(case_id=case.id)
        db.session.add(row)
        db.session.flush()
    return row


def path(case: Case) -> str:
    """How the decision is being carried out, which decides the execution records the rules ask for:
    "voluntary" once the party complied (or paid the fine in full), "forced" for the town's own forced
    demolition (planning route), "court" for the rest (the application to the court), and "none" for a
    decision that needs nothing carried out (a warning: only the rules for every path apply)."""
    row = execution_of(case)
    if row is not None and row.complied_on is not None:
        return "voluntary"
    decision = _decision(case)
    if decision is None or decision.decision_type in EXECUTES_ITSELF:
        return "none"
    if decision is not None and decision.fine_amount and decision.decision_type == DecisionType.FINE.value:
        state = fine_state(case)
        if state is not None and state.settled:
            return "voluntary"
    return "forced" if is_forced_demolition(case) else "court"


def _decision(case: Case):
    from .decisions import current_decision

    return current_decision(case)


def needs_compliance(case: Case) -> bool:
    """Whether the decision in force orders the party to do something (demolish, correct, stop …): a warning
    needs nothing, and a fine is carried out by paying it."""
    decision = _decision(case)
    return decision is not None and decision.decision_type not in EXECUTES_ITSELF \
        and decision.decision_type != DecisionType.FINE.value


def _decision_served_on(case: Case) -> date | None:
    decision = _decision(case)
    row = served(case, ServedDocument.DECISION, decision=decision) if decision is not None else None
    return row.deemed_served_on if row is not None else None


def quiet_hours() -> tuple[time, time]:
    """The night when no compulsory execution takes place (行政强制法 art. 43), from EXECUTION_QUIET_HOURS."""
    value = str(current_app.config.get("EXECUTION_QUIET_HOURS", "22:00-06:00"))
    start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    return start, end


def at_night(at: datetime) -> bool:
    start, end = quiet_hours()
    moment = at.time()
    return (start <= moment or moment < end) if start > end else (start <= moment < end)


def _add_months(day: date, months: int) -> date:
    from .disclosure import add_months

    return add_months(day, months)


def _roll(day: date) -> date:
    """A period ending on a rest day ends on the next working day (民事诉讼法 art. 85)."""
    return add_calendar_days(day, 0, lenient=True)


NEXT_STEP_DAYS = 15  # after a reconsideration decision, to sue (行政诉讼法 art. 45); after a judgment, to appeal (art. 85)


def challenge_periods(case: Case) -> list[tuple[str, date]]:
    """The party's periods to challenge the decision, each with its last day, counted from service; and
    after an outcome that upheld the decision, the 15 days to take the next step (sue, or appeal)."""
    start = _decision_served_on(case)
    if start is None:
        return []
    decision = _decision(case)
    if case.route == Route.LAND.value and decision.decision_type == DecisionType.DEMOLITION.value:
        periods = [(_("the period to sue (15 days, 土地管理法 art. 83)"),
                    add_calendar_days(start, LAND_SUIT_DAYS, lenient=True))]
    else:
        periods = [(_("the period for reconsideration (60 days)"),
                    add_calendar_days(start, RECONSIDERATION_DAYS, lenient=True)),
                   (_("the period to sue (6 months)"), _roll(_add_months(start, SUIT_MONTHS)))]
    for challenge in challenges_of_decision(case):
        if challenge.outcome in ("upheld", "other") and challenge.outcome_on is not None:
            what = (_("the period to sue after the reconsideration decision (15 days)")
                    if challenge.kind == "reconsideration" else _("the period to appeal the judgment (15 days)"))
            periods.append((what, add_calendar_days(challenge.outcome_on, NEXT_STEP_DAYS, lenient=True)))
    return periods


def challenges_of_decision(case: Case) -> list[Challenge]:
    decision = _decision(case)
    if decision is None:
        return []
    return list(db.session.scalars(select(Challenge).where(Challenge.case_id == case.id,
                                                           Challenge.decision_id == decision.id)
                                   .order_by(Challenge.id)))


def pending_challenges(case: Case) -> list[Challenge]:
    return list(db.session.scalars(select(Challenge).where(Challenge.case_id == case.id,
                                                           Challenge.outcome.is_(None))))


def overturned(case: Case) -> list[str]:
    """The decision in force was revoked, changed or found unlawful by a challenge: it is not enforced until it
    is replaced (decisions.replace), whatever else holds."""
    from ..models import WITHDRAWING_OUTCOMES

    words = [o.value for o in WITHDRAWING_OUTCOMES]
    return [_("%(forum)s revoked, changed or found unlawful the decision on %(day)s: it cannot be enforced; record the "
              "revocation or change of the decision first.", forum=c.forum, day=c.outcome_on)
            for c in challenges_of_decision(case) if c.outcome in words]


def demolition_notice(case: Case) -> Publication | None:
    """The published notice to demolish by a deadline (行政强制法 art. 44) for the decision in force."""
    decision = _decision(case)
    if decision is None:
        return None
    return db.session.scalar(select(Publication).where(
        Publication.decision_id == decision.id, Publication.kind == PublicationKind.DEMOLITION_NOTICE.value,
        Publication.status == PublicationStatus.PUBLISHED.value).order_by(Publication.id.desc()).limit(1))


def _current_of_type(case: Case, type_code: str) -> list[Record]:
    from .records import current_records

    return [r for r in current_records(case) if r.type_code == type_code]


# --- the go/no-go gate of the forced demolition -----------------------------------------------------------

def is_forced_demolition(case: Case) -> bool:
    decision = _decision(case)
    return case.route == Route.PLANNING.value and decision is not None and \
        decision.decision_type == DecisionType.DEMOLITION.value


def demolition_unmet(case: Case, today: date | None = None, *, at: datetime | None = None) -> list[str]:
    """Every unmet condition of the forced demolition, in words (empty: it may go ahead at `at`).

    `at` is the local time of the demolition: the scheduled time, or the moment it starts.
    """
    today = today or local_today()
    row = execution_of(case)
    at = at or (row.scheduled_at if row is not None else None)
    problems: list[str] = []
    decision = _decision(case)
    if case.route != Route.PLANNING.value:
        return [_("A forced demolition by the town itself is only for the planning route; on the land route the "
                  "body applies to the court.")]
    if decision is None or decision.decision_type != DecisionType.DEMOLITION.value:
        return [_("There is no demolition decision in force.")]
    if case.stage != Stage.EXECUTION.value:
        problems.append(_("The case is in %(stage)s, not in execution.", stage=stage_label(case.stage)))
    if row is not None and row.complied_on is not None:
        problems.append(_("The party complied on %(day)s: there is nothing to demolish.", day=row.complied_on))
    # The deadline to demolish of one's own accord, set by the public notice (art. 44).
    notice = demolition_notice(case)
    if notice is None:
        problems.append(_("No public notice to demolish by a deadline (强制拆除公告) has been published."))
    elif today <= notice.self_demolition_by:
        problems.append(_("The deadline to demolish of one's own accord (%(day)s) has not passed.",
                          day=notice.self_demolition_by))
    # The party's periods to challenge the decision, and any challenge filed.
    periods = challenge_periods(case)
    if not periods:
        problems.append(_("The decision has not been served, so the periods to challenge it have not begun."))
    for what, last in periods:
        if today <= last:
            problems.append(_("%(what)s runs until %(day)s.", what=what[:1].upper() + what[1:], day=last))
        elif not covers(last.year):
            problems.append(_("The working-day calendar does not cover %(year)s yet, so the end of %(what)s cannot "
                              "be told exactly; add that year's holidays first.", year=last.year, what=what))
    problems.extend(overturned(case))
    for challenge in pending_challenges(case):
        problems.append(_("A %(kind)s before %(forum)s (received %(day)s) is pending: execution stops until its outcome.",
                          kind=_("reconsideration") if challenge.kind == "reconsideration" else _("suit"),
                          forum=challenge.forum, day=challenge.received_on))
    # 催告 → statement → compulsory-execution decision, each served (art. 35–38).
    reminder = served(case, ServedDocument.REMINDER, by=today)
    if reminder is None:
        problems.append(_("The reminder (催告书) has not been served."))
    heard = row is not None and (row.statement_on is not None or row.statement_waived)
    if not heard:
        problems.append(_("The party's statement and defence on the reminder have not been heard or waived."))
    enforcement = served(case, ServedDocument.ENFORCEMENT_DECISION, by=today)
    if enforcement is None:
        problems.append(_("The compulsory-execution decision (强制执行决定书) has not been served."))
    elif row is not None and row.statement_on is not None and enforcement.served_on < row.statement_on:
        problems.append(_("The compulsory-execution decision was served before the party's statement was heard."))
    elif reminder is not None and reminder.comply_by is not None and enforcement.served_on <= reminder.comply_by:
        problems.append(_("The compulsory-execution decision comes only after the reminder's deadline "
                          "(%(day)s) passed with nothing done (行政强制法 art. 37).", day=reminder.comply_by))
    elif reminder is not None and enforcement.served_on <= reminder.deemed_served_on:
        problems.append(_("The compulsory-execution decision was served before the reminder counted as served "
                          "(%(day)s): it must come after the reminder (行政强制法 art. 37).",
                          day=reminder.deemed_served_on))
    if not _current_of_type(case, "enforcement_decision"):
        problems.append(_("The compulsory-execution decision (强制执行决定书) is not among the case's records."))
    # The people and the camera.
    officers = list(row.officers) if row is not None else []
    if len(officers) < MIN_EXECUTION_OFFICERS:
        problems.append(_("At least two officers must be assigned to the demolition; %(count)s assigned.",
                          count=len(officers)))
    else:
        from .cases import officer_problems

        problems.extend(officer_problems(officers, (at.date() if at else today), matter=case.matter,
                                         body=case.body))
    if row is None or not row.camera.strip():
        problems.append(_("No camera is assigned to film the whole demolition."))
    # The time: scheduled, notified, not at night nor on a holiday unless the head marked it urgent.
    if at is None:
        problems.append(_("No time is scheduled for the demolition."))
    else:
        notified = served(case, ServedDocument.ATTENDANCE_NOTICE, by=at.date())
        if notified is None:
            problems.append(_("The party has not been notified to attend the demolition."))
        urgent = row is not None and bool(row.urgent_reason)
        start, end = quiet_hours()
        if at_night(at) and not urgent:
            problems.append(_("%(time)s is at night (%(start)s–%(end)s): no compulsory execution then unless the head "
                              "marks it urgent with a reason (行政强制法 art. 43).", time=at.strftime("%Y-%m-%d %H:%M"),
                              start=start.strftime("%H:%M"), end=end.strftime("%H:%M")))
        try:
            holiday = not is_workday(at.date())
        except CalendarUnknown:
            holiday = False
            problems.append(_("The working-day calendar does not cover %(day)s yet.", day=at.date()))
        if holiday and not urgent:
            problems.append(_("%(day)s is a statutory holiday or rest day: no compulsory execution then unless the head "
                              "marks it urgent with a reason (行政强制法 art. 43).", day=at.date()))
    return problems


# --- acting -----------------------------------------------------------------------------------------------

def can_act(user: User, case: Case) -> bool:
    from .permissions import can_edit_case

    return can_edit_case(user, case)


def _require(actor: User, case: Case) -> None:
    if not can_act(actor, case):
        raise PermissionDenied(_("Only the officers on the case or the head of the body record the execution."))


def check_version(row: Execution, version) -> None:
    if version is not None and str(version).strip() and int(version) != row.version:
        raise Conflict(_("Someone else changed the execution of this case meanwhile; reload the page and try again."))


def _in_stages(case: Case, *stages: Stage) -> list[str]:
    if Stage(case.stage) not in stages:
        return [_("The case is in %(stage)s: this is recorded in %(stages)s.", stage=stage_label(case.stage),
                  stages="、".join(stage_label(s) for s in stages))]
    return []


def _record_of(case: Case, record_id, type_code: str, what: str, problems: list[str]) -> Record | None:
    if not record_id:
        problems.append(_("Attach the %(what)s as a record of the case first, then choose it.", what=what))
        return None
    wanted = {r.id: r for r in _current_of_type(case, type_code)}
    record = wanted.get(int(record_id)) if str(record_id).isdigit() else None
    if record is None:
        problems.append(_("The %(what)s must be a current record of this case of the right type.", what=what))
    return record


def _snapshot(row: Execution) -> dict:
    return {k: getattr(row, k) for k in ("complied_on", "statement_on", "statement_waived", "scheduled_at", "camera",
                                        "urgent_reason", "started_at", "ended_at", "av_record_id", "av_until",
                                        "court_applied_on", "court_name", "court_reference", "court_outcome",
                                        "court_outcome_on")} | {"officers": [u.id for u in row.officers]}


def _event(action: str, case: Case, row: Execution, actor: User, before: dict) -> None:
    after = _snapshot(row)
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    audit.record(action, "execution", row.id, case.number, actor=actor,
                 before={k: before.get(k) for k in changed}, after=changed, body_id=case.body_id, case_id=case.id)


def record_compliance(case: Case, *, actor: User, complied_on: date | None, record_id, note: str = "",
                      version=None, today: date | None = None) -> Execution:
    """The party carried out the decision of their own accord, shown by a 履行情况证明 record."""
    today = today or local_today()
    _require(actor, case)
    problems = _in_stages(case, Stage.SERVICE, Stage.EXECUTION)
    decision = _decision(case)
    if not needs_compliance(case):
        problems.append(_("The decision in force orders nothing to comply with: a fine is carried out by paying it, "
                          "a warning needs nothing."))
    if complied_on is None:
        problems.append(_("Give the day the party complied."))
    elif complied_on > today:
        problems.append(_("Compliance cannot be dated in the future."))
    elif decision is not None and complied_on < decision.decided_on:
        problems.append(_("Compliance cannot be dated before the decision of %(day)s.", day=decision.decided_on))
    record = _record_of(case, record_id, "compliance_proof", _("proof of compliance (履行情况证明)"), problems)
    started = execution_of(case)
    if started is not None and started.started_at is not None:
        # Once forced, the execution is not voluntary: it closes with its full audio/video record.
        problems.append(_("The forced demolition started on %(at)s: it is not voluntary compliance.",
                          at=started.started_at.strftime("%Y-%m-%d %H:%M")))
    if problems:
        raise GateRefused(problems)
    row = execution_of(case, create=True)
    check_version(row, version)
    before = _snapshot(row)
    row.complied_on, row.compliance_record_id, row.compliance_note = complied_on, record.id, (note or "").strip()
    db.session.flush()
    _event("execution.complied", case, row, actor, before)
    return row


def record_statement(case: Case, *, actor: User, heard_on: date | None, statement: str = "", waived: bool = False,
                     version=None, today: date | None = None) -> Execution:
    """The party's statement and defence after the reminder (行政强制法 art. 36), or its waiver."""
    today = today or local_today()
    _require(actor, case)
    problems = _in_stages(case, Stage.EXECUTION)
    reminder = served(case, ServedDocument.REMINDER)
    statement = (statement or "").strip()
    if reminder is None:
        problems.append(_("Serve the reminder (催告书) first: the party states their case on it."))
    if heard_on is None:
        problems.append(_("Give the day the statement was heard or waived."))
    elif heard_on > today:
        problems.append(_("A statement cannot be dated in the future."))
    elif reminder is not None and heard_on < reminder.deemed_served_on:
        problems.append(_("The statement cannot come before the reminder was served (%(day)s).",
                          day=reminder.deemed_served_on))
    if not statement and not waived:
        problems.append(_("Write down what the party said, or mark that they waived their statement."))
    if problems:
        raise GateRefused(problems)
    row = execution_of(case, create=True)
    check_version(row, version)
    before = _snapshot(row)
    row.statement_on, row.statement, row.statement_waived = heard_on, statement, bool(waived) and not statement
    db.session.flush()
    _event("execution.statement", case, row, actor, before)
    return row


def plan_demolition(case: Case, *, actor: User, scheduled_at: datetime | None, camera: str, officer_ids,
                    version=None, today: date | None = None) -> Execution:
    """Schedule the forced demolition: when, which officers, which camera. The gate is checked at the start."""
    today = today or local_today()
    _require(actor, case)
    problems = _in_stages(case, Stage.EXECUTION)
    if not is_forced_demolition(case):
        problems.append(_("Only a demolition decision on the planning route is demolished by the town itself."))
    if scheduled_at is None:
        problems.append(_("Give the date and time of the demolition."))
    elif scheduled_at.date() < today or (today == local_today() and scheduled_at < local_now()):
        problems.append(_("The demolition cannot be scheduled in the past."))
    ids = sorted({int(i) for i in officer_ids or [] if str(i).isdigit()})
    officers = list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    for user in officers:
        if user.body_id != case.body_id or not user.active:
            problems.append(_("%(name)s is not an active member of %(body)s.", name=user.name, body=case.body.name))
        elif not user.has_role(Role.OFFICER) or user.auxiliary:
            problems.append(_("%(name)s is not an enforcement officer: auxiliary staff and others never carry out "
                              "an execution as one of its officers.", name=user.name))
    if len(officers) != len(ids):
        problems.append(_("An officer chosen does not exist."))
    if not (camera or "").strip():
        problems.append(_("Name the camera (body camera number) that films the whole demolition."))
    row = execution_of(case)
    if row is not None and row.started_at is not None:
        problems.append(_("The demolition started on %(at)s: its plan can no longer change.",
                          at=row.started_at.strftime("%Y-%m-%d %H:%M")))
    if problems:
        raise GateRefused(problems)
    row = execution_of(case, create=True)
    check_version(row, version)
    before = _snapshot(row)
    if row.scheduled_at != scheduled_at and row.urgent_reason:
        # The head's urgency was for the time then planned: a new time needs the head again.
        row.urgent_reason, row.urgent_by_id, row.urgent_at = "", None, None
    row.scheduled_at, row.camera, row.officers = scheduled_at, camera.strip()[:120], officers
    db.session.flush()
    _event("execution.planned", case, row, actor, before)
    return row


def mark_urgent(case: Case, *, actor: User, reason: str, version=None) -> Execution:
    """The head allows an execution at night or on a holiday for an urgent reason (行政强制法 art. 43)."""
    from .permissions import is_head_of

    if not is_head_of(actor, case.body_id) or case.stage == Stage.ARCHIVED.value:
        raise PermissionDenied(_("Only the head of %(body)s marks an execution urgent.", body=case.body.name))
    problems = _in_stages(case, Stage.EXECUTION)
    if not (reason or "").strip():
        problems.append(_("Give the reason why the execution cannot wait (it is kept with the case)."))
    if problems:
        raise GateRefused(problems)
    row = execution_of(case, create=True)
    check_version(row, version)
    before = _snapshot(row)
    row.urgent_reason, row.urgent_by_id, row.urgent_at = reason.strip(), actor.id, utcnow()
    db.session.flush()
    _event("execution.urgent", case, row, actor, before)
    return row


def start_demolition(case: Case, *, actor: User, started_at: datetime, version=None,
                     today: date | None = None) -> Execution:
    """The go/no-go: refuses with every unmet condition, checked at the moment the demolition starts."""
    _require(actor, case)
    row = execution_of(case)
    if started_at is None:
        raise GateRefused([_("Give the time the demolition started.")])
    problems = demolition_unmet(case, today or started_at.date(), at=started_at)
    if started_at.date() > (today or local_today()):
        problems.append(_("The start of the demolition cannot be in the future."))
    if row is not None and row.started_at is not None:
        problems.append(_("The demolition already started on %(at)s.", at=row.started_at.strftime("%Y-%m-%d %H:%M")))
    if problems:
        raise GateRefused(problems)
    check_version(row, version)
    before = _snapshot(row)
    row.started_at = started_at
    db.session.flush()
    _event("execution.started", case, row, actor, before)
    return row


def av_coverage_problems(row: Execution | None) -> list[str]:
    """The full audio/video record must cover the execution from its start to its end."""
    if row is None or row.started_at is None or row.ended_at is None:
        return [_("The start and end of the demolition are not recorded.")]
    if row.av_record is None or row.av_until is None:
        return [_("The full audio/video record of the demolition is not linked.")]
    begins = row.av_record.captured_at
    problems = []
    if begins is None or begins > row.started_at:
        problems.append(_("The audio/video record begins at %(begins)s, after the demolition started (%(start)s).",
                          begins=begins.strftime("%Y-%m-%d %H:%M") if begins else _("an unknown time"),
                          start=row.started_at.strftime("%Y-%m-%d %H:%M")))
    if row.av_until < row.ended_at:
        problems.append(_("The audio/video record ends at %(until)s, before the demolition ended (%(end)s).",
                          until=row.av_until.strftime("%Y-%m-%d %H:%M"), end=row.ended_at.strftime("%Y-%m-%d %H:%M")))
    return problems


def quiet_span_problems(start: datetime, end: datetime) -> list[str]:
    """An execution may not run into the night or a holiday either (行政强制法 art. 43), not only start then."""
    from datetime import timedelta

    night = holiday = None
    moment = start
    while moment <= end and (night is None or holiday is None):
        if night is None and at_night(moment):
            night = moment
        try:
            if holiday is None and not is_workday(moment.date()):
                holiday = moment
        except CalendarUnknown:
            pass
        moment += timedelta(minutes=5)
    problems = []
    first, last = quiet_hours()
    if night is not None:
        problems.append(_("The demolition ran into the night (%(at)s; %(start)s–%(end)s) without the head marking it "
                          "urgent (行政强制法 art. 43).", at=night.strftime("%Y-%m-%d %H:%M"),
                          start=first.strftime("%H:%M"), end=last.strftime("%H:%M")))
    if holiday is not None:
        problems.append(_("The demolition ran into a statutory holiday or rest day (%(day)s) without the head marking "
                          "it urgent (行政强制法 art. 43).", day=holiday.date()))
    return problems


def record_demolition_done(case: Case, *, actor: User, ended_at: datetime | None, av_record_id, av_until: datetime | None,
                           version=None) -> Execution:
    """The end of the demolition with its full audio/video record, which must cover it from start to end."""
    _require(actor, case)
    row = execution_of(case)
    problems = _in_stages(case, Stage.EXECUTION)
    if row is None or row.started_at is None:
        raise GateRefused(problems + [_("The demolition has not started.")])
    if ended_at is None or ended_at <= row.started_at:
        problems.append(_("The end must come after the start (%(start)s).", start=row.started_at.strftime("%Y-%m-%d %H:%M")))
    elif ended_at.date() > local_today():
        problems.append(_("The end of the demolition cannot be in the future."))
    if av_until is None:
        problems.append(_("Give the time the audio/video record ends, as shown by the camera."))
    record = _record_of(case, av_record_id, "execution_av", _("audio/video record of the execution"), problems)
    if problems:
        raise GateRefused(problems)
    check_version(row, version)
    # The coverage is checked on a probe first: a refusal leaves the execution unchanged.
    probe = Execution(started_at=row.started_at, ended_at=ended_at, av_until=av_until)
    probe.av_record = record
    coverage = av_coverage_problems(probe)
    if not row.urgent_reason:
        coverage += quiet_span_problems(row.started_at, ended_at)
    if coverage:
        raise GateRefused(coverage)
    before = _snapshot(row)
    row.ended_at, row.av_record_id, row.av_until = ended_at, record.id, av_until
    db.session.flush()
    db.session.refresh(row, ["av_record"])
    _event("execution.finished", case, row, actor, before)
    return row


# --- the land route: the court ------------------------------------------------------------------------------

@dataclass
class CourtWindow:
    earliest: date | None
    latest: date | None
    reasons: list[str]


def court_window(case: Case) -> CourtWindow:
    """When the body may apply to the court: after the reminder's 10 working days and the party's period to
    challenge, and within 3 months of the end of that period (行政强制法 art. 53, 54)."""
    reasons: list[str] = []
    reminder = served(case, ServedDocument.REMINDER)
    periods = challenge_periods(case)
    if reminder is None:
        reasons.append(_("The reminder (催告书) has not been served."))
    if not periods:
        reasons.append(_("The decision has not been served."))
    if reasons:
        return CourtWindow(None, None, reasons)
    try:
        after_reminder = add_working_days(reminder.deemed_served_on, COURT_WAIT_WORKING_DAYS)
    except CalendarUnknown:
        after_reminder = add_calendar_days(reminder.deemed_served_on, COURT_WAIT_WORKING_DAYS, lenient=True)
    period_end = max(last for _what, last in periods)
    earliest = date.fromordinal(max(after_reminder, period_end).toordinal() + 1)
    return CourtWindow(earliest, _roll(_add_months(period_end, COURT_APPLY_MONTHS)), [])


def court_application_unmet(case: Case, applied_on: date | None, today: date | None = None) -> list[str]:
    today = today or local_today()
    problems = _in_stages(case, Stage.EXECUTION)
    window = court_window(case)
    problems.extend(window.reasons)
    row = execution_of(case)
    if row is not None and row.complied_on is not None:
        problems.append(_("The party complied on %(day)s: there is nothing to enforce.", day=row.complied_on))
    problems.extend(overturned(case))
    for challenge in pending_challenges(case):
        problems.append(_("A challenge before %(forum)s is pending.", forum=challenge.forum))
    if applied_on is None:
        problems.append(_("Give the day of the application."))
    elif applied_on > today:
        problems.append(_("The application cannot be dated in the future."))
    elif window.earliest is not None:
        if applied_on < window.earliest:
            problems.append(_("The application can be made from %(day)s (10 working days after the reminder and after "
                              "the party's period to challenge).", day=window.earliest))
        if applied_on > window.latest:
            problems.append(_("The application was due by %(day)s (3 months, 行政强制法 art. 53).", day=window.latest))
    if not _current_of_type(case, "court_application"):
        problems.append(_("The application (强制执行申请书) is not among the case's records."))
    return problems


def record_court_application(case: Case, *, actor: User, applied_on: date | None, court_name: str,
                             reference: str = "", version=None, today: date | None = None) -> Execution:
    _require(actor, case)
    problems = court_application_unmet(case, applied_on, today)
    if not (court_name or "").strip():
        problems.append(_("Name the court."))
    if problems:
        raise GateRefused(problems)
    row = execution_of(case, create=True)
    check_version(row, version)
    before = _snapshot(row)
    row.court_applied_on, row.court_name, row.court_reference = applied_on, court_name.strip(), (reference or "").strip()
    db.session.flush()
    _event("execution.court_applied", case, row, actor, before)
    return row


def record_court_outcome(case: Case, *, actor: User, outcome: str, outcome_on: date | None, version=None,
                         today: date | None = None) -> Execution:
    today = today or local_today()
    _require(actor, case)
    row = execution_of(case)
    problems = _in_stages(case, Stage.EXECUTION)
    if row is None or row.court_applied_on is None:
        problems.append(_("No application to the court is recorded."))
    if not (outcome or "").strip():
        problems.append(_("Say what the court decided and how it was carried out."))
    if outcome_on is None or outcome_on > today:
        problems.append(_("Give the day of the court's decision (not in the future)."))
    elif row is not None and row.court_applied_on is not None and outcome_on < row.court_applied_on:
        problems.append(_("The court's decision cannot come before the application."))
    if problems:
        raise GateRefused(problems)
    check_version(row, version)
    before = _snapshot(row)
    row.court_outcome, row.court_outcome_on = outcome.strip(), outcome_on
    db.session.flush()
    _event("execution.court_outcome", case, row, actor, before)
    return row


# --- fines ---------------------------------------------------------------------------------------------------

@dataclass
class FineState:
    amount: Decimal
    due_on: date | None       # 15 days after service; None until served
    paid: Decimal
    last_paid_on: date | None
    days_late: int
    late_penalty: Decimal      # 3 % a day, capped at the fine
    outstanding: Decimal       # fine + late penalty − paid

    @property
    def settled(self) -> bool:
        return self.due_on is not None and self.outstanding <= 0


def payments_of(case: Case) -> list[FinePayment]:
    return list(db.session.scalars(select(FinePayment).where(FinePayment.case_id == case.id)
                                   .order_by(FinePayment.paid_on, FinePayment.id)))


def late_penalty(amount: Decimal, days_late: int) -> Decimal:
    penalty = (amount * LATE_RATE * max(days_late, 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return min(penalty, amount)


def fine_state(case: Case, today: date | None = None) -> FineState | None:
    """The fine of the decision in force: due date, what was paid, the late penalty as of payment or today."""
    today = today or local_today()
    decision = _decision(case)
    if decision is None or not decision.fine_amount:
        return None
    amount = Decimal(decision.fine_amount)
    served_on = _decision_served_on(case)
    due = add_calendar_days(served_on, FINE_DAYS, lenient=True) if served_on is not None else None
    # Every payment of the case counts: what was paid under a decision later changed is paid towards the
    # decision in force (an overpayment is refunded, outside this tracker).
    payments = payments_of(case)
    paid = sum((Decimal(p.amount) for p in payments), Decimal("0"))
    # The fine itself is settled on the day the payments first reach it; the penalty runs until then.
    settled_on, running = None, Decimal("0")
    for payment in payments:
        running += Decimal(payment.amount)
        if running >= amount:
            settled_on = payment.paid_on
            break
    end = settled_on or today
    days_late = (end - due).days if due is not None and end > due else 0
    if days_late:
        days_late -= _days_under_challenge(case, due, end)
    penalty = late_penalty(amount, days_late)
    return FineState(amount, due, paid, payments[-1].paid_on if payments else None, days_late, penalty,
                     amount + penalty - paid)


def _days_under_challenge(case: Case, after: date, until: date) -> int:
    """Days in (after, until] during which a reconsideration or suit ran: the late penalty is not counted
    then (行政处罚法 art. 73(3)). Overlapping challenges count each day once."""
    days: set[int] = set()
    for challenge in db.session.scalars(select(Challenge).where(Challenge.case_id == case.id)):
        first = max(challenge.received_on, date.fromordinal(after.toordinal() + 1))
        last = min(challenge.outcome_on or until, until)
        days.update(range(first.toordinal(), last.toordinal() + 1))
    return len(days)


def record_payment(case: Case, *, actor: User, paid_on: date | None, amount, receipt_record_id,
                   today: date | None = None) -> FinePayment:
    today = today or local_today()
    _require(actor, case)
    problems = _in_stages(case, Stage.SERVICE, Stage.EXECUTION)
    decision = _decision(case)
    if decision is None or not decision.fine_amount:
        problems.append(_("The decision in force imposes no fine."))
    try:
        amount = Decimal(str(amount)).quantize(Decimal("0.01"))
        if amount <= 0:
            raise ValueError
    except (ArithmeticError, ValueError, TypeError):
        problems.append(_("Give the amount paid, in yuan, more than zero."))
        amount = None
    if amount is not None and decision is not None and decision.fine_amount:
        # Never more than the fine and the largest late penalty (the penalty never exceeds the fine).
        ceiling = Decimal(decision.fine_amount) * 2 - sum((Decimal(p.amount) for p in payments_of(case)), Decimal("0"))
        if amount > ceiling:
            problems.append(_("%(amount)s yuan is more than can still be owed (%(ceiling)s yuan, the late penalty "
                              "included).", amount=amount, ceiling=max(ceiling, Decimal("0"))))
    if paid_on is None:
        problems.append(_("Give the day it was paid."))
    elif paid_on > today:
        problems.append(_("A payment cannot be dated in the future."))
    elif decision is not None and paid_on < decision.decided_on:
        problems.append(_("A payment cannot be dated before the decision of %(day)s.", day=decision.decided_on))
    record = _record_of(case, receipt_record_id, "fine_receipt", _("receipt for the fine (罚款缴纳凭证)"), problems)
    if problems:
        raise GateRefused(problems)
    row = FinePayment(case_id=case.id, decision_id=decision.id, paid_on=paid_on, amount=amount,
                      receipt_record_id=record.id, recorded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    state = fine_state(case, today)
    audit.record("fine.paid", "fine_payment", row.id, case.number, actor=actor,
                 after={"paid_on": paid_on, "amount": str(amount), "late_penalty": str(state.late_penalty),
                        "outstanding": str(state.outstanding)}, body_id=case.body_id, case_id=case.id)
    return row


# --- the gates ----------------------------------------------------------------------------------------------

def _fine_problems(case: Case, today: date) -> list[str]:
    state = fine_state(case, today)
    if state is None or state.settled:
        return []
    if state.due_on is None:
        return [_("The fine is not paid.")]
    return [_("The fine is not paid in full: %(outstanding)s yuan outstanding, late penalty included (%(days)s days "
              "late, 行政处罚法 art. 72).", outstanding=state.outstanding, days=state.days_late)]


@gate(Stage.SERVICE, Stage.CLOSED)
def _nothing_left_to_execute(case: Case, today: date) -> list[str]:
    """A case closes straight after service only when the decision needs nothing more, is paid, or was complied with."""
    row = execution_of(case)
    if not needs_compliance(case) or (row is not None and row.complied_on is not None):
        return _fine_problems(case, today)
    return [_("The decision has not been carried out: record the party's compliance with its proof, or move the case "
              "to execution.")]


@gate(Stage.EXECUTION, Stage.CLOSED)
def _execution_done(case: Case, today: date) -> list[str]:
    decision = _decision(case)
    row = execution_of(case)
    if decision is None:
        return []
    problems = _fine_problems(case, today) if decision.fine_amount else []
    if row is None or row.complied_on is None:
        problems.extend(overturned(case))
    if row is not None and row.complied_on is not None:
        return problems
    if row is not None and row.court_applied_on is not None:
        if not row.court_outcome:
            problems.append(_("The court's decision on the application is not recorded."))
        return problems
    if is_forced_demolition(case):
        if row is None or row.started_at is None:
            return problems + [_("The demolition has not been carried out, and no compliance is recorded.")]
        return problems + av_coverage_problems(row)
    if decision.decision_type in EXECUTES_ITSELF or (decision.decision_type == DecisionType.FINE.value and not problems):
        return problems
    return problems + [_("Record the party's compliance, the forced execution, or the application to the court.")]


def _register_timeline() -> None:
    from flask_babel import lazy_gettext as _l

    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS

    EVENT_LABELS.update({
        "execution.complied": _l("Compliance recorded"), "execution.statement": _l("Statement on the reminder"),
        "execution.planned": _l("Demolition planned"), "execution.urgent": _l("Execution marked urgent"),
        "execution.started": _l("Demolition started"), "execution.finished": _l("Demolition finished"),
        "execution.court_applied": _l("Application to the court"),
        "execution.court_outcome": _l("Court's decision on the application"), "fine.paid": _l("Fine paid")})
    fields = ("complied_on", "statement_on", "statement_waived", "scheduled_at", "camera", "urgent_reason",
              "started_at", "ended_at", "av_until", "court_applied_on", "court_name", "court_outcome")
    for action in ("execution.complied", "execution.statement", "execution.planned", "execution.urgent",
                   "execution.started", "execution.finished", "execution.court_applied", "execution.court_outcome"):
        SHOWN_FIELDS[action] = fields
    SHOWN_FIELDS["fine.paid"] = ("paid_on", "amount", "late_penalty", "outstanding")
    for key, label in (("complied_on", _l("Complied on")), ("statement_on", _l("Statement heard on")),
                       ("statement_waived", _l("Statement waived")), ("scheduled_at", _l("Scheduled at")),
                       ("camera", _l("Camera")), ("urgent_reason", _l("Reason for urgency")),
                       ("started_at", _l("Started at")), ("ended_at", _l("Ended at")),
                       ("av_until", _l("Recording ends at")), ("court_applied_on", _l("Applied to the court on")),
                       ("court_name", _l("Court")), ("court_outcome", _l("Court's decision")),
                       ("paid_on", _l("Paid on")), ("amount", _l("Amount")), ("late_penalty", _l("Late penalty")),
                       ("outstanding", _l("Outstanding"))):
        FIELD_LABELS.setdefault(key, label)


_register_timeline()


# --- what is due after the decision (the home page) ------------------------------------------------------------

DUE_SOON_DAYS = 3  # calendar days


@dataclass(frozen=True)
class FollowUp:
    """One thing to do on a decided case, with its last day and where that stands today."""

    case: Case
    what: str
    due_on: date | None
    state: str      # "overdue", "due_soon" or "open"
    anchor: str     # the case page's section


def _state(due_on: date | None, today: date) -> str:
    if due_on is None:
        return "open"
    if due_on < today:
        return "overdue"
    return "due_soon" if (due_on - today).days <= DUE_SOON_DAYS else "open"


def follow_ups_of(case: Case, today: date) -> list[FollowUp]:
    """The decision to serve, the fine running late, the court application's last day, the demolition booked."""
    from . import serving

    out: list[FollowUp] = []
    if case.stage not in (Stage.DECISION.value, Stage.SERVICE.value, Stage.EXECUTION.value):
        return out
    try:
        service = serving.decision_service(case, today)
        if service.decision is not None and service.service is None:
            out.append(FollowUp(case, _("Serve the decision (7 working days)"), service.due_on,
                                _state(service.due_on, today), "service"))
        fine = fine_state(case, today)
        if fine is not None and fine.due_on is not None and not fine.settled:
            what = (_("Fine unpaid: the late penalty runs (%(amount)s yuan so far)", amount=fine.late_penalty)
                    if fine.days_late else _("Fine to be paid"))
            out.append(FollowUp(case, what, fine.due_on, _state(fine.due_on, today), "execution"))
        row = execution_of(case)
        complied = row is not None and row.complied_on is not None
        if case.stage == Stage.EXECUTION.value and case.route == Route.LAND.value and not complied and \
                (row is None or row.court_applied_on is None):
            window = court_window(case)
            if window.latest is not None:
                out.append(FollowUp(case, _("Apply to the court (from %(day)s)", day=window.earliest), window.latest,
                                    _state(window.latest, today), "execution"))
        if row is not None and row.scheduled_at is not None and row.started_at is None and not complied \
                and row.scheduled_at.date() >= today:
            # The go/no-go itself is on the case page (it reads every record and certificate: too much here).
            out.append(FollowUp(case, _("Demolition booked at %(time)s: check the go/no-go list",
                                        time=row.scheduled_at.strftime("%H:%M")),
                                row.scheduled_at.date(), _state(row.scheduled_at.date(), today), "demolition"))
    except CalendarUnknown:
        out.append(FollowUp(case, _("A deadline falls in a year the working-day calendar does not cover yet"), None,
                            "open", "execution"))
    return out


def follow_ups(user: User, today: date | None = None, *, limit: int = 200) -> list[FollowUp]:
    """What is due after the decision on the cases the user acts on: an officer's own cases, the head's
    body; overdue first, then by the last day. A few queries per case: the `limit` oldest decided cases
    (the oldest are the likeliest overdue) bound the page."""
    from ..models import CaseOfficer
    from .permissions import is_head_of

    today = today or local_today()
    query = select(Case).where(Case.stage.in_((Stage.DECISION.value, Stage.SERVICE.value, Stage.EXECUTION.value)))
    if is_head_of(user, user.body_id):
        query = query.where(Case.body_id == user.body_id)
    elif user.has_role(Role.OFFICER):
        query = query.where(Case.id.in_(select(CaseOfficer.case_id).where(CaseOfficer.user_id == user.id,
                                                                           CaseOfficer.removed_at.is_(None))))
    else:
        return []
    items = [item for case in db.session.scalars(query.order_by(Case.id).limit(limit))
             for item in follow_ups_of(case, today)]
    order = {"overdue": 0, "due_soon": 1, "open": 2}
    return sorted(items, key=lambda f: (order[f.state], f.due_on or date.max, f.case.id))
