"""Case screens: the list, filing (立案), the case page and the actions on a case.

Thin views: parse the form, check the permission (services.permissions), call one service,
commit, redirect. The rules — gates, masking, who may do what — live in the services.
"""
from __future__ import annotations


from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..forms.cases import (AdvanceForm, ApproveFilingForm, AssignOfficerForm, CaseFilterForm, FilingForm,
                           MarkComplexForm, RemoveOfficerForm)
from ..forms.decisions import ExtensionForm, HearingForm, HearingRequestForm, StatementForm
from ..models import Case, Matter, ReviewStatus, Stage
from ..services import access
from ..services import cases as case_service
from ..services import catalogue, people, workflow
from ..services import decisions as decision_service
from ..services import notice as notice_service
from ..services import records as record_service
from ..services import review as review_service
from ..services.cases import CaseFilter, PartyData
from ..services.errors import DomainError, GateRefused, NotFound, PermissionDenied
from ..services.major import decision_type_label, latest_notice, major_reasons, money, outside_band
from ..services.permissions import (can_advance_case, can_approve_filing, can_edit_case, can_file_case,
                                    case_scope, is_head_of)
from ..web import commit, flash_refusal
from ..services.clock import local_today

bp = Blueprint("cases", __name__, url_prefix="/cases")

# The stage a case is returned to is a step back: say why.
BACKWARD = {(Stage.REVIEW, Stage.INVESTIGATION)}


# --- the list -----------------------------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    scope = case_scope(current_user)
    if not scope:
        abort(403)
    matters = [m for body_id in sorted(scope) for m in catalogue.matters_of(body_id, include_inactive=True)]
    officers = case_service.officers_of(scope, active_only=False)
    form = CaseFilterForm(request.args, matters=matters, officers=officers)
    form.validate()  # a bad filter value is shown beside its field and ignored

    def valid(field):
        return None if field.errors else field.data

    flt = CaseFilter(stage=valid(form.stage) or None, matter_id=valid(form.matter), officer_id=valid(form.officer),
                     overdue=bool(valid(form.overdue)), q=(valid(form.q) or "").strip() or None)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    today = local_today()
    rows, has_next = case_service.list_cases(current_user, flt, page=page,
                                             per_page=current_app.config["CASES_PER_PAGE"], today=today)
    args = {k: v for k, v in request.args.items() if k not in ("page", "lang") and v not in ("", None)}
    return render_template(
        "cases/index.html", form=form, rows=rows, page=page, today=today,
        prev_url=url_for("cases.index", **args, page=page - 1) if page > 1 else None,
        next_url=url_for("cases.index", **args, page=page + 1) if has_next else None,
        filtered=bool(args), lead_officer=case_service.lead_officer, is_overdue=case_service.is_overdue)


# --- filing -------------------------------------------------------------------------------------

def _filing_form() -> FilingForm:
    body_id = current_user.body_id
    return FilingForm(matters=catalogue.matters_of(body_id), officers=case_service.officers_of([body_id]))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if not can_file_case(current_user):
        abort(403)
    form = _filing_form()
    if request.method == "GET" and not form.officers.data:
        form.officers.data = [current_user.id]  # the officer filing usually handles the case
    unmet: list[str] = []
    if form.validate_on_submit():
        matter = db.session.get(Matter, form.matter.data)
        try:
            case = case_service.file_case(
                actor=current_user, body=current_user.body, matter=matter, route=form.route.data or None,
                source=form.source.data, source_detail=form.source_detail.data or "",
                party=PartyData(kind=form.party_kind.data, name=form.party_name.data,
                                id_number=(form.party_id_number.data or "").upper(),
                                phone=form.party_phone.data or "", address=form.party_address.data or "",
                                is_minor=form.party_is_minor.data),
                village=form.village.data, place_detail=form.place_detail.data or "", summary=form.summary.data,
                act_began_on=form.act_began_on.data, act_ended_on=form.act_ended_on.data,
                discovered_on=form.discovered_on.data, filed_on=form.filed_on.data,
                officer_ids=form.officers.data, lead_officer_id=form.lead_officer.data,
                limitation_years=current_app.config["LIMITATION_YEARS"])
        except GateRefused as exc:
            db.session.rollback()
            unmet = exc.unmet
        else:
            commit()
            flash(_("Case %(number)s was filed. It now waits for the head's filing approval (立案审批).",
                    number=case.number), "success")
            return redirect(url_for("cases.show", case_id=case.id))
    status = 422 if request.method == "POST" else 200
    return render_template("cases/new.html", form=form, unmet=unmet), status


# --- the case page ----------------------------------------------------------------------------

@bp.route("/<int:case_id>")
@login_required
def show(case_id: int):
    case = case_service.get_case(current_user, case_id)
    today = local_today()
    user = current_user._get_current_object()
    if access.log_personal_data_view(user, case, access.CASE_PAGE): commit()  # noqa: E701 - who looked
    editable = can_edit_case(user, case)
    category = case.matter.enforcement_category

    officers = []
    for row in case.officers:
        cert = people.certificate_for(row.user, today, category=category, body=case.body)
        problem = None if cert else people.certificate_problem(row.user, today, category=category, body=case.body)
        officers.append({"row": row, "user": row.user, "certificate": cert, "problem": problem})

    steps = []
    if case.stage == Stage.FILING.value:
        approval = {"unmet": case_service.approval_unmet(case, today=today),
                    "allowed": can_approve_filing(user, case)}
    else:
        approval = None
        for target in workflow.next_stages(case):
            steps.append(_step(case, user, target, today))

    forms = {}
    if editable:  # the buttons of the other actions are plain forms in the template
        on_case = {o.user_id for o in case.active_officers}
        candidates = [u for u in case_service.officers_of([case.body_id]) if u.id not in on_case]
        forms = {"assign": AssignOfficerForm(formdata=None, candidates=candidates),
                 "complex": MarkComplexForm(formdata=None, reason=case.complex_reason)}

    return render_template(
        "cases/show.html", case=case, today=today, editable=editable, can_advance=can_advance_case(user, case),
        contact=case_service.party_contact(case, user), officers=officers, approval=approval, steps=steps,
        forms=forms, major=major_reasons(case), days_left=case_service.days_to_decision(case, today),
        overdue=case_service.is_overdue(case, today), lead=case_service.lead_officer(case),
        route_label=case_service.route_label(case.route), source_label=case_service.source_label(case.source),
        party_kind_label=case_service.party_kind_label(case.party_kind), stages=list(Stage),
        current_index=list(Stage).index(case.stage_enum), timeline=case_service.case_timeline(case),
        records=_records_panel(case, user), notice=_notice_panel(case, editable, today),
        review=_review_panel(case, user), decision=_decision_panel(case, user, today, steps),
        publications=_publications_panel(case, user, today), type_label=decision_type_label, money=money)


def _publications_panel(case, user, today) -> dict:
    from .disclosure import case_panel  # the disclosure screens own the panel

    return case_panel(case, user, today)


def _records_panel(case, user) -> dict:
    rows = record_service.case_records(case)
    return {"rows": rows, "replaced": record_service.superseded_ids(rows), "checklist": record_service.checklist(case),
            "available": record_service.store_available(), "can_add": record_service.can_add_record(user, case),
            "type_label": record_service.type_label,
            "post_decision": decision_service.post_decision_ids(case, rows)}


# The moves a plain button no longer makes: each has its own form, where it is signed.
FORM_STEPS = {(Stage.NOTICE, Stage.REVIEW), (Stage.NOTICE, Stage.DECISION), (Stage.REVIEW, Stage.DECISION),
              (Stage.REVIEW, Stage.INVESTIGATION)}


def _step(case, user, target: Stage, today) -> dict:
    """One next step: a plain move, or the link to the form that makes it, with its unmet conditions."""
    move = (case.stage_enum, target)
    step = {"target": target, "label": workflow.stage_label(target), "backward": move in BACKWARD,
            "via_form": move in FORM_STEPS, "form": None, "allowed": False}
    if move not in FORM_STEPS:
        step["unmet"] = workflow.unmet(case, target, today=today)
        return step
    if target == Stage.REVIEW:
        step.update(form="review.submit", allowed=_may_submit_review(user, case),
                    unmet=workflow.unmet(case, target, today=today, skip=(review_service.submitted_for_review,)))
    elif target == Stage.DECISION:
        step.update(form="decisions.decide", allowed=is_head_of(user, case.body_id), unmet=_decision_unmet(case, today))
    else:  # back to investigation: only the reviewer's return does it, on the review form
        pending = review_service.latest_request(case)
        step.update(form="review.show" if pending is not None and pending.status == ReviewStatus.PENDING.value
                    else None, request=pending, unmet=None)
    return step


def _may_submit_review(user, case) -> bool:
    """The submit button: an officer on the case (not auxiliary staff), after the notice, nothing pending."""
    if not review_service.is_handling_officer(user, case):
        return False
    latest = review_service.latest_request(case)
    return case.stage in (Stage.NOTICE.value, Stage.REVIEW.value) and not (
        latest is not None and latest.status == ReviewStatus.PENDING.value)


def _band_for(case, plan, passed) -> int | None:
    """The band the decision form starts from: the one the review passed, else the only one the fine fits."""
    if passed is not None:
        return passed.discretion_band_id
    bands = [b for b in case.matter.discretion_bands if b.active]
    if plan is None or plan.fine_amount is None:
        return None
    fitting = [b.id for b in bands if (b.fine_min is not None or b.fine_max is not None)
               and not outside_band(b, plan.fine_amount)]
    return fitting[0] if len(fitting) == 1 else None


def _decision_unmet(case, today) -> list[str]:
    """What stops the head from signing the decision now, for the proposal the form starts from."""
    plan = decision_service.proposal_for(case)
    if plan is None:
        return workflow.unmet(case, Stage.DECISION, today=today, skip=(decision_service.decision_signed,))
    passed = _passed(case)
    # The performance is written on the form itself: not counted as missing here.
    return decision_service.decision_problems(
        case, plan, discretion_band_id=_band_for(case, plan, passed),
        outside_band_reason=passed.outside_band_reason if passed is not None else "", performance="-", today=today)


def _passed(case):
    latest = review_service.latest_request(case)
    return latest if latest is not None and latest.status == ReviewStatus.PASSED.value else None


def _notice_panel(case, editable: bool, today) -> dict:
    """告知/听证: the latest notice, what it still lacks, and the forms of the notice stage."""
    notice = latest_notice(case)
    in_notice = case.stage == Stage.NOTICE.value
    hearing_records = [r for r in record_service.current_records(case) if r.type_code == "hearing_record"]
    forms = {}
    if editable and in_notice and notice is not None:
        forms["statement"] = StatementForm(formdata=None, statement=notice.statement, waived=notice.statement_waived)
        if notice.hearing_offered and notice.hearing_requested_on is None:
            forms["hearing_request"] = HearingRequestForm(formdata=None)
        if notice.hearing_requested_on is not None and notice.hearing_held_on is None and hearing_records:
            forms["hearing"] = HearingForm(formdata=None, records=hearing_records)
    return {"notice": notice, "in_notice": in_notice, "can_record": editable and in_notice, "forms": forms,
            "problems": notice_service.notice_problems(case, today) if in_notice else [],
            "deadline_passed": bool(notice and notice.hearing_deadline and today > notice.hearing_deadline),
            "needs_hearing_record": bool(notice and notice.hearing_requested_on and not notice.hearing_held_on
                                         and not hearing_records)}


def _review_panel(case, user) -> dict:
    """法制审核: major or not and why, the requests and their outcomes, discussions and lent reviewers."""
    requests = review_service.requests_of(case)  # newest first
    latest = requests[0] if requests else None
    returned = latest if latest is not None and latest.status in (ReviewStatus.RETURNED.value,
                                                                  ReviewStatus.FAILED.value) else None
    head = is_head_of(user, case.body_id)
    open_case = case.stage in case_service.OPEN_STAGES
    return {
        "requests": requests, "latest": latest, "returned": returned,
        "returned_problems": [(review_service.check_label(r["code"]), r["note"]) for r in returned.check_rows
                              if not r["ok"]] if returned is not None else [],
        "stale": latest is not None and latest.status == ReviewStatus.PASSED.value and review_service.is_stale(latest),
        "can_submit": _may_submit_review(user, case), "dispute": review_service.open_dispute(case),
        "discussions": review_service.discussions_of(case), "assignments": review_service.assignments_of(case),
        "head": head, "can_discuss": head and open_case,
        "candidates": review_service.lendable_reviewers(case) if head and open_case else [],
        "outcome_label": review_service.outcome_label,
    }


def _decision_panel(case, user, today, steps) -> dict:
    """决定: the 90-day limit and its extensions, the decision in force and the ones it replaced."""
    chain = decision_service.decisions_of(case)
    head = is_head_of(user, case.body_id)
    open_case = case.stage in case_service.OPEN_STAGES
    can_decide = head and case.stage in decision_service.OPEN_FOR_DECISION and not chain
    known = next((s["unmet"] for s in steps if s["target"] == Stage.DECISION), None)  # the next step's, if shown
    return {
        "chain": chain, "current": decision_service.current_decision(case),
        "replaced_by": {d.replaces_id: d for d in chain if d.replaces_id},
        "bands": {b.id: b for b in case.matter.discretion_bands}, "band_range": review_service.band_range,
        "extensions": decision_service.extensions_of(case), "head": head, "can_decide": can_decide,
        "unmet": known if known is not None else (_decision_unmet(case, today) if can_decide else []),
        "extension_form": ExtensionForm(formdata=None) if head and open_case else None,
    }


# --- actions on a case -----------------------------------------------------------------------------

def _load(case_id: int, allowed) -> Case:
    """The case (404 outside the user's scope) after the permission check (403)."""
    case = case_service.get_case(current_user, case_id)
    if not allowed(current_user, case):
        abort(403)
    return case


def _to_case(case_id: int):
    return redirect(url_for("cases.show", case_id=case_id))


def _accepted(form, case: Case) -> bool:
    """The form is complete and was made from the case as it is now; otherwise say why (flash)."""
    if not form.validate_on_submit():
        for field in form:
            for error in field.errors:
                flash(error if field.name in ("version", "target") else f"{field.label.text}: {error}", "error")
        return False
    if form.version.data != case.version:
        flash(_("Someone else changed this case in the meantime. Check the page as it is now and try again."),
              "error")
        return False
    return True


def _run(case_id: int, action, success: str):
    """Call one service; commit and flash success, or flash the refusal with every unmet condition."""
    try:
        action()
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        db.session.rollback()
        flash_refusal(exc)
    else:
        commit()
        flash(success, "success")
    return _to_case(case_id)


@bp.route("/<int:case_id>/approve", methods=["POST"])
@login_required
def approve(case_id: int):
    case = _load(case_id, can_approve_filing)
    form = ApproveFilingForm()
    if not _accepted(form, case):
        return _to_case(case_id)
    return _run(case_id, lambda: case_service.approve_filing(case, actor=current_user),
                _("Filing of %(number)s approved; the case is now in investigation.", number=case.number))


@bp.route("/<int:case_id>/advance", methods=["POST"])
@login_required
def advance(case_id: int):
    case = _load(case_id, can_advance_case)
    form = AdvanceForm()
    if not _accepted(form, case):
        return _to_case(case_id)
    target = Stage(form.target.data)
    return _run(case_id,
                lambda: workflow.advance(case, target, actor=current_user, reason=(form.reason.data or "").strip()),
                _("%(number)s moved to %(stage)s.", number=case.number, stage=workflow.stage_label(target)))


@bp.route("/<int:case_id>/officers", methods=["POST"])
@login_required
def assign_officer(case_id: int):
    case = _load(case_id, can_edit_case)
    on_case = {o.user_id for o in case.active_officers}
    form = AssignOfficerForm(candidates=[u for u in case_service.officers_of([case.body_id]) if u.id not in on_case])
    if not _accepted(form, case):
        return _to_case(case_id)
    user = people.get_user(form.user_id.data)
    return _run(case_id, lambda: case_service.assign_officer(case, user, actor=current_user),
                _("%(name)s is now an officer on the case.", name=user.name))


@bp.route("/<int:case_id>/officers/remove", methods=["POST"])
@login_required
def remove_officer(case_id: int):
    case = _load(case_id, can_edit_case)
    form = RemoveOfficerForm()
    if not _accepted(form, case):
        return _to_case(case_id)
    row = next((o for o in case.active_officers if o.user_id == form.user_id.data), None)
    if row is None:
        flash(_("That person is not on the case."), "error")
        return _to_case(case_id)
    return _run(case_id,
                lambda: case_service.remove_officer(case, row.user, actor=current_user, reason=form.reason.data),
                _("%(name)s was taken off the case.", name=row.user.name))


@bp.route("/<int:case_id>/complex", methods=["POST"])
@login_required
def mark_complex(case_id: int):
    case = _load(case_id, can_edit_case)
    form = MarkComplexForm()
    if not _accepted(form, case):
        return _to_case(case_id)
    return _run(case_id, lambda: case_service.mark_complex(case, actor=current_user, reason=form.reason.data),
                _("The case is marked complex: its decision needs legal review."))
