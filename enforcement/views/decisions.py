"""Notice, hearing and decision screens: the notice (告知), the statement, the hearing, the head's decision.

Thin views: parse the form, check the permission (404 outside the user's scope, then 403), call
one service, commit, redirect. The conditions of the law — the 5 working days, the review of
exactly this dossier, the notice's ceiling, the 90 days — are the services'; a refusal lists
every unmet condition (422 on the form pages, a flash on the case page).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..forms.decisions import (DecisionForm, ExtensionForm, HearingForm, HearingRequestForm, NoticeForm, ReplaceForm,
                               StatementForm)
from ..models import Decision, DecisionKind, DiscretionBand, ReviewStatus
from ..services import cases as case_service
from ..services import decisions as decision_service
from ..services import notice as notice_service
from ..services import records as record_service
from ..services import review as review_service
from ..services.clock import local_today
from ..services.errors import DomainError, GateRefused, NotFound, PermissionDenied
from ..services.major import decision_type_label, latest_notice, major_reasons, money
from ..services.permissions import can_edit_case, is_head_of
from ..web import attempt, commit
from .cases import _accepted, _load, _run

bp = Blueprint("decisions", __name__)


def _is_head(user, case) -> bool:
    return is_head_of(user, case.body_id)


def _to_case(case_id: int, anchor: str):
    return redirect(url_for("cases.show", case_id=case_id, _anchor=anchor))


def _stale_version(form, case) -> str | None:
    """The page was made from an older state of the case: say so, and let the user resubmit."""
    if form.version.data == case.version:
        return None
    form.version.data = case.version
    return _("Someone else changed this case in the meantime. Check the page as it is now and try again.")


def _attempt(action) -> list[str]:
    """Call one service; on a refusal roll back and return every unmet condition (empty: done)."""
    return attempt(action)[0]


def hearing_records(case) -> list:
    """The case's current hearing records (听证笔录), for the hearing form's select."""
    return [r for r in record_service.current_records(case) if r.type_code == "hearing_record"]


def band_label(band: DiscretionBand) -> str:
    return f"{band.circumstance} · {review_service.band_range(band)}"


# --- the notice (告知) --------------------------------------------------------------------------

@bp.route("/cases/<int:case_id>/notice", methods=["GET", "POST"])
@login_required
def notice(case_id: int):
    case = _load(case_id, can_edit_case)
    form = NoticeForm()
    if not form.is_submitted():
        form.version.data = case.version
        form.legal_basis.data = form.legal_basis.data or case.matter.legal_basis
    refused: list[str] = []
    if form.validate_on_submit():
        stale = _stale_version(form, case)
        if stale:
            refused = [stale]
        else:
            made = {}
            refused = _attempt(lambda: made.setdefault("notice", notice_service.record_notice(
                case, actor=current_user, decision_type=form.decision_type.data, fine_amount=form.fine_amount.data,
                confiscation_value=form.confiscation_value.data, content=form.content.data,
                legal_basis=form.legal_basis.data, served_on=form.served_on.data,
                service_method=form.service_method.data or "", hearing_offered=form.hearing_offered.data)))
            if not refused:
                commit()
                row = made["notice"]
                if row.hearing_deadline:
                    flash(_("The notice is recorded. The party may ask for a hearing until %(day)s (5 working days, "
                            "行政处罚法 art. 64).", day=row.hearing_deadline.isoformat()), "success")
                else:
                    flash(_("The notice is recorded."), "success")
                return _to_case(case.id, "notice")
    status = 422 if form.is_submitted() else 200
    return render_template("decisions/notice.html", case=case, form=form, refused=refused,
                           notice=latest_notice(case), today=local_today(),
                           type_label=decision_type_label, money=money), status


@bp.route("/cases/<int:case_id>/notice/statement", methods=["POST"])
@login_required
def statement(case_id: int):
    case = _load(case_id, can_edit_case)
    form = StatementForm()
    if not _accepted(form, case):
        return _to_case(case_id, "notice")
    waived = bool(form.waived.data)
    return _run(case_id, lambda: notice_service.record_statement(case, actor=current_user,
                                                                  statement=form.statement.data or "", waived=waived),
                _("Recorded that the party waived the statement and defence.") if waived
                else _("The party's statement and defence is recorded."))


@bp.route("/cases/<int:case_id>/notice/hearing-request", methods=["POST"])
@login_required
def hearing_request(case_id: int):
    case = _load(case_id, can_edit_case)
    form = HearingRequestForm()
    if not _accepted(form, case):
        return _to_case(case_id, "notice")
    day = form.requested_on.data
    return _run(case_id, lambda: notice_service.record_hearing_request(case, actor=current_user, requested_on=day),
                _("The request for a hearing of %(day)s is recorded: hold the hearing, then record it with its "
                  "hearing record.", day=day.isoformat()))


@bp.route("/cases/<int:case_id>/notice/hearing", methods=["POST"])
@login_required
def hearing(case_id: int):
    case = _load(case_id, can_edit_case)
    form = HearingForm(records=hearing_records(case))
    if not _accepted(form, case):
        return _to_case(case_id, "notice")
    return _run(case_id, lambda: notice_service.record_hearing(case, actor=current_user, held_on=form.held_on.data,
                                                               record_id=form.record_id.data),
                _("The hearing of %(day)s is recorded with its hearing record.", day=form.held_on.data.isoformat()))


# --- the decision (决定) ------------------------------------------------------------------------------

def _proposal(form) -> review_service.ProposalData:
    return review_service.ProposalData(form.decision_type.data or "", form.fine_amount.data,
                                       form.confiscation_value.data, form.content.data or "",
                                       form.legal_basis.data or "")


def _fill_proposal(form, plan) -> None:
    if plan is None:
        return
    form.decision_type.data = plan.decision_type
    form.fine_amount.data = "" if plan.fine_amount is None else str(plan.fine_amount)
    form.confiscation_value.data = "" if plan.confiscation_value is None else str(plan.confiscation_value)
    form.content.data = plan.content
    form.legal_basis.data = plan.legal_basis


def _passed_request(case):
    request_ = review_service.latest_request(case)
    return request_ if request_ is not None and request_.status == ReviewStatus.PASSED.value else None


def _fitting_band_ids(bands, fine) -> set[int]:
    """The bands whose range holds the fine (what the standard says applies to that amount)."""
    from ..services.major import outside_band

    if fine in (None, ""):
        return set()
    try:
        amount = notice_service.parse_money(fine, "")
    except DomainError:
        return set()
    if amount is None:
        return set()
    return {b.id for b in bands if (b.fine_min is not None or b.fine_max is not None)
            and not outside_band(b, amount)}


@bp.route("/cases/<int:case_id>/decision", methods=["GET", "POST"])
@login_required
def decide(case_id: int):
    case = _load(case_id, _is_head)
    today = local_today()
    bands = [b for b in case.matter.discretion_bands if b.active]
    form = DecisionForm(bands=bands, band_label=band_label)
    passed = _passed_request(case)
    if not form.is_submitted():
        form.version.data = case.version
        _fill_proposal(form, decision_service.proposal_for(case))
        if passed is not None:
            form.discretion_band.data = passed.discretion_band_id
            form.outside_band_reason.data = passed.outside_band_reason
        else:
            fitting = _fitting_band_ids(bands, form.fine_amount.data)
            if len(fitting) == 1:
                form.discretion_band.data = next(iter(fitting))
    refused: list[str] = []
    if form.validate_on_submit():
        stale = _stale_version(form, case)
        if stale:
            refused = [stale]
        else:
            try:
                decision_service.finalise(
                    case, actor=current_user, password=form.password.data, proposal=_proposal(form),
                    discretion_band_id=form.discretion_band.data,
                    outside_band_reason=form.outside_band_reason.data or "", performance=form.performance.data or "",
                    today=today)
            except GateRefused as exc:
                db.session.rollback()
                refused = exc.unmet
            except PermissionDenied as exc:  # the head was checked above: the password is wrong
                db.session.rollback()
                form.password.errors = [*form.password.errors, exc.message]
            except NotFound:
                raise
            except DomainError as exc:
                db.session.rollback()
                refused = [exc.message]
            else:
                commit()
                flash(_("The decision is signed and final. The decision document (决定书) is kept as a record of the "
                        "case."), "success")
                return _to_case(case.id, "decision")
    # Live: every unmet condition for the proposal as it stands. Before the head has typed anything
    # the performance is not counted as missing: its field asks for it.
    performance = form.performance.data if form.is_submitted() else (form.performance.data or "-")
    unmet = refused or decision_service.decision_problems(
        case, _proposal(form), discretion_band_id=form.discretion_band.data,
        outside_band_reason=form.outside_band_reason.data or "", performance=performance or "", today=today)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "decisions/decide.html", case=case, form=form, refused=refused, unmet=unmet, bands=bands,
        fitting=_fitting_band_ids(bands, form.fine_amount.data), passed=passed, notice=latest_notice(case),
        major=major_reasons(case), today=today, days_left=case_service.days_to_decision(case, today),
        overdue=case_service.is_overdue(case, today), extensions=decision_service.extensions_of(case),
        band_range=review_service.band_range, type_label=decision_type_label, money=money), status


@bp.route("/cases/<int:case_id>/extension", methods=["POST"])
@login_required
def extend(case_id: int):
    case = _load(case_id, _is_head)
    form = ExtensionForm()
    if not _accepted(form, case):
        return _to_case(case_id, "decision")
    new_due = form.new_due.data
    return _run(case_id, lambda: decision_service.extend_deadline(case, actor=current_user, new_due=new_due,
                                                                  reason=form.reason.data),
                _("The limit for the decision is extended to %(day)s.", day=new_due.isoformat()))


@bp.route("/decisions/<int:decision_id>/replace", methods=["GET", "POST"])
@login_required
def replace(decision_id: int):
    decision = db.session.get(Decision, decision_id)
    if decision is None:
        abort(404)
    case = case_service.get_case(current_user, decision.case_id)  # 404 outside the user's scope
    if not _is_head(current_user, case):
        abort(403)
    current = decision_service.current_decision(case)
    form = ReplaceForm()
    if not form.is_submitted():
        form.version.data = case.version
        _fill_proposal(form, decision)
    refused: list[str] = []
    if form.validate_on_submit():
        stale = _stale_version(form, case)
        if stale:
            refused = [stale]
        else:
            kind = DecisionKind(form.kind.data)
            try:
                decision_service.replace(
                    decision, actor=current_user, password=form.password.data, kind=kind,
                    reason=form.reason.data or "",
                    proposal=_proposal(form) if kind == DecisionKind.CHANGE else None,
                    performance=form.performance.data or "")
            except GateRefused as exc:
                db.session.rollback()
                refused = exc.unmet
            except PermissionDenied as exc:  # the head was checked above: the password is wrong
                db.session.rollback()
                form.password.errors = [*form.password.errors, exc.message]
            except NotFound:
                raise
            except DomainError as exc:
                db.session.rollback()
                refused = [exc.message]
            else:
                commit()
                flash(_("The decision is revoked; the revocation is kept as a record of the case.")
                      if kind == DecisionKind.REVOCATION else
                      _("The decision is changed; the new decision is kept as a record of the case."), "success")
                return _to_case(case.id, "decision")
    status = 422 if form.is_submitted() else 200
    return render_template("decisions/replace.html", case=case, decision=decision, current=current, form=form,
                           refused=refused, type_label=decision_type_label, money=money), status
