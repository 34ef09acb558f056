"""Legal review of major decisions (重大执法决定法制审核, 行政处罚法 art. 58).

Two signed acts, kept apart: the handling officer's request, attesting that the file is complete
and true, with the dossier digest at that moment; and the reviewer's opinion on the nine checks,
with the outcome. Who may review a case is decided in one place, `reviewer_problems`: it fails
closed and knows no administrator bypass. Both acts re-enter the password.

Outcomes: pass (the case may be decided, on exactly this dossier); return for correction and
fail (the case goes back to investigation with the reasons shown to the officer). An officer who
disagrees with a return or a failure disputes it; the dispute goes to collective discussion
(集体讨论), chaired by the head, before the case can be submitted again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, not_, or_, select, update
from sqlalchemy.exc import OperationalError

from ..extensions import db
from ..models import (AuditEvent, Case, CaseOfficer, CollectiveDiscussion, DiscretionBand, Record, ReviewerAssignment,
                      ReviewRequest, ReviewStatus, Role, Stage, User)
from ..models._types import utcnow
from . import audit, dossier, people
from .clock import local_today
from .errors import Conflict, DomainError, GateRefused, NotFound, PermissionDenied
from .major import latest_notice, major_reasons, money, outside_band
from . import notice as _notice  # module: notice, review and decisions import each other
from .permissions import _active, assigned_case_ids, is_case_officer, is_head_of
from .workflow import gate

ATTESTATION = _l("I attest that the case file submitted for legal review is complete and true: the facts, the "
                 "evidence, the legal basis and the proposed decision are as set out, and nothing known to the "
                 "handling unit has been left out (案卷材料齐全、真实).")

# The nine checks of the review form (DOMAIN.md; 行政处罚法 art. 58 and the provincial measures).
CHECKS: tuple[tuple[str, object], ...] = (
    ("competent_body", _l("Competent body (执法主体合法)")),
    ("officers_certified", _l("Officers certified (执法人员具备资格)")),
    ("procedure_lawful", _l("Lawful procedure (程序合法)")),
    ("facts_clear", _l("Facts clear (事实清楚)")),
    ("evidence_sufficient", _l("Evidence lawful and sufficient (证据合法充分)")),
    ("law_applied", _l("Law correctly applied and discretion proper (适用依据准确、裁量适当)")),
    ("within_authority", _l("Within authority (未超越法定权限)")),
    ("documents_complete", _l("Documents complete and standard (文书完备规范)")),
    ("crime_transfer", _l("No suspected crime to be transferred (无涉嫌犯罪需移送)")),
)
CHECK_CODES = tuple(code for code, _label in CHECKS)
OUTCOMES = (ReviewStatus.PASSED, ReviewStatus.RETURNED, ReviewStatus.FAILED)
# Audit actions that do not make their actor an editor of the case: reading, the review's own acts
# (review.*, its opinion document) and the moves out of the review stage (the reviewer's return; the
# head's decision comes after the review). Any other stage move is handling the case: a deputy head
# who is also a reviewer and moved the case on does not review it.
# Reading acts: looking at a case, its records or exporting its file never makes one its handler.
_NOT_EDITING = ("record.viewed", "record.downloaded", "record.generated", "case.personal_data_viewed",
                "case.exported", "case.export_incomplete")


@dataclass
class ProposalData:
    """A proposed or final decision, as entered."""

    decision_type: str
    fine_amount: object = None
    confiscation_value: object = None
    content: str = ""
    legal_basis: str = ""

    def parsed(self) -> ProposalData:
        return ProposalData(self.decision_type, _notice.parse_money(self.fine_amount, _("The fine")),
                            _notice.parse_money(self.confiscation_value, _("The value confiscated")),
                            (self.content or "").strip(), (self.legal_basis or "").strip())


def check_label(code: str) -> str:
    return str(dict(CHECKS).get(code, code))


def outcome_label(status: str) -> str:
    return {ReviewStatus.PENDING.value: _("awaiting review"), ReviewStatus.PASSED.value: _("passed"),
            ReviewStatus.RETURNED.value: _("returned for correction"),
            ReviewStatus.FAILED.value: _("failed")}.get(status, status)


# --- reading -------------------------------------------------------------------------------------------

def latest_request(case: Case) -> ReviewRequest | None:
    return db.session.scalar(select(ReviewRequest).where(ReviewRequest.case_id == case.id)
                             .order_by(ReviewRequest.id.desc()).limit(1))


def requests_of(case: Case) -> list[ReviewRequest]:
    return list(db.session.scalars(select(ReviewRequest).where(ReviewRequest.case_id == case.id)
                                   .order_by(ReviewRequest.id.desc())))


def get_request(user, request_id: int) -> ReviewRequest:
    """A review request the user may see (its case is visible to them); anything else is not found."""
    from .permissions import can_view_case

    request = db.session.get(ReviewRequest, request_id)
    if request is None or not can_view_case(user, request.case):
        raise NotFound(_("No such review request."))
    return request


def queue(user) -> list[ReviewRequest]:
    """Pending requests the user could be asked to review: the own body's and the cases lent to them."""
    if not _active(user) or not user.has_role(Role.REVIEWER):
        return []
    lent = assigned_case_ids(user)
    query = (select(ReviewRequest).join(Case, Case.id == ReviewRequest.case_id)
             .where(ReviewRequest.status == ReviewStatus.PENDING.value,
                    or_(Case.body_id == user.body_id, Case.id.in_(lent) if lent else False))
             .order_by(ReviewRequest.submitted_at, ReviewRequest.id))
    return list(db.session.scalars(query))


def reviewed_by(user, *, limit: int = 20) -> list[ReviewRequest]:
    return list(db.session.scalars(select(ReviewRequest).where(ReviewRequest.reviewer_id == user.id)
                                   .order_by(ReviewRequest.reviewed_at.desc()).limit(limit)))


def is_stale(request: ReviewRequest) -> bool:
    """Whether the dossier changed since the request was made (its digest no longer matches)."""
    return request.digest != dossier.digest(request.case)


# --- separation of duties: the one place -----------------------------------------------------------

def reviewer_problems(user, case: Case) -> list[str]:
    """Why `user` may not review `case`, in words (empty: may). Fails closed; no role bypasses it."""
    if not _active(user):
        return [_("Only an active user reviews.")]
    problems = []
    if not user.has_role(Role.REVIEWER):
        problems.append(_("%(name)s is not a legal reviewer (法制审核人员).", name=user.name))
    if not (user.legal_qualification_no or user.legal_adviser_appointment):
        problems.append(_("%(name)s holds neither the legal professional qualification (法律职业资格) nor an "
                          "appointment as legal adviser.", name=user.name))
    if user.body_id != case.body_id and case.id not in assigned_case_ids(user):
        problems.append(_("%(name)s is not a reviewer of %(body)s and is not assigned to this case.",
                          name=user.name, body=case.body.name))
    if db.session.scalar(select(exists().where(CaseOfficer.case_id == case.id, CaseOfficer.user_id == user.id))):
        problems.append(_("%(name)s is or was an officer on this case.", name=user.name))
    if case.created_by_id == user.id:
        problems.append(_("%(name)s filed this case.", name=user.name))
    if db.session.scalar(select(exists().where(Record.case_id == case.id, Record.uploaded_by_id == user.id,
                                               Record.type_code != "legal_review_opinion"))):
        problems.append(_("%(name)s uploaded records of this case.", name=user.name))
    out_of_review = and_(AuditEvent.action == "case.stage_changed",
                         AuditEvent.before == audit.canonical_json({"stage": Stage.REVIEW.value}))
    edited = db.session.scalar(select(exists().where(
        AuditEvent.case_id == case.id, AuditEvent.actor_id == user.id, AuditEvent.action.not_in(_NOT_EDITING),
        AuditEvent.action.not_like("review.%"), not_(out_of_review))))
    if edited:
        problems.append(_("%(name)s changed this case (its timeline shows their acts).", name=user.name))
    overruled = db.session.scalar(select(exists().where(
        CollectiveDiscussion.case_id == case.id, CollectiveDiscussion.upholds_review.is_(False),
        CollectiveDiscussion.review_request_id == ReviewRequest.id, ReviewRequest.reviewer_id == user.id)))
    if overruled:
        problems.append(_("The collective discussion did not uphold %(name)s's earlier opinion on this case: "
                          "another reviewer reviews it.", name=user.name))
    return problems


def can_review(user, case: Case) -> bool:
    return not reviewer_problems(user, case)


# --- lending a reviewer of another body ---------------------------------------------------------------

def assign_reviewer(case: Case, reviewer: User, *, actor: User, reason: str) -> ReviewerAssignment:
    """The head lends the case to a reviewer of another body (司法所, a joint team) until its review ends."""
    if not is_head_of(actor, case.body_id):
        raise PermissionDenied(_("Only the head of %(body)s assigns a reviewer to its cases.", body=case.body.name))
    if not (reason or "").strip():
        raise DomainError(_("Say why a reviewer of another body reviews this case."))
    if reviewer.body_id == case.body_id:
        raise DomainError(_("%(name)s is a reviewer of this body already: no assignment is needed.",
                            name=reviewer.name))
    if case.stage in (Stage.DECISION.value, Stage.SERVICE.value, Stage.EXECUTION.value, Stage.CLOSED.value,
                      Stage.ARCHIVED.value):
        raise DomainError(_("The case is decided: there is nothing left to review."))
    if db.session.scalar(select(exists().where(ReviewerAssignment.case_id == case.id,
                                               ReviewerAssignment.reviewer_id == reviewer.id,
                                               ReviewerAssignment.ended_at.is_(None)))):
        raise Conflict(_("%(name)s is assigned to this case already.", name=reviewer.name))
    row = ReviewerAssignment(case_id=case.id, reviewer_id=reviewer.id, assigned_by_id=actor.id, reason=reason.strip())
    db.session.add(row)
    db.session.flush()
    # The same rules as for any reviewer, checked now that the assignment exists (qualification, conflicts).
    problems = reviewer_problems(reviewer, case)
    if problems:
        raise GateRefused(problems)
    audit.record("review.reviewer_assigned", "case", case.id, case.number, actor=actor,
                 after={"reviewer": reviewer.name, "reviewer_body": reviewer.body.name, "reason": row.reason},
                 body_id=case.body_id, case_id=case.id)
    return row


def lendable_reviewers(case: Case) -> list[User]:
    """Who the head may lend the case to: active reviewers of the other active bodies of its hierarchy."""
    from .permissions import descendant_body_ids

    root = case.body
    while root.parent is not None:
        root = root.parent
    others = descendant_body_ids(root.id) - {case.body_id}
    if not others:
        return []
    users = db.session.scalars(people.users_query(others, role=Role.REVIEWER.value, active=True))
    return [u for u in users if u.body.active]


def end_assignments(case: Case, *, actor: User | None, reason: str) -> int:
    """End every open assignment of the case (the review ended, or the head withdrew it)."""
    rows = list(db.session.scalars(select(ReviewerAssignment).where(ReviewerAssignment.case_id == case.id,
                                                                   ReviewerAssignment.ended_at.is_(None))))
    for row in rows:
        row.ended_at, row.end_reason = utcnow(), reason[:200]
        audit.record("review.assignment_ended", "case", case.id, case.number, actor=actor,
                     after={"reviewer": row.reviewer.name, "reason": reason}, body_id=case.body_id, case_id=case.id)
    return len(rows)


def assignments_of(case: Case) -> list[ReviewerAssignment]:
    return list(db.session.scalars(select(ReviewerAssignment).where(ReviewerAssignment.case_id == case.id)
                                   .order_by(ReviewerAssignment.id)))


# --- the officer's request -----------------------------------------------------------------------------

def band_problems(case: Case, band_id, fine, outside_reason: str) -> tuple[DiscretionBand | None, list[str]]:
    """The discretion band chosen for the matter, and what is wrong with the choice (裁量基准)."""
    bands = [b for b in case.matter.discretion_bands if b.active]
    band = None
    if band_id not in (None, ""):
        band = next((b for b in bands if str(b.id) == str(band_id)), None)
        if band is None:
            return None, [_("Choose a band of this matter's discretion standard.")]
    elif bands and fine is not None:
        return None, [_("Choose the circumstance of the discretion standard (裁量基准) that applies.")]
    if outside_band(band, fine) and not (outside_reason or "").strip():
        return band, [_("The fine of %(fine)s lies outside the band %(band)s (%(range)s): give the reason for "
                        "departing from the discretion standard.", fine=money(fine), band=band.circumstance,
                        range=band_range(band))]
    return band, []


def band_range(band: DiscretionBand) -> str:
    if band.fine_min is None and band.fine_max is None:
        return band.measures or "—"
    low = money(band.fine_min) if band.fine_min is not None else "—"
    high = money(band.fine_max) if band.fine_max is not None else "—"
    return f"{low} – {high}"


def beyond_notice(notice, proposal) -> list[str]:
    """A decision cannot go beyond what the notice proposed (行政处罚法 art. 44, 62)."""
    from ..models.review import SEVERITY, DecisionType

    if notice is None:
        return []
    problems = []
    try:
        heavier = SEVERITY[DecisionType(proposal.decision_type)] > SEVERITY[DecisionType(notice.decision_type)]
    except ValueError:
        heavier = False
    if heavier:
        problems.append(_("The decision is heavier in kind than the notice proposed; serve a new notice first."))
    for field, label in (("fine_amount", _("fine")), ("confiscation_value", _("confiscation"))):
        new, old = getattr(proposal, field), getattr(notice, field)
        if new is not None and new > (old or 0):
            problems.append(_("The %(what)s of %(new)s exceeds the %(old)s the notice proposed; serve a new notice "
                              "first.", what=label, new=money(new), old=money(old or 0)))
    return problems


def is_handling_officer(user, case: Case) -> bool:
    """An officer on the case, not auxiliary staff: who submits the case for review and disputes its review."""
    return is_case_officer(user, case) and user.has_role(Role.OFFICER) and not user.auxiliary


def _check_password(actor: User, password: str) -> None:
    if not password or not people.verify_password(actor, password):
        raise PermissionDenied(_("The password is not correct: nothing was signed."))


def open_dispute(case: Case) -> ReviewRequest | None:
    """A disputed review that no collective discussion has settled yet."""
    request = latest_request(case)
    if request is None or request.disputed_at is None:
        return None
    settled = db.session.scalar(select(exists().where(CollectiveDiscussion.review_request_id == request.id)))
    return None if settled else request


def submit(case: Case, *, actor: User, password: str, attest: bool, proposal: ProposalData,
           discretion_band_id=None, outside_band_reason: str = "", handler_opinion: str = "",
           today: date | None = None) -> ReviewRequest:
    """The handling officer submits the case for legal review, attesting the file; the digest is kept."""
    from . import workflow
    from .records import lock_case

    today = today or local_today()
    if not is_handling_officer(actor, case):
        raise PermissionDenied(_("Only an officer on the case submits it for legal review."))
    _check_password(actor, password)
    lock_case(case)
    problems = []
    if not attest:
        problems.append(_("Attest that the file is complete and true."))
    if case.stage not in (Stage.NOTICE.value, Stage.REVIEW.value):
        problems.append(_("A case is submitted for legal review after the notice (告知); this case is in %(stage)s.",
                          stage=workflow.stage_label(case.stage)))
    if db.session.scalar(select(exists().where(ReviewRequest.case_id == case.id,
                                               ReviewRequest.status == ReviewStatus.PENDING.value))):
        raise Conflict(_("The case awaits review already."))
    dispute = open_dispute(case)
    if dispute is not None:
        problems.append(_("The disagreement with the review of %(day)s awaits collective discussion (集体讨论).",
                          day=dispute.reviewed_at.date().isoformat()))
    plan = proposal.parsed()
    problems += _notice.check_proposal(plan.decision_type, plan.fine_amount, plan.confiscation_value, plan.content)
    if not plan.legal_basis:
        problems.append(_("Give the legal basis of the proposed decision."))
    notice = latest_notice(case)
    problems += beyond_notice(notice, plan)
    band, band_issues = band_problems(case, discretion_band_id, plan.fine_amount, outside_band_reason)
    problems += band_issues
    if problems:
        raise GateRefused(problems)
    plan_with_band = _WithBand(plan, band)
    with force_locale("zh_Hans_CN"):  # stored reasons are part of the record: in the documents' language
        reasons = list(dict.fromkeys(major_reasons(case, plan_with_band) + major_reasons(case)))
    manifest = dossier.manifest(case)
    request = ReviewRequest(
        case_id=case.id, notice_id=notice.id if notice else None, submitted_by_id=actor.id,
        attestation=_in_chinese(ATTESTATION), handler_opinion=(handler_opinion or "").strip(),
        decision_type=plan.decision_type, fine_amount=plan.fine_amount, confiscation_value=plan.confiscation_value,
        content=plan.content, legal_basis=plan.legal_basis, discretion_band_id=band.id if band else None,
        outside_band_reason=(outside_band_reason or "").strip() if outside_band(band, plan.fine_amount) else "",
        major_reasons=json.dumps(reasons, ensure_ascii=False), digest=dossier.digest(case),
        digest_version=dossier.VERSION, manifest=dossier.canonical(manifest).decode("utf-8"))
    db.session.add(request)
    db.session.flush()
    audit.record("review.submitted", "review_request", request.id, case.number, actor=actor,
                 after={"attestation": request.attestation, "digest": request.digest,
                        "records": len(manifest["records"]), "decision_type": plan.decision_type,
                        "fine_amount": plan.fine_amount, "major_reasons": reasons},
                 body_id=case.body_id, case_id=case.id)
    if case.stage == Stage.NOTICE.value:
        workflow.advance(case, Stage.REVIEW, actor=actor, today=today)
    return request


@dataclass
class _WithBand:
    """A parsed proposal with its band, as `major_reasons` reads it."""

    plan: ProposalData
    discretion_band: DiscretionBand | None

    def __getattr__(self, name):
        return getattr(self.plan, name)


@gate(Stage.NOTICE, Stage.REVIEW)
def submitted_for_review(case: Case, today: date) -> list[str]:
    """The case enters review only through a request with the officer's attestation."""
    if db.session.scalar(select(exists().where(ReviewRequest.case_id == case.id,
                                               ReviewRequest.status == ReviewStatus.PENDING.value))):
        return []
    return [_("Submit the case for legal review with the attestation that the file is complete and true.")]


@gate(Stage.REVIEW, Stage.INVESTIGATION)
def _returned_by_review(case: Case, today: date) -> list[str]:
    request = latest_request(case)
    if request is not None and request.status in (ReviewStatus.RETURNED.value, ReviewStatus.FAILED.value):
        return []
    return [_("Only the reviewer's return sends a case under review back to investigation.")]


# --- the reviewer's opinion ------------------------------------------------------------------------------

def review(request: ReviewRequest, *, actor: User, password: str, no_conflict: bool, checks: dict, opinion: str,
           outcome: str, today: date | None = None) -> ReviewRequest:
    """The reviewer signs the opinion. `checks` maps each of CHECK_CODES to (passed: bool, note: str).

    Exactly one outcome per request, whatever the number of reviewers acting at once: the status
    changes from pending in one conditional UPDATE, and a second reviewer gets Conflict.
    """
    from . import workflow

    case = request.case
    today = today or local_today()
    problems = reviewer_problems(actor, case)
    if problems:
        raise PermissionDenied(" ".join(problems))
    _check_password(actor, password)
    if request.status != ReviewStatus.PENDING.value:
        raise Conflict(_("This request was reviewed already (%(outcome)s).", outcome=outcome_label(request.status)))
    errors = []
    if not no_conflict:
        errors.append(_("Declare that you have no conflict of interest in this case."))
    try:
        result = ReviewStatus(outcome)
    except ValueError:
        result = None
    if result not in OUTCOMES:
        errors.append(_("Choose the outcome: pass, return for correction or fail."))
    rows = []
    for code in CHECK_CODES:
        answer = checks.get(code)
        if answer is None or answer[0] is None:
            errors.append(_("Answer the check: %(check)s.", check=check_label(code)))
            continue
        ok, note = bool(answer[0]), (answer[1] or "").strip()
        if not ok and not note:
            errors.append(_("Say what the problem is: %(check)s.", check=check_label(code)))
        rows.append({"code": code, "ok": ok, "note": note})
    opinion = (opinion or "").strip()
    if not opinion:
        errors.append(_("Write the overall opinion."))
    if result == ReviewStatus.PASSED:
        failing = [check_label(r["code"]) for r in rows if not r["ok"]]
        if failing:
            errors.append(_("A review with problems cannot pass (%(checks)s): return it for correction or fail it.",
                            checks="、".join(failing)))
        if is_stale(request):
            errors.append(_("The dossier changed after the request was made: return it, so that the officer "
                            "submits the dossier as it is now."))
    elif result in (ReviewStatus.RETURNED, ReviewStatus.FAILED) and all(r["ok"] for r in rows):
        errors.append(_("Mark the checks that found problems: a return or a failure needs at least one."))
    if errors:
        raise GateRefused(errors)

    now = utcnow()
    try:
        changed = db.session.execute(
            update(ReviewRequest)
            .where(ReviewRequest.id == request.id, ReviewRequest.status == ReviewStatus.PENDING.value)
            .values(status=result.value, reviewer_id=actor.id, reviewed_at=now, conflict_declared_none=True,
                    checks=json.dumps(rows, ensure_ascii=False), opinion=opinion)
            .execution_options(synchronize_session=False)).rowcount
    except OperationalError as exc:  # SQLite: another reviewer's transaction holds or changed the row
        raise Conflict(_("Another reviewer acted on this request at the same time; look at it again.")) from exc
    if changed != 1:
        raise Conflict(_("Another reviewer acted on this request at the same time; look at it again."))
    db.session.refresh(request)

    record = _store_opinion(request, actor)
    db.session.execute(update(ReviewRequest).where(ReviewRequest.id == request.id)
                       .values(opinion_record_id=record.id).execution_options(synchronize_session=False))
    db.session.refresh(request)
    audit.record("review.decided", "review_request", request.id, case.number, actor=actor,
                 after={"outcome": result.value, "opinion": opinion, "digest": request.digest,
                        "problems": [check_label(r["code"]) for r in rows if not r["ok"]],
                        "no_conflict_declared": True, "opinion_record": record.original_filename},
                 body_id=case.body_id, case_id=case.id)
    if result in (ReviewStatus.RETURNED, ReviewStatus.FAILED):
        # A return is the remedy when the officers are no longer certified (a check of the review): their
        # certificates are checked when the case moves on again, not when the reviewer sends it back.
        workflow.advance(case, Stage.INVESTIGATION, actor=actor, today=today, reason=opinion, authorised=True,
                         skip=(workflow._officers_valid_today,))
    if result in (ReviewStatus.PASSED, ReviewStatus.FAILED):
        end_assignments(case, actor=None, reason=str(_("the review ended (%(outcome)s)",
                                                       outcome=outcome_label(result.value))))
    return request


def _store_opinion(request: ReviewRequest, actor: User) -> Record:
    """The 法制审核意见书 as a PDF in Chinese, kept as a record of the case."""
    from . import documents, records
    from .cases import case_label
    from .major import decision_type_label

    case = request.case
    with force_locale("zh_Hans_CN"):
        doc = documents.ReviewOpinionDoc(
            body_name=case.body.name, case_number=case.number, case_title=case_label(case), party=case.party_name,
            submitted_by=request.submitted_by.name, submitted_at=_local(request.submitted_at),
            attestation=request.attestation,
            proposal="\n".join(filter(None, [
                f"{decision_type_label(request.decision_type)}"
                + (f"  罚款 {money(request.fine_amount)}" if request.fine_amount is not None else "")
                + (f"  没收 {money(request.confiscation_value)}" if request.confiscation_value is not None else ""),
                request.content, f"法律依据：{request.legal_basis}" if request.legal_basis else "",
                f"裁量基准：{request.discretion_band.circumstance}（{band_range(request.discretion_band)}）"
                if request.discretion_band else "",
                f"超出裁量基准的理由：{request.outside_band_reason}" if request.outside_band_reason else ""])),
            major_reasons=request.major_reason_list,
            checks=[(check_label(r["code"]), r["ok"], r["note"]) for r in request.check_rows],
            opinion=request.opinion, outcome=outcome_label(request.status), reviewer=actor.name,
            reviewer_qualification=_qualification(actor), reviewed_at=_local(request.reviewed_at),
            digest=request.digest, record_count=len(json.loads(request.manifest)["records"]))
        data = documents.review_opinion_pdf(doc)
    return records.store_generated(case, actor, type_code="legal_review_opinion", stage=Stage.REVIEW,
                                   filename=f"法制审核意见书-{request.id}.pdf", data=data,
                                   description=f"{outcome_label(request.status)}")


def _in_chinese(text) -> str:
    """Signed words are kept in the language of the documents, whatever the signer's screen shows."""
    with force_locale("zh_Hans_CN"):
        return str(text)


def _qualification(user: User) -> str:
    if user.legal_qualification_no:
        return f"法律职业资格证书 {user.legal_qualification_no}"
    return f"法律顾问 {user.legal_adviser_appointment or ''}".strip()


def _local(at: datetime | None) -> str:
    """A stored UTC time as Beijing time, to the minute."""
    from .clock import to_local

    return to_local(at).strftime("%Y-%m-%d %H:%M") if at else ""


# --- disagreement and collective discussion -----------------------------------------------------------

def dispute(request: ReviewRequest, *, actor: User, reason: str) -> ReviewRequest:
    """The handling officer disagrees with a return or failure: collective discussion decides."""
    case = request.case
    if not is_handling_officer(actor, case):
        raise PermissionDenied(_("Only an officer on the case disputes its review."))
    if request.status not in (ReviewStatus.RETURNED.value, ReviewStatus.FAILED.value):
        raise DomainError(_("Only a returned or failed review can be disputed."))
    if latest_request(case).id != request.id:
        raise DomainError(_("Only the latest review can be disputed."))
    if request.disputed_at is not None:
        raise Conflict(_("This review is disputed already."))
    if not (reason or "").strip():
        raise DomainError(_("Say why you disagree with the review."))
    request.disputed_at, request.dispute_reason = utcnow(), reason.strip()
    audit.record("review.disputed", "review_request", request.id, case.number, actor=actor,
                 after={"dispute_reason": request.dispute_reason}, body_id=case.body_id, case_id=case.id)
    return request


def record_collective_discussion(case: Case, *, actor: User, held_on: date, participants: str, conclusion: str,
                                 record_id, upholds_review: bool | None = None,
                                 today: date | None = None) -> CollectiveDiscussion:
    """集体讨论, chaired by the head: required for every major decision, and to settle a disputed review."""
    today = today or local_today()
    if not is_head_of(actor, case.body_id):
        raise PermissionDenied(_("The head of %(body)s chairs and records the collective discussion.",
                                 body=case.body.name))
    problems = []
    if held_on is None or held_on > today or held_on < case.filed_on:
        problems.append(_("The discussion date must lie between the filing and today."))
    if not (participants or "").strip():
        problems.append(_("Name the participants."))
    if not (conclusion or "").strip():
        problems.append(_("Write the conclusion of the discussion."))
    try:
        wanted = int(record_id)
    except (TypeError, ValueError):
        wanted = 0
    record = db.session.get(Record, wanted) if 0 < wanted < 2**31 else None
    if record is not None and db.session.scalar(select(exists().where(Record.supersedes_id == record.id))):
        record = None  # corrected since: the current version is the one to cite
    if record is None or record.case_id != case.id or record.type_code != "collective_discussion":
        problems.append(_("Choose the collective discussion record (集体讨论记录) uploaded to this case."))
    dispute_of = open_dispute(case)
    if dispute_of is not None and upholds_review is None:
        problems.append(_("Say whether the discussion upholds the reviewer's opinion that is disputed."))
    if problems:
        raise GateRefused(problems)
    row = CollectiveDiscussion(case_id=case.id, review_request_id=dispute_of.id if dispute_of else None,
                               held_on=held_on, chaired_by_id=actor.id, participants=participants.strip(),
                               conclusion=conclusion.strip(),
                               upholds_review=upholds_review if dispute_of is not None else None,
                               record_id=record.id, recorded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record("review.collective_discussion", "collective_discussion", row.id, case.number, actor=actor,
                 after={"held_on": held_on, "participants": row.participants, "conclusion": row.conclusion,
                        "upholds_review": row.upholds_review}, body_id=case.body_id, case_id=case.id)
    return row


def discussions_of(case: Case) -> list[CollectiveDiscussion]:
    return list(db.session.scalars(select(CollectiveDiscussion).where(CollectiveDiscussion.case_id == case.id)
                                   .order_by(CollectiveDiscussion.id)))


def _register_timeline() -> None:
    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS, VALUE_FORMATTERS

    EVENT_LABELS.update({
        "review.submitted": _l("Submitted for legal review (法制审核申请)"),
        "review.decided": _l("Legal review signed (法制审核意见)"),
        "review.disputed": _l("Review disputed"),
        "review.collective_discussion": _l("Collective discussion (集体讨论)"),
        "review.reviewer_assigned": _l("Reviewer of another body assigned"),
        "review.assignment_ended": _l("Reviewer assignment ended"),
    })
    SHOWN_FIELDS.update({"review.submitted": ("decision_type", "fine_amount", "digest", "records", "major_reasons"),
                         "review.decided": ("outcome", "problems", "opinion", "digest")})
    FIELD_LABELS.update({"digest": _l("Dossier digest (SHA-256)"), "records": _l("Records"),
                         "major_reasons": _l("Why major"), "outcome": _l("Outcome"), "problems": _l("Problems found"),
                         "opinion": _l("Opinion"), "dispute_reason": _l("Why disputed"),
                         "held_on": _l("Held on"), "participants": _l("Participants"), "conclusion": _l("Conclusion"),
                         "upholds_review": _l("Upholds the review"), "reviewer": _l("Reviewer"),
                         "reviewer_body": _l("Reviewer's body"), "attestation": _l("Attestation")})
    VALUE_FORMATTERS["outcome"] = outcome_label


_register_timeline()
