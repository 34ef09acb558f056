"""Screens of service (送达), execution (执行) and the closing self-check (案卷自查).

- The case page's panels "Service", "Execution" and "Self-check before closing"
  (templates/execution/_case_panel.html, included after the challenges panel). The partial computes
  its own data through `execution_panel_for(case)`, a template helper this blueprint provides.
- `execution.case`: the same panels on a page of their own, where a refused form comes back with
  every unmet condition (422), or with the execution as it is now saved (409, a stale version).
- One POST per step, each calling one service: record a service of a document; the party's
  compliance, their statement on the reminder, the plan of the demolition, the head's urgency, the
  start of the demolition (the go/no-go, checked at the moment of the request), its end with the
  audio/video record; the court application and its outcome (land route); a fine payment; the
  self-check.

Thin views: load (404 outside the user's scope), check who may act (403), call one service, commit,
redirect. The rules live in services.serving, services.execution and services.closing. The forms
of the execution carry the version of the execution the user saw (0: none yet), so a concurrent
change is reported, not overwritten. Dates and times are local (Beijing): services.clock.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, IntegerField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice as C  # WTForms 3.3: options as SelectChoice, not tuples
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from ..models import RecordKind, Route, Stage
from ..services import cases as case_service
from ..services import closing, dashboard, execution, serving
from ..services.calendar import CalendarUnknown
from ..services.clock import local_now, local_today
from ..services.errors import Conflict, NotFound
from ..services.permissions import is_head_of
from ..services.records import STAGE_ORDER, current_records, type_label
from ..web import attempt, commit

bp = Blueprint("execution", __name__, url_prefix="/execution")

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
SERVICE_STAGES = (Stage.DECISION, Stage.SERVICE, Stage.EXECUTION)
EXECUTION_STAGES = (Stage.SERVICE, Stage.EXECUTION, Stage.CLOSED, Stage.ARCHIVED)
CLOSING_STAGES = (Stage.SERVICE, Stage.EXECUTION, Stage.CLOSED, Stage.ARCHIVED)
STATE_BADGES = {dashboard.OK: "ok", dashboard.LATE: "warn", dashboard.MISSING: "bad", dashboard.PENDING: "",
                dashboard.NOT_APPLICABLE: ""}


def _user():
    return current_user._get_current_object()


# --- forms (shape only: the services check the rest and answer with every unmet condition) -------------

def _strip(value):
    return value.strip() if isinstance(value, str) else value


STRIP = [_strip]


def _record_id(value):
    """A record chosen in a select: its id, None when none was chosen; anything else cannot be coerced."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    if str(value).isdigit():
        return int(value)
    raise ValueError(value)


def _choose(labels: dict) -> list:
    return [C("", _l("— choose —"))] + [C(code.value, label) for code, label in labels.items()]


def _record_choices(records, *, none_label=None) -> list:
    choices = [C("", none_label or _l("— choose —"))]
    for r in records:
        captured = f" · {r.captured_at.strftime('%Y-%m-%d %H:%M')}" if r.captured_at else ""
        choices.append(C(str(r.id), f"#{r.id} {type_label(r.record_type)} · {r.original_filename}{captured}"))
    return choices


class RecordSelect(SelectField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("coerce", _record_id)
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)


class VersionedForm(FlaskForm):
    """A form changing the execution: it carries the version the user saw (0: there was none yet)."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class ServiceForm(FlaskForm):
    document = SelectField(_l("Document served"), validate_choice=False)
    method = SelectField(_l("Method"), validate_choice=False)
    served_on = DateField(_l("Served on"), validators=[Optional()])
    recipient = StringField(_l("Recipient (who signed for or received it)"), filters=STRIP,
                            validators=[Optional(), Length(max=120)])
    witness = StringField(_l("Witness (留置送达)"), filters=STRIP, validators=[Optional(), Length(max=120)])
    proof_record = RecordSelect(_l("Proof of service (送达回证)"))
    video_record = RecordSelect(_l("Video of the service (optional)"))
    consent_record = RecordSelect(_l("Party's consent to electronic service (optional)"))
    party_present = BooleanField(_l("The party was present and received the decision on the spot"))
    comply_by = DateField(_l("Deadline the reminder sets (for a reminder)"), validators=[Optional()])
    note = TextAreaField(_l("Note"), filters=STRIP, validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, case, **kwargs):
        kwargs.setdefault("prefix", "service")
        super().__init__(*args, **kwargs)
        records = current_records(case)
        self.document.choices = _choose(serving.DOCUMENT_LABELS)
        self.method.choices = _choose(serving.METHOD_LABELS)
        self.proof_record.choices = _record_choices([r for r in records if r.type_code == serving.PROOF_TYPE])
        self.video_record.choices = _record_choices(
            [r for r in records if r.record_type.kind in (RecordKind.VIDEO.value, RecordKind.AUDIO.value)],
            none_label=_l("— none —"))
        self.consent_record.choices = _record_choices(records, none_label=_l("— none —"))


class ComplianceForm(VersionedForm):
    complied_on = DateField(_l("Complied on"), validators=[Optional()])
    record = RecordSelect(_l("Proof of compliance (履行情况证明)"))
    note = TextAreaField(_l("Note"), filters=STRIP, validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, case, **kwargs):
        kwargs.setdefault("prefix", "comply")
        super().__init__(*args, **kwargs)
        self.record.choices = _record_choices([r for r in current_records(case) if r.type_code == "compliance_proof"])


class StatementForm(VersionedForm):
    heard_on = DateField(_l("Heard or waived on"), validators=[Optional()])
    statement = TextAreaField(_l("What the party said (陈述、申辩)"), filters=STRIP,
                              validators=[Optional(), Length(max=8000)])
    waived = BooleanField(_l("The party waived their statement"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "statement")
        super().__init__(*args, **kwargs)


class PlanForm(VersionedForm):
    scheduled_at = DateTimeLocalField(_l("Date and time of the demolition"), format=DATETIME_FORMATS,
                                      validators=[Optional()])
    camera = StringField(_l("Camera (body camera number)"), filters=STRIP, validators=[Optional(), Length(max=120)])
    officers = SelectMultipleField(_l("Officers"), coerce=str, validate_choice=False,
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def __init__(self, *args, case, **kwargs):
        kwargs.setdefault("prefix", "plan")
        super().__init__(*args, **kwargs)
        self.officers.choices = [C(str(u.id), u.name) for u in case_service.officers_of([case.body_id])]


class UrgentForm(VersionedForm):
    reason = TextAreaField(_l("Why the execution cannot wait"), filters=STRIP,
                           validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "urgent")
        super().__init__(*args, **kwargs)


class StartForm(VersionedForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "start")
        super().__init__(*args, **kwargs)


class DoneForm(VersionedForm):
    ended_at = DateTimeLocalField(_l("Ended at"), format=DATETIME_FORMATS, validators=[Optional()])
    av_record = RecordSelect(_l("Audio/video record of the execution (执行现场音像记录)"))
    av_until = DateTimeLocalField(_l("The recording ends at (as shown by the camera)"), format=DATETIME_FORMATS,
                                  validators=[Optional()])

    def __init__(self, *args, case, **kwargs):
        kwargs.setdefault("prefix", "done")
        super().__init__(*args, **kwargs)
        self.av_record.choices = _record_choices([r for r in current_records(case) if r.type_code == "execution_av"])


class CourtForm(VersionedForm):
    applied_on = DateField(_l("Applied on"), validators=[Optional()])
    court_name = StringField(_l("Court"), filters=STRIP, validators=[Optional(), Length(max=120)])
    reference = StringField(_l("The court's case number (optional)"), filters=STRIP,
                            validators=[Optional(), Length(max=80)])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "court")
        super().__init__(*args, **kwargs)


class CourtOutcomeForm(VersionedForm):
    outcome = TextAreaField(_l("What the court decided and how it was carried out"), filters=STRIP,
                            validators=[Optional(), Length(max=4000)])
    outcome_on = DateField(_l("Day of the court's decision"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "court-outcome")
        super().__init__(*args, **kwargs)


class PaymentForm(FlaskForm):
    paid_on = DateField(_l("Paid on"), validators=[Optional()])
    amount = StringField(_l("Amount paid (yuan)"), filters=STRIP, validators=[Optional(), Length(max=20)])
    receipt = RecordSelect(_l("Receipt for the fine (罚款缴纳凭证)"))

    def __init__(self, *args, case, **kwargs):
        kwargs.setdefault("prefix", "payment")
        super().__init__(*args, **kwargs)
        self.receipt.choices = _record_choices([r for r in current_records(case) if r.type_code == "fine_receipt"])


FORMS = {"service": ServiceForm, "comply": ComplianceForm, "statement": StatementForm, "plan": PlanForm,
         "urgent": UrgentForm, "start": StartForm, "done": DoneForm, "court": CourtForm,
         "court_outcome": CourtOutcomeForm, "payment": PaymentForm}
NEEDS_CASE = {"service", "comply", "plan", "done", "payment"}


def _blank(name: str, case, **data):
    kwargs = {"case": case} if name in NEEDS_CASE else {}
    return FORMS[name](formdata=None, **kwargs, **data)


def _posted(name: str, case):
    kwargs = {"case": case} if name in NEEDS_CASE else {}
    return FORMS[name](**kwargs)


# --- words ----------------------------------------------------------------------------------------------

def decision_service_words(state: serving.DecisionService, today: date) -> tuple[str, str]:
    """The service of the decision in force in words, with the badge class."""
    due = state.due_on.isoformat() if state.due_on else ""
    if state.state == "served":
        text = _("Served on %(day)s, in time (due by %(due)s).", day=state.service.served_on.isoformat(), due=due)
        badge = "ok"
    elif state.state == "late":
        text = _("Served late on %(day)s: it was due by %(due)s.", day=state.service.served_on.isoformat(), due=due)
        badge = "warn"
    elif state.state == "pending":
        left = (state.due_on - today).days
        text = (_("Not served yet: due today (%(due)s).", due=due) if left == 0 else
                ngettext("Not served yet: due by %(due)s, %(num)d day left.",
                         "Not served yet: due by %(due)s, %(num)d days left.", left, due=due))
        badge = "warn" if left <= 2 else ""
    elif state.state == "overdue":
        late = (today - state.due_on).days
        text = ngettext("Not served and overdue: it was due by %(due)s, %(num)d day ago.",
                        "Not served and overdue: it was due by %(due)s, %(num)d days ago.", late, due=due)
        badge = "bad"
    else:
        return _("There is no decision in force to serve."), ""
    if state.service is not None and state.service.deemed_served_on != state.service.served_on:
        text += " " + _("As a public notice it counts as served on %(day)s.",
                        day=state.service.deemed_served_on.isoformat())
    if not state.exact:
        text += " " + _("(The working-day calendar does not cover these days yet: the due date is counted in "
                        "calendar days.)")
    return text, badge


STATE_WORDS = {"served": _l("served"), "late": _l("served late"), "pending": _l("pending"),
               "overdue": _l("overdue"), "not_applicable": _l("no decision")}


def _label(labels: dict):
    def label(code):
        for key, value in labels.items():
            if getattr(key, "value", key) == code:
                return str(value)
        return code or ""
    return label


def _helpers() -> dict:
    return {"document_label": _label(serving.DOCUMENT_LABELS), "method_label": _label(serving.METHOD_LABELS),
            "check_state_label": _label(dashboard.STATE_LABELS), "state_badges": STATE_BADGES,
            "state_words": STATE_WORDS}


# --- the panel ------------------------------------------------------------------------------------------

def _stage_in(case, stages) -> bool:
    return Stage(case.stage) in stages


def _safe(problems: list[str], compute, *, unmet: bool = False):
    """compute(), or, when the working-day calendar does not cover a year it needs, None (or that reason
    as the list of unmet conditions) with the reason added to `problems`."""
    try:
        return compute()
    except CalendarUnknown as exc:
        if exc.message not in problems:
            problems.append(exc.message)
        return [exc.message] if unmet else None


def case_panel(case, user, today: date, *, forms: dict | None = None) -> dict:
    """What the three panels show, and the forms the user may use (a refused form as it was posted)."""
    forms = dict(forms or {})
    stage_index = STAGE_ORDER.index(Stage(case.stage))
    row = execution.execution_of(case)
    version = row.version if row is not None else 0

    def form(name: str, **data):
        if name in forms:
            return forms[name]
        if name in FORMS and issubclass(FORMS[name], VersionedForm):
            data.setdefault("version", version)
        return _blank(name, case, **data)

    # Service.
    service = None
    if stage_index >= STAGE_ORDER.index(Stage.DECISION):
        state = serving.decision_service(case, today)
        words, badge = decision_service_words(state, today)
        may = serving.can_record(user, case) and _stage_in(case, SERVICE_STAGES)
        service_form = form("service", served_on=today) if may else None
        service = {"state": state, "words": words, "badge": badge, "rows": serving.services_of(case),
                   "form": service_form,
                   "no_proof": service_form is not None and len(service_form.proof_record.choices) <= 1}

    # Execution.
    panel = None
    if _stage_in(case, EXECUTION_STAGES):
        acting = execution.can_act(user, case)
        in_service_or_execution = _stage_in(case, (Stage.SERVICE, Stage.EXECUTION))
        in_execution = case.stage == Stage.EXECUTION.value
        problems: list[str] = []  # what could not be worked out (a year the working-day calendar lacks)
        fine = _safe(problems, lambda: execution.fine_state(case, today))
        panel = {"row": row, "acting": acting, "fine": fine, "payments": execution.payments_of(case) if fine else [],
                 "forced": execution.is_forced_demolition(case), "land": case.route == Route.LAND.value,
                 "head": is_head_of(user, case.body_id), "forms": {}, "problems": problems}
        forms_out = panel["forms"]
        complied = row is not None and row.complied_on is not None
        to_comply = panel["to_comply"] = execution.needs_compliance(case)
        if acting and in_service_or_execution and not complied and to_comply:
            forms_out["comply"] = form("comply", complied_on=today)
        if acting and fine is not None and in_service_or_execution and not fine.settled:
            forms_out["payment"] = form("payment", paid_on=today)
        if panel["forced"]:
            at = row.scheduled_at if row is not None else None
            # Never "every condition met" by accident: a condition that cannot be checked is unmet.
            panel["unmet"] = _safe(problems, lambda: execution.demolition_unmet(case, today, at=at), unmet=True)
            panel["coverage"] = execution.av_coverage_problems(row) if row is not None and row.ended_at else []
            started = row is not None and row.started_at is not None
            if acting and in_execution and not complied:
                forms_out["statement"] = form("statement", heard_on=today)
                if not started:
                    forms_out["plan"] = form("plan", scheduled_at=row.scheduled_at if row else None,
                                             camera=row.camera if row else "",
                                             officers=[str(u.id) for u in row.officers] if row else
                                             [str(o.user_id) for o in case.active_officers])
                    forms_out["start"] = form("start")
                elif row.ended_at is None or panel["coverage"]:
                    forms_out["done"] = form("done")
            if panel["head"] and in_execution and not started and not complied:
                forms_out["urgent"] = form("urgent", reason=row.urgent_reason if row else "")
        if panel["land"] or (row is not None and row.court_applied_on is not None):
            panel["window"] = _safe(problems, lambda: execution.court_window(case)) or execution.CourtWindow(
                None, None, list(problems))
            if acting and in_execution and not complied:
                if row is None or row.court_applied_on is None:
                    forms_out["court"] = form("court", applied_on=today)
                elif not row.court_outcome:
                    forms_out["court_outcome"] = form("court_outcome", outcome_on=today)

    # Closing.
    closing_panel = None
    if _stage_in(case, CLOSING_STAGES):
        checks = closing.self_checks_of(case)
        closing_panel = {"latest": checks[-1] if checks else None, "history": list(reversed(checks)),
                         "can_run": closing.can_self_check(user, case) and _stage_in(case, closing.CHECKABLE)}

    return {"service": service, "execution": panel, "closing": closing_panel, "today": today,
            "service_days": serving.DECISION_SERVICE_DAYS, **_helpers()}


@bp.app_context_processor
def panel_helper():
    """`execution_panel_for(case)` for the case page's partial, which then needs nothing passed."""
    def execution_panel_for(case):
        return case_panel(case, _user(), local_today())
    return {"execution_panel_for": execution_panel_for}


# --- loading, refusing, answering -----------------------------------------------------------------------

def _case(case_id: int):
    try:
        return case_service.get_case(_user(), case_id)
    except NotFound:
        abort(404)


def _page(case, *, forms=None, refused=(), refused_title=None, conflict=False, status: int = 200):
    panel = case_panel(case, _user(), local_today(), forms=forms)
    return render_template("execution/case.html", case=case, execution_panel=panel, refused=list(refused),
                           refused_title=refused_title, conflict=conflict, posted=list((forms or {}).values())), status


def _to_case(case_id: int, anchor: str):
    return redirect(url_for("cases.show", case_id=case_id, _anchor=anchor))


def _version(case, form) -> int | None:
    """The version the form was made from; 0 means the page showed no execution, so one made meanwhile
    is a conflict too."""
    value = form.version.data or 0
    if value == 0:
        if execution.execution_of(case) is not None:
            raise Conflict(_("Someone else changed the execution of this case meanwhile; reload the page and try "
                             "again."))
        return None
    return value


def _act(case, name: str, allowed: bool, call, *, title, anchor: str, done_message):
    """The common path of a POST: 403, the form's shape (422), the service (422 / 409), commit, redirect."""
    if not allowed:
        abort(403)
    form = _posted(name, case)
    if not form.validate_on_submit():
        return _page(case, forms={name: form}, status=422)
    made: dict = {}
    refused, conflict = attempt(lambda: made.setdefault("row", call(form)))
    if refused:
        if isinstance(form, VersionedForm):
            row = execution.execution_of(case)
            form.version.data = row.version if row is not None else 0
            form.version.raw_data = None
        return _page(case, forms={name: form}, refused=refused, refused_title=title, conflict=conflict,
                     status=409 if conflict else 422)
    commit()
    message = done_message(made["row"]) if callable(done_message) else done_message
    flash(message, "success")
    return _to_case(case.id, anchor)


# --- the screens ----------------------------------------------------------------------------------------

@bp.route("/cases/<int:case_id>")
@login_required
def case(case_id: int):
    return _page(_case(case_id))


@bp.post("/cases/<int:case_id>/service")
@login_required
def service(case_id: int):
    """Record one service of a document with its proof (送达回证)."""
    case_ = _case(case_id)

    def call(form: ServiceForm):
        return serving.record_service(
            case_, actor=_user(), document=form.document.data or "", method=form.method.data or "",
            served_on=form.served_on.data, proof_record_id=form.proof_record.data, recipient=form.recipient.data or "",
            witness=form.witness.data or "", video_record_id=form.video_record.data,
            consent_record_id=form.consent_record.data, party_present=form.party_present.data,
            note=form.note.data or "", comply_by=form.comply_by.data, today=local_today())

    def done(row):
        return _("Service recorded: %(document)s, %(method)s, on %(day)s.", document=serving.document_label(row.document),
                 method=serving.method_label(row.method), day=row.served_on.isoformat())

    return _act(case_, "service", serving.can_record(_user(), case_), call, anchor="service", done_message=done,
                title=_("The service was not recorded. Unmet conditions:"))


@bp.post("/cases/<int:case_id>/compliance")
@login_required
def compliance(case_id: int):
    """The party carried out the decision of their own accord."""
    case_ = _case(case_id)

    def call(form: ComplianceForm):
        return execution.record_compliance(case_, actor=_user(), complied_on=form.complied_on.data,
                                           record_id=form.record.data, note=form.note.data or "",
                                           version=_version(case_, form), today=local_today())

    return _act(case_, "comply", execution.can_act(_user(), case_), call, anchor="execution",
                done_message=_("The party's compliance is recorded."),
                title=_("The compliance was not recorded. Unmet conditions:"))


@bp.post("/cases/<int:case_id>/statement")
@login_required
def statement(case_id: int):
    """The party's statement and defence on the reminder (行政强制法 art. 36), or its waiver."""
    case_ = _case(case_id)

    def call(form: StatementForm):
        return execution.record_statement(case_, actor=_user(), heard_on=form.heard_on.data,
                                          statement=form.statement.data or "", waived=form.waived.data,
                                          version=_version(case_, form), today=local_today())

    return _act(case_, "statement", execution.can_act(_user(), case_), call, anchor="execution",
                done_message=_("The party's statement is recorded."),
                title=_("The statement was not recorded. Unmet conditions:"))


@bp.post("/cases/<int:case_id>/plan")
@login_required
def plan(case_id: int):
    """Schedule the forced demolition: when, which officers, which camera."""
    case_ = _case(case_id)

    def call(form: PlanForm):
        return execution.plan_demolition(case_, actor=_user(), scheduled_at=form.scheduled_at.data,
                                         camera=form.camera.data or "", officer_ids=form.officers.data or [],
                                         version=_version(case_, form), today=local_today())

    return _act(case_, "plan", execution.can_act(_user(), case_), call, anchor="demolition",
                done_message=lambda row: _("The demolition is planned for %(at)s.",
                                           at=row.scheduled_at.strftime("%Y-%m-%d %H:%M")),
                title=_("The plan was not saved. Unmet conditions:"))


@bp.post("/cases/<int:case_id>/urgent")
@login_required
def urgent(case_id: int):
    """The head allows the execution at night or on a holiday, for a reason (行政强制法 art. 43)."""
    case_ = _case(case_id)

    def call(form: UrgentForm):
        return execution.mark_urgent(case_, actor=_user(), reason=form.reason.data or "",
                                     version=_version(case_, form))

    return _act(case_, "urgent", is_head_of(_user(), case_.body_id) and case_.stage != Stage.ARCHIVED.value, call,
                anchor="demolition", done_message=_("The execution is marked urgent."),
                title=_("The execution was not marked urgent. Unmet conditions:"))


@bp.post("/cases/<int:case_id>/start")
@login_required
def start(case_id: int):
    """Start the demolition now: every condition is checked at this moment, local time."""
    case_ = _case(case_id)

    def call(form: StartForm):
        now = local_now().replace(microsecond=0)
        return execution.start_demolition(case_, actor=_user(), started_at=now, version=_version(case_, form),
                                          today=now.date())

    return _act(case_, "start", execution.can_act(_user(), case_), call, anchor="demolition",
                done_message=lambda row: _("The demolition started at %(at)s.",
                                           at=row.started_at.strftime("%Y-%m-%d %H:%M")),
                title=_("The demolition may not start. Unmet conditions:"))


@bp.post("/cases/<int:case_id>/finished")
@login_required
def finished(case_id: int):
    """The end of the demolition with its full audio/video record."""
    case_ = _case(case_id)

    def call(form: DoneForm):
        return execution.record_demolition_done(case_, actor=_user(), ended_at=form.ended_at.data,
                                                av_record_id=form.av_record.data, av_until=form.av_until.data,
                                                version=_version(case_, form))

    return _act(case_, "done", execution.can_act(_user(), case_), call, anchor="demolition",
                done_message=_("The end of the demolition is recorded with its audio/video record."),
                title=_("The end of the demolition was not recorded. Unmet conditions:"))


@bp.post("/cases/<int:case_id>/court")
@login_required
def court(case_id: int):
    """The application to the court for enforcement (land route, 行政强制法 art. 53–55)."""
    case_ = _case(case_id)

    def call(form: CourtForm):
        return execution.record_court_application(case_, actor=_user(), applied_on=form.applied_on.data,
                                                  court_name=form.court_name.data or "",
                                                  reference=form.reference.data or "",
                                                  version=_version(case_, form), today=local_today())

    return _act(case_, "court", execution.can_act(_user(), case_), call, anchor="court",
                done_message=_("The application to the court is recorded."),
                title=_("The application was not recorded. Unmet conditions:"))


@bp.post("/cases/<int:case_id>/court-outcome")
@login_required
def court_outcome(case_id: int):
    case_ = _case(case_id)

    def call(form: CourtOutcomeForm):
        return execution.record_court_outcome(case_, actor=_user(), outcome=form.outcome.data or "",
                                              outcome_on=form.outcome_on.data, version=_version(case_, form),
                                              today=local_today())

    return _act(case_, "court_outcome", execution.can_act(_user(), case_), call, anchor="court",
                done_message=_("The court's decision is recorded."),
                title=_("The court's decision was not recorded. Unmet conditions:"))


@bp.post("/cases/<int:case_id>/payment")
@login_required
def payment(case_id: int):
    """A payment of the fine (and of its late penalty), with its receipt."""
    case_ = _case(case_id)

    def call(form: PaymentForm):
        return execution.record_payment(case_, actor=_user(), paid_on=form.paid_on.data, amount=form.amount.data or "",
                                        receipt_record_id=form.receipt.data, today=local_today())

    def done(row):
        state = execution.fine_state(case_, local_today())
        outstanding = max(state.outstanding, 0) if state else 0
        return _("Payment of %(amount)s yuan recorded; %(outstanding)s yuan outstanding.", amount=f"{row.amount:.2f}",
                 outstanding=f"{outstanding:.2f}")

    return _act(case_, "payment", execution.can_act(_user(), case_), call, anchor="fine", done_message=done,
                title=_("The payment was not recorded. Unmet conditions:"))


@bp.post("/cases/<int:case_id>/self-check")
@login_required
def self_check(case_id: int):
    """Run the 案卷自查 and keep its result, passed or not."""
    case_ = _case(case_id)
    user = _user()
    if not closing.can_self_check(user, case_):
        abort(403)
    made: dict = {}
    refused, _conflict = attempt(lambda: made.setdefault("row", closing.run_self_check(case_, actor=user,
                                                                                         today=local_today())))
    if refused:
        return _page(case_, refused=refused, refused_title=_("The self-check was not run:"), status=422)
    commit()
    row = made["row"]
    if row.passed:
        flash(_("The self-check passed: the case file is complete."), "success")
    else:
        flash(ngettext("The self-check found %(num)d problem: see the findings below.",
                       "The self-check found %(num)d problems: see the findings below.", len(row.finding_list)),
              "warning")
    return _to_case(case_.id, "closing")
