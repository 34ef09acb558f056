"""Legal review screens (法制审核, 行政处罚法 art. 58): the submission, the reviewers' queue, the
request and its review form, disputes, collective discussion and lending a case to a reviewer of
another body.

Thin views: parse the form, check who may act (services.permissions; who may review is decided
in one place, services.review.reviewer_problems), call one service, commit, redirect. A refusal
lists every unmet condition the service gave.
"""
from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db, limiter
from ..forms.review import (AssignReviewerForm, DiscussionForm, DisputeForm, SignReviewForm, SubmitReviewForm,
                            band_fine)
from ..models import ReviewRequest, ReviewStatus, Role, Stage
from ..services import cases as case_service
from ..services import review, workflow
from ..services import records as record_service
from ..services.clock import local_today
from ..services.errors import Conflict, DomainError, GateRefused, PermissionDenied
from ..services.major import decision_type_label, latest_notice, major_reasons, money, outside_band
from ..services.permissions import can_file_case, can_view_case, is_case_officer, is_head_of
from ..web import commit, flash_refusal

bp = Blueprint("review", __name__)

OUTCOME_BADGE = {ReviewStatus.PENDING.value: "warn", ReviewStatus.PASSED.value: "ok",
                 ReviewStatus.RETURNED.value: "warn", ReviewStatus.FAILED.value: "bad"}


@bp.context_processor
def helpers():
    return {"money": money, "decision_type_label": decision_type_label, "outcome_label": review.outcome_label,
            "outcome_badge": OUTCOME_BADGE, "band_fine": band_fine, "check_label": review.check_label,
            "attestation": review.ATTESTATION}


def _signing_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _signer() -> str:
    """Password re-entry is limited per user (a whole office may share one address)."""
    return f"user:{current_user.get_id()}"


signing_limit = limiter.limit(_signing_limit, key_func=_signer, methods=["POST"])


# --- who may do what (the predicates of services.permissions) --------------------------------------------

def _may_submit(user, case) -> bool:
    """An officer on the case, not auxiliary staff (services.review.submit checks the same)."""
    return can_file_case(user) and is_case_officer(user, case)


def _is_head(user, case) -> bool:
    return is_head_of(user, case.body_id)


def _load(case_id: int, allowed):
    """The case (404 outside the user's scope) after the permission check (403)."""
    case = case_service.get_case(current_user, case_id)
    if not allowed(current_user, case):
        abort(403)
    return case


def _user():
    return current_user._get_current_object()


# --- the reviewer's queue ----------------------------------------------------------------------------

@bp.route("/reviews")
@login_required
def queue():
    user = _user()
    if not user.has_role(Role.REVIEWER):
        abort(403)
    rows = [{"request": r, "case": r.case, "stale": review.is_stale(r), "lent": r.case.body_id != user.body_id,
             "problems": review.reviewer_problems(user, r.case)} for r in review.queue(user)]
    return render_template("review/queue.html", rows=rows, done=review.reviewed_by(user))


# --- the officer's request -----------------------------------------------------------------------------

@bp.route("/cases/<int:case_id>/review/submit", methods=["GET", "POST"])
@login_required
@signing_limit
def submit(case_id: int):
    case = _load(case_id, _may_submit)
    user = _user()
    bands = [b for b in case.matter.discretion_bands if b.active]
    form = SubmitReviewForm(bands=bands)
    notice = latest_notice(case)
    previous = review.latest_request(case)
    if request.method == "GET":
        if notice is not None:
            for name in ("decision_type", "fine_amount", "confiscation_value", "content", "legal_basis"):
                getattr(form, name).data = getattr(notice, name)
        if previous is not None and previous.discretion_band_id in {b.id for b in bands}:
            form.discretion_band.data = previous.discretion_band_id
    unmet: list[str] = []
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            proposal = review.ProposalData(
                decision_type=form.decision_type.data, fine_amount=form.fine_amount.data,
                confiscation_value=form.confiscation_value.data, content=form.content.data or "",
                legal_basis=form.legal_basis.data or "")
            try:
                made = review.submit(case, actor=user, password=form.password.data, attest=form.attest.data,
                                     proposal=proposal, discretion_band_id=form.discretion_band.data,
                                     outside_band_reason=form.outside_band_reason.data or "",
                                     handler_opinion=form.handler_opinion.data or "")
            except GateRefused as exc:
                db.session.rollback()
                unmet = exc.unmet
                _beside_fields(form, case)
            except PermissionDenied as exc:  # the officer was checked above: it is the password
                db.session.rollback()
                form.password.errors = [*form.password.errors, exc.message]
            except DomainError as exc:
                db.session.rollback()
                unmet = [exc.message]
            else:
                commit()
                flash(_("%(number)s was submitted for legal review (request %(id)s). A reviewer signs the opinion; "
                        "the case cannot be decided before.", number=case.number, id=made.id), "success")
                return redirect(url_for("cases.show", case_id=case.id))
    pending = previous if previous is not None and previous.status == ReviewStatus.PENDING.value else None
    before = []
    if case.stage == Stage.NOTICE.value:  # what else the move to review needs (the request itself aside)
        before = workflow.unmet(case, Stage.REVIEW, skip=(review.submitted_for_review,))
    return render_template(
        "review/submit.html", case=case, form=form, unmet=unmet, notice=notice, bands=bands, pending=pending,
        previous=previous if previous is not None and previous.status != ReviewStatus.PENDING.value else None,
        dispute=review.open_dispute(case), before=before, major=major_reasons(case),
        stage_ok=case.stage in (Stage.NOTICE.value, Stage.REVIEW.value)), status


def _beside_fields(form: SubmitReviewForm, case) -> None:
    """Repeat the refusals that concern one field beside it (the full list stays above the form)."""
    if not form.attest.data:
        form.attest.errors = [*form.attest.errors, _("Tick the attestation: no request is made without it.")]
    band, issues = review.band_problems(case, form.discretion_band.data, form.fine_amount.data,
                                        form.outside_band_reason.data or "")
    target = form.outside_band_reason if band is not None else form.discretion_band
    target.errors = [*target.errors, *issues]


# --- a request and its review ----------------------------------------------------------------------------

@bp.route("/reviews/<int:request_id>")
@login_required
def show(request_id: int):
    made = review.get_request(_user(), request_id)
    return _request_page(made)


def _request_page(made: ReviewRequest, *, sign_form: SignReviewForm | None = None, unmet=(), status: int = 200):
    user = _user()
    case = made.case
    pending = made.status == ReviewStatus.PENDING.value
    problems = review.reviewer_problems(user, case) if pending else []
    may_sign = pending and not problems
    if may_sign and sign_form is None:
        sign_form = SignReviewForm(formdata=None)
    latest = review.latest_request(case)
    may_dispute = (made.status in (ReviewStatus.RETURNED.value, ReviewStatus.FAILED.value)
                   and made.disputed_at is None and latest is not None and latest.id == made.id
                   and review.is_handling_officer(user, case))
    known = {r.id: r for r in record_service.case_records(case)}
    covered = [{"entry": entry, "record": known.get(entry["id"])} for entry in json.loads(made.manifest)["records"]]
    checks = [{"label": review.check_label(row["code"]), "ok": row["ok"], "note": row["note"]}
              for row in made.check_rows]
    return render_template(
        "review/show.html", made=made, case=case, pending=pending, problems=problems, may_sign=may_sign,
        sign_form=sign_form, unmet=list(unmet), stale=review.is_stale(made), covered=covered, checks=checks,
        failing=[c for c in checks if not c["ok"]], is_reviewer=user.has_role(Role.REVIEWER),
        outside=outside_band(made.discretion_band, made.fine_amount),
        dispute_form=DisputeForm(formdata=None) if may_dispute else None,
        discussions=[d for d in review.discussions_of(case) if d.review_request_id == made.id],
        history=[r for r in review.requests_of(case) if r.id != made.id],
        assignments=review.assignments_of(case), type_label=_type_label), status


def _type_label(code: str) -> str:
    try:
        return record_service.type_label(record_service.get_record_type(code))
    except DomainError:
        return code


@bp.route("/reviews/<int:request_id>/sign", methods=["POST"])
@login_required
@signing_limit
def sign(request_id: int):
    user = _user()
    made = review.get_request(user, request_id)
    if made.status != ReviewStatus.PENDING.value:
        flash(_("This request was reviewed already (%(outcome)s, by %(name)s): nothing was signed.",
                outcome=review.outcome_label(made.status), name=made.reviewer.name), "error")
        return redirect(url_for("review.show", request_id=made.id))
    problems = review.reviewer_problems(user, made.case)
    if problems:
        flash(_("You may not review this case, so nothing was signed:"), "error")
        for item in problems:
            flash(item, "unmet")
        return _request_page(made, status=403)
    form = SignReviewForm()
    if not form.validate_on_submit():
        return _request_page(made, sign_form=form, status=422)
    try:
        review.review(made, actor=user, password=form.password.data, no_conflict=form.no_conflict.data,
                      checks=form.checks(), opinion=form.opinion.data or "", outcome=form.outcome.data)
    except Conflict as exc:  # another reviewer signed first
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("review.show", request_id=request_id))
    except GateRefused as exc:
        db.session.rollback()
        return _request_page(review.get_request(user, request_id), sign_form=form, unmet=exc.unmet, status=422)
    except PermissionDenied as exc:  # the reviewer was checked above: it is the password
        db.session.rollback()
        form.password.errors = [*form.password.errors, exc.message]
        return _request_page(review.get_request(user, request_id), sign_form=form, status=422)
    commit()
    after = review.outcome_label(made.status)
    if not can_view_case(user, made.case):  # a lent reviewer's access ended with the review
        flash(_("The review is signed (%(outcome)s). Your access to %(number)s ended with it.", outcome=after,
                number=made.case.number), "success")
        return redirect(url_for("review.queue"))
    if made.status == ReviewStatus.PASSED.value:
        flash(_("The review passed and is signed. The opinion (法制审核意见书) is kept as a record of the case."),
              "success")
    else:
        flash(_("The review is signed (%(outcome)s): the case is back in investigation, and the officer sees the "
                "problems on this page.", outcome=after), "success")
    return redirect(url_for("review.show", request_id=request_id))


@bp.route("/reviews/<int:request_id>/dispute", methods=["POST"])
@login_required
def dispute(request_id: int):
    made = review.get_request(_user(), request_id)
    form = DisputeForm()
    if not form.validate_on_submit():
        for error in form.reason.errors:
            flash(error, "error")
        return redirect(url_for("review.show", request_id=made.id))
    try:
        review.dispute(made, actor=_user(), reason=form.reason.data)
    except PermissionDenied:
        raise
    except DomainError as exc:
        db.session.rollback()
        flash_refusal(exc)
    else:
        commit()
        flash(_("Your disagreement is recorded. The head of %(body)s puts it to collective discussion (集体讨论); "
                "the case can be submitted again once the discussion is recorded.", body=made.case.body.name),
              "success")
    return redirect(url_for("review.show", request_id=made.id))


# --- collective discussion (集体讨论) ------------------------------------------------------------------

@bp.route("/cases/<int:case_id>/discussion", methods=["GET", "POST"])
@login_required
def discussion(case_id: int):
    case = _load(case_id, _is_head)
    minutes = [r for r in record_service.current_records(case) if r.type_code == "collective_discussion"]
    disputed = review.open_dispute(case)
    form = DiscussionForm(records=minutes)
    if request.method == "GET":
        form.held_on.data = local_today()
        if len(minutes) == 1:
            form.record_id.data = minutes[0].id
    unmet: list[str] = []
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                review.record_collective_discussion(
                    case, actor=_user(), held_on=form.held_on.data, participants=form.participants.data,
                    conclusion=form.conclusion.data, record_id=form.record_id.data,
                    upholds_review=form.upholds() if disputed is not None else None)
            except GateRefused as exc:
                db.session.rollback()
                unmet = exc.unmet
            except PermissionDenied:
                raise
            except DomainError as exc:
                db.session.rollback()
                unmet = [exc.message]
            else:
                commit()
                flash(_("The collective discussion of %(number)s is recorded.", number=case.number), "success")
                return redirect(url_for("cases.show", case_id=case.id))
    return render_template("review/discussion.html", case=case, form=form, unmet=unmet, minutes=minutes,
                           disputed=disputed, latest=review.latest_request(case),
                           discussions=review.discussions_of(case)), status


# --- lending the case to a reviewer of another body -----------------------------------------------------

@bp.route("/cases/<int:case_id>/reviewer", methods=["GET", "POST"])
@login_required
def assign(case_id: int):
    case = _load(case_id, _is_head)
    candidates = review.lendable_reviewers(case)
    form = AssignReviewerForm(candidates=candidates)
    unmet: list[str] = []
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            reviewer = next(u for u in candidates if u.id == form.reviewer_id.data)
            try:
                review.assign_reviewer(case, reviewer, actor=_user(), reason=form.reason.data)
            except GateRefused as exc:
                db.session.rollback()
                unmet = exc.unmet
            except PermissionDenied:
                raise
            except DomainError as exc:
                db.session.rollback()
                unmet = [exc.message]
            else:
                commit()
                flash(_("%(name)s (%(body)s) may now see and review %(number)s, until its review ends.",
                        name=reviewer.name, body=reviewer.body.name, number=case.number), "success")
                return redirect(url_for("cases.show", case_id=case.id))
    return render_template("review/assign.html", case=case, form=form, unmet=unmet, candidates=candidates,
                           assignments=review.assignments_of(case)), status
