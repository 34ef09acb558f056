"""Notice of the intended decision (告知), the party's statement and defence, and the hearing (听证).

行政处罚法 art. 44/62: no decision without telling the party the facts, reasons, basis and the
intended penalty, and hearing the statement and defence. Art. 63/64: the party may ask for a
hearing within 5 working days of the notice (working days per art. 85, from the calendar
service); a hearing, when held, is recorded with its 听证笔录. The gate `notice_problems` runs
on every way out of the notice stage (to review and to decision).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from sqlalchemy import exists, select

from ..extensions import db
from ..models import Case, DecisionType, Notice, Record, Stage, User
from ..models._types import utcnow
from . import audit, calendar
from .clock import local_today
from .errors import DomainError, GateRefused, PermissionDenied
from .major import latest_notice, money
from .permissions import can_edit_case
from .workflow import gate

HEARING_DAYS = 5  # working days (行政处罚法 art. 64)
NOTICE_FIELDS = ("decision_type", "fine_amount", "confiscation_value", "content", "legal_basis", "served_on",
                 "service_method", "hearing_offered", "hearing_deadline")


def parse_money(value, what: str) -> Decimal | None:
    """An amount of yuan from a form or JSON: empty is None; negative, non-numeric or absurd is refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("，", ""))
    except InvalidOperation as exc:
        raise DomainError(_("%(what)s must be an amount in yuan.", what=what)) from exc
    if not amount.is_finite() or amount < 0:
        raise DomainError(_("%(what)s cannot be negative.", what=what))
    if amount >= Decimal("1e12"):
        raise DomainError(_("%(what)s is too large.", what=what))
    return amount.quantize(Decimal("0.01"))


def check_proposal(decision_type: str, fine_amount: Decimal | None, confiscation_value: Decimal | None,
                   content: str) -> list[str]:
    """What makes a proposed or final decision incomplete, in words."""
    problems = []
    if decision_type not in {t.value for t in DecisionType}:
        problems.append(_("Choose the kind of decision."))
    if decision_type == DecisionType.FINE.value and not fine_amount:
        problems.append(_("A fine needs its amount."))
    if decision_type == DecisionType.CONFISCATION.value and not confiscation_value:
        problems.append(_("A confiscation needs the value confiscated."))
    if not (content or "").strip():
        problems.append(_("Write out the decision: what is ordered and by when."))
    return problems


def _require_editor(case: Case, actor: User) -> None:
    if not can_edit_case(actor, case):
        raise PermissionDenied(_("Only the officers on the case or the head of the body record the notice."))


def record_notice(case: Case, *, actor: User, decision_type: str, fine_amount=None, confiscation_value=None,
                  content: str, legal_basis: str, served_on: date, service_method: str = "",
                  hearing_offered: bool = True, today: date | None = None) -> Notice:
    """Record the notice served on the party; the hearing deadline is computed, never typed."""
    _require_editor(case, actor)
    today = today or local_today()
    if case.stage != Stage.NOTICE.value:
        raise DomainError(_("The notice is recorded in the notice stage; this case is not there."))
    fine = parse_money(fine_amount, _("The fine"))
    value = parse_money(confiscation_value, _("The value confiscated"))
    problems = check_proposal(decision_type, fine, value, content)
    if not (legal_basis or "").strip():
        problems.append(_("Give the legal basis of the intended decision."))
    if served_on is None:
        problems.append(_("Give the date the notice was served."))
    else:
        if served_on > today:
            problems.append(_("The notice cannot be served in the future."))
        if served_on < case.filed_on:
            problems.append(_("The notice cannot be served before the case was filed."))
    if problems:
        raise GateRefused(problems)
    deadline = calendar.add_working_days(served_on, HEARING_DAYS) if hearing_offered else None
    notice = Notice(case_id=case.id, decision_type=decision_type, fine_amount=fine, confiscation_value=value,
                    content=content.strip(), legal_basis=legal_basis.strip(), served_on=served_on,
                    service_method=(service_method or "").strip()[:200], hearing_offered=hearing_offered,
                    hearing_deadline=deadline, created_by_id=actor.id)
    db.session.add(notice)
    db.session.flush()
    audit.record("notice.recorded", "notice", notice.id, case.number, actor=actor,
                 after=audit.snapshot(notice, NOTICE_FIELDS), body_id=case.body_id, case_id=case.id)
    return notice


def _open_notice(case: Case, actor: User) -> Notice:
    _require_editor(case, actor)
    if case.stage != Stage.NOTICE.value:
        raise DomainError(_("The statement and the hearing are recorded in the notice stage."))
    notice = latest_notice(case)
    if notice is None:
        raise DomainError(_("Record the notice (告知) first."))
    return notice


def record_statement(case: Case, *, actor: User, statement: str = "", waived: bool = False) -> Notice:
    """The party's statement and defence (陈述申辩), or that the party expressly waived it."""
    notice = _open_notice(case, actor)
    statement = (statement or "").strip()
    if waived and statement:
        raise DomainError(_("Either record the statement or that the party waived it, not both."))
    if not waived and not statement:
        raise DomainError(_("Write down the party's statement and defence, or record that the party waived it."))
    before = {"statement": notice.statement, "statement_waived": notice.statement_waived}
    notice.statement, notice.statement_waived, notice.statement_recorded_at = statement, waived, utcnow()
    audit.record("notice.statement_recorded", "notice", notice.id, case.number, actor=actor, before=before,
                 after={"statement": statement, "statement_waived": waived}, body_id=case.body_id, case_id=case.id)
    return notice


def record_hearing_request(case: Case, *, actor: User, requested_on: date, today: date | None = None) -> Notice:
    """The party asked for a hearing: only within the 5 working days after the notice (art. 64)."""
    notice = _open_notice(case, actor)
    today = today or local_today()
    if not notice.hearing_offered:
        raise DomainError(_("The notice did not offer a hearing."))
    if requested_on is None or requested_on > today:
        raise DomainError(_("Give the date the party asked for the hearing (not in the future)."))
    if requested_on < notice.served_on:
        raise DomainError(_("A hearing cannot be asked for before the notice was served."))
    if requested_on > notice.hearing_deadline:
        raise DomainError(_("The request came on %(day)s, after the 5 working days that ended on %(deadline)s "
                            "(行政处罚法 art. 64).", day=requested_on.isoformat(),
                            deadline=notice.hearing_deadline.isoformat()))
    notice.hearing_requested_on = requested_on
    audit.record("notice.hearing_requested", "notice", notice.id, case.number, actor=actor,
                 after={"hearing_requested_on": requested_on}, body_id=case.body_id, case_id=case.id)
    return notice


def record_hearing(case: Case, *, actor: User, held_on: date, record_id: int, today: date | None = None) -> Notice:
    """The hearing was held; its record (听证笔录) is a record of the case already uploaded."""
    notice = _open_notice(case, actor)
    today = today or local_today()
    if notice.hearing_requested_on is None:
        raise DomainError(_("Record the party's request for a hearing first."))
    if held_on is None or held_on > today or held_on < notice.hearing_requested_on:
        raise DomainError(_("The hearing date must lie between the request and today."))
    record = db.session.get(Record, record_id) if isinstance(record_id, int) and 0 < record_id < 2**31 else None
    if record is not None and db.session.scalar(select(exists().where(Record.supersedes_id == record.id))):
        record = None  # corrected since: the current version is the one to cite
    if record is None or record.case_id != case.id or record.type_code != "hearing_record":
        raise DomainError(_("Choose the hearing record (听证笔录) uploaded to this case."))
    notice.hearing_held_on, notice.hearing_record_id = held_on, record.id
    audit.record("notice.hearing_held", "notice", notice.id, case.number, actor=actor,
                 after={"hearing_held_on": held_on, "hearing_record": record.original_filename},
                 body_id=case.body_id, case_id=case.id)
    return notice


def notice_problems(case: Case, today: date) -> list[str]:
    """What stops the case from leaving the notice stage: notice, statement, hearing period, hearing."""
    notice = latest_notice(case)
    if notice is None:
        return [_("The notice of the intended decision (告知) has not been recorded (行政处罚法 art. 62).")]
    problems = []
    if not notice.statement_waived and not notice.statement:
        problems.append(_("The party's statement and defence (陈述申辩) is not recorded, nor that the party "
                          "waived it."))
    if notice.hearing_offered and notice.hearing_requested_on is None and today <= notice.hearing_deadline:
        problems.append(_("The party may still ask for a hearing until %(deadline)s (5 working days, 行政处罚法 "
                          "art. 64).", deadline=notice.hearing_deadline.isoformat()))
    if notice.hearing_requested_on is not None and notice.hearing_held_on is None:
        problems.append(_("The party asked for a hearing on %(day)s: hold it and record its hearing record "
                          "(听证笔录).", day=notice.hearing_requested_on.isoformat()))
    return problems


@gate(Stage.NOTICE, Stage.REVIEW)
@gate(Stage.NOTICE, Stage.DECISION)
def _notice_done(case: Case, today: date) -> list[str]:
    return notice_problems(case, today)


def _register_timeline() -> None:
    from flask_babel import lazy_gettext as _l

    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS, VALUE_FORMATTERS
    from .major import decision_type_label

    EVENT_LABELS.update({"notice.recorded": _l("Notice served (告知)"),
                         "notice.statement_recorded": _l("Statement and defence recorded (陈述申辩)"),
                         "notice.hearing_requested": _l("Hearing requested"),
                         "notice.hearing_held": _l("Hearing held (听证)")})
    SHOWN_FIELDS["notice.recorded"] = ("decision_type", "fine_amount", "confiscation_value", "served_on",
                                       "hearing_deadline")
    FIELD_LABELS.update({"decision_type": _l("Decision"), "fine_amount": _l("Fine"),
                         "confiscation_value": _l("Value confiscated"), "served_on": _l("Served on"),
                         "hearing_deadline": _l("Hearing may be asked for until"),
                         "statement": _l("Statement and defence"), "statement_waived": _l("Waived"),
                         "hearing_requested_on": _l("Hearing requested on"), "hearing_held_on": _l("Hearing held on"),
                         "hearing_record": _l("Hearing record")})
    VALUE_FORMATTERS.update({"decision_type": decision_type_label, "fine_amount": money,
                             "confiscation_value": money})


_register_timeline()
