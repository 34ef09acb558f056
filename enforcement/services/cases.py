"""Filing (立案) and following cases: numbers, officers, the case list.

The conditions for filing are checked here and again by the workflow gate that leaves the
filing stage, from the same functions, so the two can never drift apart.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload, selectinload

from ..extensions import db
from ..models import (AuditEvent, Body, BodyKind, Case, CaseCounter, CaseOfficer, Matter, PartyKind, Role, Route,
                      Source, Stage, User, UserRole)
from ..models._types import utcnow
from . import audit, calendar, people
from .catalogue import delegation_in_force
from .errors import DomainError, GateRefused, NotFound
from .permissions import can_file_case, can_see_personal_data, case_scope
from .clock import local_today

CASE_FIELDS = ("number", "matter_id", "route", "source", "source_detail", "party_kind", "party_name", "village",
               "place_detail", "summary", "act_began_on", "act_ended_on", "discovered_on", "filed_on",
               "decision_due_on", "stage", "complex_reason")
# Personal data is named in the audit trail only as changed, never with its value.
PERSONAL_FIELDS = ("party_id_number", "party_phone", "party_address")
OPEN_STAGES = (Stage.FILING.value, Stage.INVESTIGATION.value, Stage.NOTICE.value, Stage.REVIEW.value)


def case_label(case: Case) -> str:
    return f"{case.number} {case.party_name}"


# --- the conditions of filing -----------------------------------------------------------

def limitation_problem(*, act_began_on: date, act_ended_on: date | None, discovered_on: date,
                       years: int = 2) -> str | None:
    """行政处罚法 art. 36: not punished when not discovered within 2 years; a continuing act counts from its end."""
    if act_ended_on is None:
        return None
    limit = calendar.add_years(act_ended_on, years)
    if discovered_on > limit:
        return _("The limitation period has run: the act ended on %(end)s and was discovered on %(found)s, "
                 "more than %(years)s years later (行政处罚法 art. 36).", end=act_ended_on.isoformat(),
                 found=discovered_on.isoformat(), years=years)
    return None


def competence_problems(body: Body, matter: Matter, route: str | None, on: date) -> list[str]:
    """The body must hold the power: its own, or delegated and published (行政处罚法 art. 24)."""
    problems = []
    if matter.body_id != body.id:
        problems.append(_("The matter %(matter)s is not in the powers catalogue of %(body)s.",
                          matter=matter.name, body=body.name))
    if not matter.active:
        problems.append(_("The matter %(matter)s is no longer in force.", matter=matter.name))
    if matter.route and route != matter.route:
        problems.append(_("The matter %(matter)s belongs to the %(route)s route.", matter=matter.name,
                          route=route_label(matter.route)))
    if route == Route.LAND.value and body.kind == BodyKind.TOWN.value and matter.power_source != "delegated":
        problems.append(_("On the land route a town acts only under a delegated power published by the "
                          "province (土地管理法 art. 83, 行政处罚法 art. 24); otherwise transfer the case to "
                          "the county department."))
    if not delegation_in_force(matter, on):
        problems.append(_("The delegation of %(matter)s was not yet published on %(date)s.",
                          matter=matter.name, date=on.isoformat()))
    return problems


def officer_problems(officers: list[User], on: date, *, matter: Matter, body: Body) -> list[str]:
    """At least two officers, each with a certificate valid on `on` in the matter's category and area."""
    problems = []
    distinct = {o.id: o for o in officers}
    for officer in distinct.values():
        problem = people.certificate_problem(officer, on, category=matter.enforcement_category, body=body)
        if problem:
            problems.append(problem)
        elif officer.body_id != body.id:
            problems.append(_("%(name)s is not an officer of %(body)s.", name=officer.name, body=body.name))
    qualified = len(distinct) - len(problems)
    if qualified < 2:
        problems.append(_("At least two officers with valid enforcement certificates must handle the case "
                          "(行政处罚法 art. 42); %(count)s qualified on %(date)s.", count=max(qualified, 0),
                          date=on.isoformat()))
    return problems


def filing_problems(*, body: Body, matter: Matter, route: str | None, officers: list[User], filed_on: date,
                    act_began_on: date, act_ended_on: date | None, discovered_on: date, today: date,
                    limitation_years: int = 2) -> list[str]:
    problems = []
    if discovered_on < act_began_on:
        problems.append(_("The act cannot be discovered before it began."))
    if act_ended_on is not None and act_ended_on < act_began_on:
        problems.append(_("The act cannot end before it began."))
    if filed_on < discovered_on:
        problems.append(_("A case cannot be filed before the act was discovered."))
    if filed_on > today:
        problems.append(_("The filing date cannot be in the future."))
    limitation = limitation_problem(act_began_on=act_began_on, act_ended_on=act_ended_on,
                                    discovered_on=discovered_on, years=limitation_years)
    if limitation:
        problems.append(limitation)
    problems += competence_problems(body, matter, route, filed_on)
    problems += officer_problems(officers, filed_on, matter=matter, body=body)
    return problems


def case_filing_problems(case: Case, today: date) -> list[str]:
    """The conditions of filing, checked again on a filed case (the gate that leaves the filing stage).

    Officers are judged on the filing date; a date in the future is judged against `today`.
    """
    from flask import current_app

    return filing_problems(
        body=case.body, matter=case.matter, route=case.route, officers=[o.user for o in case.active_officers],
        filed_on=case.filed_on, act_began_on=case.act_began_on, act_ended_on=case.act_ended_on,
        discovered_on=case.discovered_on, today=max(today, case.filed_on),
        limitation_years=current_app.config.get("LIMITATION_YEARS", 2))


def approval_unmet(case: Case, *, today: date | None = None) -> list[str]:
    """What would stop the head's filing approval: every condition of leaving filing but the approval itself."""
    from . import workflow

    return workflow.unmet(case, Stage.INVESTIGATION, today=today, skip=(workflow.filing_approved,))


def route_label(route: str | None) -> str:
    return {Route.PLANNING.value: _("planning (城乡规划法 art. 65)"),
            Route.LAND.value: _("land (土地管理法 art. 78)")}.get(route or "", _("none"))


def source_label(source: str) -> str:
    return {Source.GRID_PATROL.value: _("Grid patrol (网格巡查)"), Source.COMPLAINT.value: _("Complaint (投诉举报)"),
            Source.TRANSFER.value: _("Transfer (移送)"), Source.INSPECTION.value: _("Found in inspection (检查发现)"),
            Source.SUPERIOR.value: _("Assigned by a superior (上级交办)"),
            Source.OTHER.value: _("Other")}.get(source, source)


def party_kind_label(kind: str) -> str:
    return {PartyKind.PERSON.value: _("Natural person"),
            PartyKind.ORGANISATION.value: _("Organisation")}.get(kind, kind)


# --- case numbers -----------------------------------------------------------------------

def next_case_number(body: Body, year: int) -> tuple[int, str]:
    """The next sequence for body and year, taken under a row lock (no two cases share a number)."""
    for _attempt in range(3):
        seq = db.session.execute(
            update(CaseCounter).where(CaseCounter.body_id == body.id, CaseCounter.year == year)
            .values(last_seq=CaseCounter.last_seq + 1).returning(CaseCounter.last_seq)
            .execution_options(synchronize_session=False)
        ).scalar()
        if seq is None:
            try:
                with db.session.begin_nested():
                    db.session.execute(insert(CaseCounter).values(body_id=body.id, year=year, last_seq=1))
                seq = 1
            except IntegrityError:
                continue  # another request created the counter first: take the lock on it
        return seq, body.case_number_pattern.format(short=body.short_name, year=year, seq=seq)
    raise DomainError(_("Could not allocate a case number; try again."))


# --- filing -------------------------------------------------------------------------------

@dataclass
class PartyData:
    kind: str
    name: str
    id_number: str = ""
    phone: str = ""
    address: str = ""
    is_minor: bool = False


def file_case(*, actor: User, body: Body, matter: Matter, route: str | None, source: str, source_detail: str,
              party: PartyData, village: str, place_detail: str, summary: str, act_began_on: date,
              act_ended_on: date | None, discovered_on: date, filed_on: date, officer_ids: list[int],
              lead_officer_id: int | None = None, today: date | None = None, limitation_years: int = 2) -> Case:
    """File a case (立案). It waits in the filing stage for the head's approval."""
    today = today or local_today()
    if not can_file_case(actor, body.id):
        from .errors import PermissionDenied
        raise PermissionDenied(_("Only an officer of %(body)s can file its cases.", body=body.name))
    problems = []
    if source not in {s.value for s in Source}:
        problems.append(_("Choose where the case came from."))
    if party.kind not in {p.value for p in PartyKind}:
        problems.append(_("Say whether the party is a person or an organisation."))
    if not party.name.strip():
        problems.append(_("The party's name is required."))
    if not village.strip():
        problems.append(_("The place (village) is required."))
    if not summary.strip():
        problems.append(_("Describe the facts in the summary."))
    if route not in (None, "", Route.PLANNING.value, Route.LAND.value):
        problems.append(_("The legal route must be planning or land."))
    officers = list(db.session.scalars(select(User).where(User.id.in_(officer_ids)))) if officer_ids else []
    if len(officers) != len(set(officer_ids)):
        problems.append(_("An officer chosen does not exist."))
    if lead_officer_id is not None and lead_officer_id not in set(officer_ids):
        problems.append(_("The lead officer must be one of the officers on the case."))
    problems += filing_problems(body=body, matter=matter, route=route or None, officers=officers, filed_on=filed_on,
                                act_began_on=act_began_on, act_ended_on=act_ended_on, discovered_on=discovered_on,
                                today=today, limitation_years=limitation_years)
    if problems:
        raise GateRefused(problems)

    seq, number = next_case_number(body, filed_on.year)
    due = calendar_due(filed_on)
    case = Case(body_id=body.id, year=filed_on.year, seq=seq, number=number, matter_id=matter.id,
                route=route or None, source=source, source_detail=source_detail.strip(), party_kind=party.kind,
                party_name=party.name.strip(), party_id_number=party.id_number.strip(),
                party_phone=party.phone.strip(), party_address=party.address.strip(), party_is_minor=party.is_minor,
                village=village.strip(), place_detail=place_detail.strip(), summary=summary.strip(),
                act_began_on=act_began_on, act_ended_on=act_ended_on, discovered_on=discovered_on,
                filed_on=filed_on, decision_due_on=due, stage=Stage.FILING.value, created_by_id=actor.id)
    lead = lead_officer_id or (officer_ids[0] if officer_ids else None)
    case.officers = [CaseOfficer(user_id=uid, lead=(uid == lead)) for uid in dict.fromkeys(officer_ids)]
    db.session.add(case)
    db.session.flush()
    audit.record("case.filed", "case", case.id, case_label(case), actor=actor,
                 after={**audit.snapshot(case, CASE_FIELDS), "officers": [o.name for o in officers],
                        "personal_data": [f for f in PERSONAL_FIELDS if getattr(case, f)]},
                 body_id=body.id, case_id=case.id)
    return case


def calendar_due(filed_on: date, days: int = 90) -> date:
    """The 90-day decision limit (行政处罚法 art. 60), rolled past holidays when the calendar knows the year.

    When the end falls in a year the calendar does not know yet, the unrolled date is kept: it
    is never later than the true deadline, so the tracker warns early rather than late.
    """
    try:
        return calendar.add_calendar_days(filed_on, days)
    except calendar.CalendarUnknown:
        return calendar.add_calendar_days(filed_on, days, roll_to_workday=False)


def approve_filing(case: Case, *, actor: User, today: date | None = None) -> None:
    """The head approves the filing (立案审批); the case moves to investigation through the workflow gate."""
    from . import workflow

    from .permissions import can_approve_filing
    if case.stage != Stage.FILING.value:
        from .errors import Conflict
        raise Conflict(_("The filing of this case has been approved already."))
    if not can_approve_filing(actor, case):
        from .errors import PermissionDenied
        raise PermissionDenied(_("Only the head of %(body)s approves filings, and only of cases awaiting it.",
                                 body=case.body.name))
    case.filing_approved_by_id = actor.id
    case.filing_approved_at = utcnow()
    audit.record("case.filing_approved", "case", case.id, case_label(case), actor=actor,
                 after={"filing_approved_by": actor.name}, body_id=case.body_id, case_id=case.id)
    workflow.advance(case, Stage.INVESTIGATION, actor=actor, today=today)


def assign_officer(case: Case, user: User, *, actor: User, today: date | None = None) -> None:
    from .permissions import can_edit_case
    if not can_edit_case(actor, case):
        from .errors import PermissionDenied
        raise PermissionDenied(_("You cannot change the officers of this case."))
    today = today or local_today()
    if any(o.user_id == user.id for o in case.active_officers):
        raise DomainError(_("%(name)s is on the case already.", name=user.name))
    problem = people.certificate_problem(user, today, category=case.matter.enforcement_category, body=case.body)
    if problem:
        raise GateRefused([problem])
    if user.body_id != case.body_id:
        raise GateRefused([_("%(name)s is not an officer of %(body)s.", name=user.name, body=case.body.name)])
    case.officers.append(CaseOfficer(user_id=user.id, lead=False))
    case.updated_at = utcnow()  # a change of officers is a change of the case: its version moves
    db.session.flush()
    audit.record("case.officer_assigned", "case", case.id, case_label(case), actor=actor,
                 after={"officer": user.name}, body_id=case.body_id, case_id=case.id)


def remove_officer(case: Case, user: User, *, actor: User, reason: str) -> None:
    from .permissions import can_edit_case
    if not can_edit_case(actor, case):
        from .errors import PermissionDenied
        raise PermissionDenied(_("You cannot change the officers of this case."))
    if not reason.strip():
        raise DomainError(_("Give the reason for taking the officer off the case (e.g. recusal)."))
    row = next((o for o in case.active_officers if o.user_id == user.id), None)
    if row is None:
        raise DomainError(_("%(name)s is not on the case.", name=user.name))
    row.removed_at = utcnow()
    case.updated_at = row.removed_at  # a change of officers is a change of the case: its version moves
    audit.record("case.officer_removed", "case", case.id, case_label(case), actor=actor,
                 before={"officer": user.name}, after={"reason": reason}, body_id=case.body_id, case_id=case.id)


def mark_complex(case: Case, *, actor: User, reason: str) -> None:
    """Mark the case complex (several legal relations, difficult facts): its decision becomes major."""
    from .permissions import can_edit_case
    if not can_edit_case(actor, case):
        from .errors import PermissionDenied
        raise PermissionDenied(_("You cannot change this case."))
    if not reason.strip():
        raise DomainError(_("Say why the case is complex."))
    before = {"complex_reason": case.complex_reason}
    case.complex_reason = reason.strip()
    audit.record("case.marked_complex", "case", case.id, case_label(case), actor=actor, before=before,
                 after={"complex_reason": case.complex_reason}, body_id=case.body_id, case_id=case.id)


# --- reading --------------------------------------------------------------------------------

def get_case(user: User, case_id: int) -> Case:
    """Load a case the user may see; anything else is 'not found' (no data leaked)."""
    from .permissions import can_view_case

    case = db.session.get(Case, case_id)
    if case is None or not can_view_case(user, case):
        raise NotFound(_("No such case."))
    return case


@dataclass
class CaseFilter:
    stage: str | None = None
    matter_id: int | None = None
    officer_id: int | None = None
    overdue: bool = False
    q: str | None = None


def case_query(user: User, flt: CaseFilter, *, today: date | None = None):
    """The select for the case list, restricted to the user's scope, newest first."""
    scope = case_scope(user)
    query = select(Case).where(Case.body_id.in_(scope) if scope else False)
    if flt.stage:
        query = query.where(Case.stage == flt.stage)
    if flt.matter_id:
        query = query.where(Case.matter_id == flt.matter_id)
    if flt.officer_id:
        query = query.where(exists().where(and_(CaseOfficer.case_id == Case.id, CaseOfficer.user_id == flt.officer_id,
                                                CaseOfficer.removed_at.is_(None))))
    if flt.overdue:
        query = query.where(Case.stage.in_(OPEN_STAGES), Case.decision_due_on < (today or local_today()))
    if flt.q:
        needle = flt.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{needle}%"
        query = query.where(Case.number.like(like, escape="\\") | Case.party_name.like(like, escape="\\")
                            | Case.village.like(like, escape="\\"))
    return query.order_by(Case.id.desc())


# What a list row shows, loaded in two queries per page whatever its length (no N+1): the
# matter by join, the officers and their users in one IN query; the officers' roles and
# certificates are not needed for a row and stay unloaded.
LIST_LOAD_OPTIONS = (
    selectinload(Case.matter).lazyload(Matter.discretion_bands),
    selectinload(Case.officers).joinedload(CaseOfficer.user).options(lazyload(User.role_rows),
                                                                      lazyload(User.certificates)),
)


def list_cases(user: User, flt: CaseFilter, *, page: int = 1, per_page: int = 25, today: date | None = None):
    """One page of cases and whether there is a next one (no COUNT(*) over 100,000 rows)."""
    page = max(page, 1)
    query = case_query(user, flt, today=today).options(*LIST_LOAD_OPTIONS)
    rows = list(db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)))
    return rows[:per_page], len(rows) > per_page


def count_cases(user: User, flt: CaseFilter, *, today: date | None = None) -> int:
    query = case_query(user, flt, today=today).order_by(None).with_only_columns(func.count(Case.id))
    return db.session.scalar(query) or 0


def is_overdue(case: Case, today: date | None = None) -> bool:
    return case.stage in OPEN_STAGES and case.decision_due_on < (today or local_today())


def days_to_decision(case: Case, today: date | None = None) -> int | None:
    """Days left until the 90-day decision limit (negative: overdue); None once the case is past deciding."""
    if case.stage not in OPEN_STAGES:
        return None
    return (case.decision_due_on - (today or local_today())).days


def lead_officer(case: Case) -> User | None:
    """The lead officer (主办人) among those still on the case; the first of them if the lead left."""
    active = case.active_officers
    row = next((o for o in active if o.lead), None) or (active[0] if active else None)
    return row.user if row else None


def officers_of(body_ids, *, active_only: bool = True) -> list[User]:
    """Users holding the officer role in the given bodies (auxiliary staff excluded), by name.

    `active_only=False` keeps deactivated officers, so old cases can still be found by them.
    """
    body_ids = list(body_ids)
    if not body_ids:
        return []
    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(User.body_id.in_(body_ids), UserRole.role == Role.OFFICER.value, User.auxiliary.is_(False))
             .order_by(User.name, User.id))
    if active_only:
        query = query.where(User.active.is_(True))
    return list(db.session.scalars(query))


# --- personal data ------------------------------------------------------------------------

def mask_id_number(value: str | None) -> str:
    """Keep the first and last four characters: 110101199001011234 -> 1101**********1234."""
    value = (value or "").strip()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """Keep the first three and last four digits: 13800138000 -> 138****8000."""
    value = (value or "").strip()
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str | None) -> str:
    """A home address is hidden whole: the case's village is the place that may be shown."""
    return "****" if (value or "").strip() else ""


@dataclass(frozen=True)
class PartyContact:
    """The party's personal data as a given user may see it."""

    id_number: str
    phone: str
    address: str
    masked: bool


def party_contact(case: Case, user) -> PartyContact:
    """ID number, phone and address in full for those who need them (can_see_personal_data), masked otherwise."""
    if can_see_personal_data(user, case):
        return PartyContact(case.party_id_number, case.party_phone, case.party_address, masked=False)
    return PartyContact(mask_id_number(case.party_id_number), mask_phone(case.party_phone),
                        mask_address(case.party_address), masked=True)


# --- the case's timeline --------------------------------------------------------------------

# Readable names of audit actions on a case. Later modules add theirs here (lazy: read at render time).
EVENT_LABELS: dict[str, object] = {
    "case.filed": _l("Case filed (立案)"),
    "case.filing_approved": _l("Filing approved (立案审批)"),
    "case.stage_changed": _l("Stage changed"),
    "case.officer_assigned": _l("Officer assigned"),
    "case.officer_removed": _l("Officer taken off the case"),
    "case.marked_complex": _l("Marked complex"),
}

FIELD_LABELS: dict[str, object] = {
    "number": _l("Case number"), "stage": _l("Stage"), "route": _l("Legal route"), "source": _l("Source"),
    "source_detail": _l("Source detail"), "party_kind": _l("Party kind"), "party_name": _l("Party"),
    "village": _l("Village"), "place_detail": _l("Place"), "summary": _l("Summary"),
    "act_began_on": _l("Act began on"), "act_ended_on": _l("Act ended on"), "discovered_on": _l("Discovered on"),
    "filed_on": _l("Filed on"), "decision_due_on": _l("Decision due"), "complex_reason": _l("Why complex"),
    "officers": _l("Officers"), "officer": _l("Officer"), "reason": _l("Reason"),
    "filing_approved_by": _l("Approved by"), "personal_data": _l("Personal data recorded"),
    # personal data is named (as recorded), never valued
    "party_id_number": _l("ID number"), "party_phone": _l("Phone"), "party_address": _l("Address"),
}
# Events that snapshot a whole object: the timeline names only what a reader scans for. Later
# modules add their actions here, and formatters for their values to VALUE_FORMATTERS.
SHOWN_FIELDS: dict[str, tuple[str, ...]] = {
    "case.filed": ("number", "route", "source", "village", "filed_on", "decision_due_on", "officers",
                   "personal_data"),
}
VALUE_FORMATTERS: dict[str, object] = {}
_PERSONAL_MARKERS = ("id_number", "phone", "address")


@dataclass
class Change:
    """One field of an event in words: its label, the value before and after (None: none)."""

    label: str
    before: str | None
    after: str | None


@dataclass
class TimelineEntry:
    at: datetime
    actor: str
    action: str
    label: str
    changes: list[Change] = field(default_factory=list)


def _is_personal(key: str) -> bool:
    return key in PERSONAL_FIELDS or any(marker in key for marker in _PERSONAL_MARKERS)


def _display(key: str, value) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if key in VALUE_FORMATTERS:
        return VALUE_FORMATTERS[key](value)
    if key == "stage":
        from .workflow import stage_label
        try:
            return stage_label(value)
        except ValueError:
            return str(value)
    if key == "route":
        return route_label(value)
    if key == "source":
        return source_label(value)
    if key == "party_kind":
        return party_kind_label(value)
    if key == "personal_data":
        return "、".join(str(FIELD_LABELS.get(f, f)) for f in value if f in PERSONAL_FIELDS) or None
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return None  # nested snapshots are for the audit record, not the timeline
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"


def describe_event(event: AuditEvent) -> TimelineEntry:
    """An audit event in words: its label and the before→after of each field, personal data never valued."""
    before = json.loads(event.before) if event.before else {}
    after = json.loads(event.after) if event.after else {}
    if not isinstance(before, dict):
        before = {}
    if not isinstance(after, dict):
        after = {}
    keys = list(dict.fromkeys([*before, *after]))
    if event.action in SHOWN_FIELDS:
        keys = [k for k in SHOWN_FIELDS[event.action] if k in after or k in before]
    changes = []
    for key in keys:
        if _is_personal(key) or key.endswith("_id") or key == "id":
            continue
        old, new = _display(key, before.get(key)), _display(key, after.get(key))
        if old is None and new is None:
            continue
        changes.append(Change(str(FIELD_LABELS.get(key, key.replace("_", " "))), old, new))
    label = EVENT_LABELS.get(event.action)
    return TimelineEntry(at=event.at, actor=event.actor_name or _("system"), action=event.action,
                         label=str(label) if label is not None else event.action, changes=changes)


def case_timeline(case: Case) -> list[TimelineEntry]:
    """Everything that happened to the case, newest first."""
    return [describe_event(e) for e in reversed(audit.events_for_case(case.id))]
