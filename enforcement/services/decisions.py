"""The decision (决定): the gate, the head's signature, the 90-day limit, revocation and change.

A major decision is made final only when the latest legal review passed and its digest equals
the dossier's digest now, with the collective discussion recorded (行政处罚法 art. 57, 58). The
head signs every decision, re-entering the password. The decision is made under the case's row
lock, so a record uploaded at the same moment either lands before (and the gate sees a changed
dossier) or after (and is marked post-decision). A final decision is never edited — the database
refuses it — only revoked or changed by a new decision that names it and gives the reason.
"""
from __future__ import annotations

import json
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import (Case, CollectiveDiscussion, Decision, DecisionKind, DeadlineExtension, Record, ReviewStatus,
                      Stage, User)
from ..models._types import utcnow
from . import audit, dossier, records
from . import disclosure as _disclosure
from .clock import local_today
from .errors import Conflict, DomainError, GateRefused, PermissionDenied
from .major import decision_type_label, latest_notice, major_reasons, money, outside_band
from . import notice as _notice  # module: notice, review and decisions import each other
from .permissions import is_head_of
from . import review as _review  # used at call time: review and decisions import each other's module
from .workflow import gate

OPEN_FOR_DECISION = (Stage.NOTICE.value, Stage.REVIEW.value)


# --- reading -------------------------------------------------------------------------------------------

def original_decision(case: Case) -> Decision | None:
    return db.session.scalar(select(Decision).where(Decision.case_id == case.id,
                                                    Decision.kind == DecisionKind.DECISION.value))


def decisions_of(case: Case) -> list[Decision]:
    return list(db.session.scalars(select(Decision).where(Decision.case_id == case.id).order_by(Decision.id)))


def current_decision(case: Case) -> Decision | None:
    """The decision in force: the last of the chain original → change → … (a revocation ends it)."""
    chain = decisions_of(case)
    replaced = {d.replaces_id for d in chain if d.replaces_id}
    live = [d for d in chain if d.id not in replaced]
    return live[-1] if live else None


def post_decision_ids(case: Case, records: list[Record] | None = None) -> set[int]:
    """Records added after the decision (证据规定 art. 60): not part of the evidence it rests on."""
    first = original_decision(case)
    if first is None:
        return set()
    documents = {d.document_record_id for d in decisions_of(case)}
    rows = records if records is not None else list(db.session.scalars(select(Record).where(Record.case_id == case.id)))
    return {r.id for r in rows if r.id > (first.last_record_id or 0) and r.id not in documents}


def is_post_decision(record: Record) -> bool:
    return record.id in post_decision_ids(record.case, [record])


# --- the gate ------------------------------------------------------------------------------------------

def review_problems(case: Case, reasons: list[str]) -> list[str]:
    """For a major decision: a passed review of exactly this dossier, and the collective discussion."""
    if not reasons:
        return []
    request = _review.latest_request(case)
    if request is None or request.status != ReviewStatus.PASSED.value:
        return [_("This is a major decision (%(reasons)s): it must pass legal review before the decision "
                  "(行政处罚法 art. 58).", reasons="；".join(reasons))]
    problems = []
    if request.digest != dossier.digest(case):
        problems.append(_("The legal review of %(day)s no longer matches the dossier: records or facts changed after "
                          "the sign-off. Submit the case for review again.",
                          day=request.reviewed_at.date().isoformat()))
    discussed = db.session.scalar(select(func.count(CollectiveDiscussion.id)).where(
        CollectiveDiscussion.case_id == case.id, CollectiveDiscussion.created_at >= request.reviewed_at))
    if not discussed:
        problems.append(_("A major decision needs the collective discussion (集体讨论) of the body's leaders, "
                          "recorded after the legal review (行政处罚法 art. 57)."))
    return problems


def deadline_problems(case: Case, today: date) -> list[str]:
    if today > case.decision_due_on:
        return [_("The 90-day limit for the decision ended on %(day)s (行政处罚法 art. 60): the head must approve an "
                  "extension with a reason first.", day=case.decision_due_on.isoformat())]
    return []


@gate(Stage.NOTICE, Stage.DECISION)
@gate(Stage.REVIEW, Stage.DECISION)
def review_and_deadline(case: Case, today: date) -> list[str]:
    """A major decision needs a passed review of this dossier; every decision, the 90-day limit."""
    return review_problems(case, major_reasons(case)) + deadline_problems(case, today)


@gate(Stage.NOTICE, Stage.DECISION)
@gate(Stage.REVIEW, Stage.DECISION)
def decision_signed(case: Case, today: date) -> list[str]:
    """The case reaches the decision stage only by the head's signature on the decision form."""
    if original_decision(case) is not None:
        return []
    return [_("The head has not signed the decision: it is made final on the decision form.")]


def decision_problems(case: Case, proposal: _review.ProposalData, *, discretion_band_id=None, outside_band_reason: str = "",
                      performance: str = "", today: date | None = None) -> list[str]:
    """Every unmet condition of making this decision final now, in words (empty: it may be signed)."""
    from . import workflow

    today = today or local_today()
    problems = []
    if case.stage not in OPEN_FOR_DECISION:
        return [_("A decision is made after the notice (and the legal review, when major); this case is in "
                  "%(stage)s.", stage=workflow.stage_label(case.stage))]
    if original_decision(case) is not None:
        return [_("The case is decided already: a decision is changed or revoked only by a new decision.")]
    pending = _review.latest_request(case)
    if pending is not None and pending.status == ReviewStatus.PENDING.value:
        problems.append(_("The case awaits legal review (request %(id)s): wait for the reviewer's opinion.",
                          id=pending.id))
    try:
        plan = proposal.parsed()
    except DomainError as exc:
        return [exc.message]
    problems += _notice.check_proposal(plan.decision_type, plan.fine_amount, plan.confiscation_value, plan.content)
    if not plan.legal_basis:
        problems.append(_("Give the legal basis of the decision."))
    if not (performance or "").strip():
        problems.append(_("Say how and by when the decision is to be carried out."))
    notice = latest_notice(case)
    problems += _review.beyond_notice(notice, plan)
    band, band_issues = _review.band_problems(case, discretion_band_id, plan.fine_amount, outside_band_reason)
    problems += band_issues
    reasons = list(dict.fromkeys(major_reasons(case, _review._WithBand(plan, band)) + major_reasons(case)))
    problems += review_problems(case, reasons)
    request = _review.latest_request(case)
    if reasons and request is not None and request.status == ReviewStatus.PASSED.value:
        # What the reviewer saw includes the band chosen and the reason for leaving it (裁量基准).
        outside_reason = (outside_band_reason or "").strip() if outside_band(band, plan.fine_amount) else ""
        if (plan.decision_type, plan.fine_amount, plan.confiscation_value, band.id if band else None,
                outside_reason) != (request.decision_type, request.fine_amount, request.confiscation_value,
                                    request.discretion_band_id, request.outside_band_reason or ""):
            problems.append(_("The decision differs from what the legal review passed (%(what)s): submit the "
                              "changed proposal for review.",
                              what=" · ".join(filter(None, [
                                  _proposal_words(request),
                                  request.discretion_band.circumstance if request.discretion_band else "",
                                  request.outside_band_reason]))))
    target = Stage.DECISION
    problems += [p for p in workflow.unmet(case, target, today=today, skip=(decision_signed, review_and_deadline))]
    problems += deadline_problems(case, today)
    return list(dict.fromkeys(problems))


def _proposal_words(p) -> str:
    words = decision_type_label(p.decision_type)
    if p.fine_amount is not None:
        words += f" {money(p.fine_amount)}"
    if p.confiscation_value is not None:
        words += f" {money(p.confiscation_value)}"
    return words


def proposal_for(case: Case) -> _review.ProposalData | None:
    """What the decision form starts from: the proposal the review passed, else the notice's."""
    request = _review.latest_request(case)
    source = request if request is not None and request.status == ReviewStatus.PASSED.value else latest_notice(case)
    if source is None:
        return None
    return _review.ProposalData(source.decision_type, source.fine_amount, source.confiscation_value, source.content,
                        source.legal_basis)


# --- the head's signature --------------------------------------------------------------------------------

def finalise(case: Case, *, actor: User, password: str, proposal: _review.ProposalData, discretion_band_id=None,
             outside_band_reason: str = "", performance: str = "", today: date | None = None) -> Decision:
    """The head signs the decision: the gate runs under the case's lock, the 决定书 is produced and kept."""
    from . import workflow
    from .records import lock_case

    today = today or local_today()
    if not is_head_of(actor, case.body_id):
        raise PermissionDenied(_("Only the head of %(body)s signs its decisions.", body=case.body.name))
    _review._check_password(actor, password)
    lock_case(case)  # from here to the commit no record can be added to the case
    problems = decision_problems(case, proposal, discretion_band_id=discretion_band_id,
                                 outside_band_reason=outside_band_reason, performance=performance, today=today)
    if problems:
        raise GateRefused(problems)
    plan = proposal.parsed()
    band, _issues = _review.band_problems(case, discretion_band_id, plan.fine_amount, outside_band_reason)
    with force_locale("zh_Hans_CN"):  # stored reasons are part of the record: in the documents' language
        reasons = list(dict.fromkeys(major_reasons(case, _review._WithBand(plan, band)) + major_reasons(case)))
    request = _review.latest_request(case) if reasons else None
    discussion = db.session.scalar(select(CollectiveDiscussion).where(CollectiveDiscussion.case_id == case.id)
                                   .order_by(CollectiveDiscussion.id.desc()).limit(1)) if reasons else None
    notice = latest_notice(case)
    digest = dossier.digest(case)
    last_record_id = db.session.scalar(select(func.max(Record.id)).where(Record.case_id == case.id))
    outside_reason = (outside_band_reason or "").strip()
    if not outside_band(band, plan.fine_amount):
        outside_reason = ""
    data = _decision_pdf(case, plan, band=band, outside_reason=outside_reason, performance=performance.strip(),
                         request=request, discussion=discussion, actor=actor, decided_on=today, digest=digest,
                         title=_title(case, plan), kind=DecisionKind.DECISION)
    record = records.store_generated(case, actor, type_code="decision", stage=Stage.DECISION,
                                     filename=f"{_title(case, plan)}-{case.number}.pdf", data=data,
                                     description=_proposal_words(plan))
    decision = Decision(
        case_id=case.id, kind=DecisionKind.DECISION.value, decision_type=plan.decision_type,
        fine_amount=plan.fine_amount, confiscation_value=plan.confiscation_value, content=plan.content,
        legal_basis=plan.legal_basis, major=bool(reasons), major_reasons=json.dumps(reasons, ensure_ascii=False),
        discretion_band_id=band.id if band else None, outside_band_reason=outside_reason,
        notice_id=notice.id if notice else None, review_request_id=request.id if request else None,
        collective_discussion_id=discussion.id if discussion else None, digest=digest, decided_on=today,
        signed_by_id=actor.id, signed_at=utcnow(), last_record_id=last_record_id, document_record_id=record.id)
    db.session.add(decision)
    db.session.flush()
    audit.record("decision.made", "decision", decision.id, case.number, actor=actor,
                 after={"decision_type": plan.decision_type, "fine_amount": plan.fine_amount,
                        "confiscation_value": plan.confiscation_value, "major": bool(reasons),
                        "major_reasons": reasons, "digest": digest, "decided_on": today,
                        "outside_band_reason": outside_reason, "document": record.original_filename},
                 body_id=case.body_id, case_id=case.id)
    workflow.advance(case, Stage.DECISION, actor=actor, today=today)
    _disclosure.draft_for_decision(decision, actor=actor)  # the publication clock starts with the decision
    return decision


def _title(case: Case, plan) -> str:
    from ..models import DecisionType

    if plan.decision_type == DecisionType.DEMOLITION.value:
        return "限期拆除决定书"
    if plan.decision_type == DecisionType.NO_PENALTY.value:
        return "不予行政处罚决定书"
    return "行政处罚决定书"


def _decision_pdf(case: Case, plan, *, band, outside_reason: str, performance: str, request, discussion, actor: User,
                  decided_on: date, digest: str, title: str, kind: DecisionKind, reason: str = "",
                  replaces: Decision | None = None) -> bytes:
    from . import documents, records

    party = [f"当事人：{case.party_name}"]
    if case.party_id_number:
        party.append(f"身份证件号码：{case.party_id_number}")
    if case.party_address:
        party.append(f"住址：{case.party_address}")
    evidence = [f"{r.record_type.name}（{r.original_filename}）" for r in records.current_records(case)
                if r.type_code not in dossier.PROCESS_TYPES]
    with force_locale("zh_Hans_CN"):
        measures = _proposal_words(plan)
        if kind != DecisionKind.DECISION:
            head = "撤销" if kind == DecisionKind.REVOCATION else "变更"
            measures = f"{head}本机关于{replaces.decided_on.isoformat()}作出的决定（{case.number}）。理由：{reason}\n" + \
                (measures if kind == DecisionKind.CHANGE else "")
        doc = documents.DecisionDoc(
            body_name=case.body.name, title=title, document_number=case.number, party_lines=party,
            facts=case.summary, evidence=evidence, legal_basis=plan.legal_basis,
            decision_text=f"{measures}\n{plan.content}".strip(),
            discretion=(f"适用裁量基准：{band.circumstance}（{_review.band_range(band)}）" if band else "")
            + (f"；超出裁量基准的理由：{outside_reason}" if outside_reason else ""),
            review_note=(f"本案已于{request.reviewed_at.date().isoformat()}经法制审核通过（审核人：{request.reviewer.name}）。"
                         if request is not None else ""),
            collective_note=(f"本案已于{discussion.held_on.isoformat()}经集体讨论决定。" if discussion is not None else ""),
            performance=performance,
            remedy=case.body.remedy_info or (
                "如不服本决定，可以在收到本决定书之日起六十日内依法申请行政复议，或者在六个月内依法向人民法院提起行政诉讼。"),
            signed_by=actor.name, decided_on=f"{decided_on.year}年{decided_on.month}月{decided_on.day}日",
            digest=digest)
        return documents.decision_pdf(doc)


# --- the 90-day limit ---------------------------------------------------------------------------------

def extend_deadline(case: Case, *, actor: User, new_due: date, reason: str) -> DeadlineExtension:
    """The head approves deciding after the 90 days (行政处罚法 art. 60), with the reason."""
    from .cases import OPEN_STAGES

    if not is_head_of(actor, case.body_id):
        raise PermissionDenied(_("Only the head of %(body)s approves an extension.", body=case.body.name))
    problems = []
    if case.stage not in OPEN_STAGES:
        problems.append(_("The case is decided: there is no decision limit left to extend."))
    if not (reason or "").strip():
        problems.append(_("Give the reason for the extension."))
    if new_due is None or new_due <= case.decision_due_on:
        problems.append(_("The new limit must be later than %(day)s.", day=case.decision_due_on.isoformat()))
    if problems:
        raise GateRefused(problems)
    row = DeadlineExtension(case_id=case.id, previous_due=case.decision_due_on, new_due=new_due,
                            reason=reason.strip(), approved_by_id=actor.id)
    db.session.add(row)
    before = {"decision_due_on": case.decision_due_on}
    case.decision_due_on = new_due
    audit.record("case.deadline_extended", "case", case.id, case.number, actor=actor, before=before,
                 after={"decision_due_on": new_due, "reason": row.reason}, body_id=case.body_id, case_id=case.id)
    return row


def extensions_of(case: Case) -> list[DeadlineExtension]:
    return list(db.session.scalars(select(DeadlineExtension).where(DeadlineExtension.case_id == case.id)
                                   .order_by(DeadlineExtension.id)))


# --- revocation and change -------------------------------------------------------------------------------

def replace(decision: Decision, *, actor: User, password: str, kind: DecisionKind | str, reason: str,
            proposal: _review.ProposalData | None = None, performance: str = "", today: date | None = None) -> Decision:
    """Revoke or change a final decision by a new decision naming it, with the reason (never an edit)."""
    case = decision.case
    today = today or local_today()
    kind = DecisionKind(kind)
    if kind == DecisionKind.DECISION:
        raise DomainError(_("A decision is replaced by a revocation or a change."))
    if not is_head_of(actor, case.body_id):
        raise PermissionDenied(_("Only the head of %(body)s signs its decisions.", body=case.body.name))
    if case.stage == Stage.ARCHIVED.value:
        raise DomainError(_("The case is archived: its file is read-only."))
    _review._check_password(actor, password)
    from .records import lock_case

    lock_case(case)
    problems = []
    current = current_decision(case)
    if current is None or current.id != decision.id:
        raise Conflict(_("This decision was revoked or changed already; act on the one in force."))
    if decision.kind == DecisionKind.REVOCATION.value:
        raise DomainError(_("A revocation ends the decision: it is not revoked or changed in turn."))
    if not (reason or "").strip():
        problems.append(_("Give the reason for revoking or changing the decision."))
    if kind == DecisionKind.CHANGE:
        if proposal is None:
            problems.append(_("Say what the changed decision orders."))
        else:
            try:
                plan = proposal.parsed()
            except DomainError as exc:
                problems.append(exc.message)
                plan = None
            if plan is not None:
                problems += _notice.check_proposal(plan.decision_type, plan.fine_amount, plan.confiscation_value,
                                           plan.content)
    else:
        plan = _review.ProposalData(decision.decision_type, None, None, "", decision.legal_basis)
    if problems:
        raise GateRefused(problems)
    digest = dossier.digest(case)
    title = "撤销行政处罚决定书" if kind == DecisionKind.REVOCATION else "变更行政处罚决定书"
    data = _decision_pdf(case, plan, band=None, outside_reason="", performance=(performance or "").strip(),
                         request=None, discussion=None, actor=actor, decided_on=today, digest=digest, title=title,
                         kind=kind, reason=reason.strip(), replaces=decision)
    record = records.store_generated(case, actor, type_code="decision", stage=Stage.DECISION,
                                     filename=f"{title}-{case.number}.pdf", data=data, description=reason.strip())
    last_record_id = db.session.scalar(select(func.max(Record.id)).where(Record.case_id == case.id))
    row = Decision(case_id=case.id, kind=kind.value, replaces_id=decision.id, reason=reason.strip(),
                   decision_type=plan.decision_type, fine_amount=plan.fine_amount,
                   confiscation_value=plan.confiscation_value, content=plan.content or reason.strip(),
                   legal_basis=plan.legal_basis, major=decision.major, major_reasons=json.dumps([]),
                   digest=digest, decided_on=today, signed_by_id=actor.id, signed_at=utcnow(),
                   last_record_id=last_record_id, document_record_id=record.id)
    db.session.add(row)
    db.session.flush()
    audit.record("decision.revoked" if kind == DecisionKind.REVOCATION else "decision.changed", "decision", row.id,
                 case.number, actor=actor, before={"decision": decision.id},
                 after={"reason": row.reason, "decision_type": row.decision_type, "fine_amount": row.fine_amount,
                        "document": record.original_filename}, body_id=case.body_id, case_id=case.id)
    _disclosure.on_decision_replaced(decision, row, actor=actor, today=today)
    return row


def _register_timeline() -> None:
    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS

    EVENT_LABELS.update({"decision.made": _l("Decision signed (决定)"), "decision.revoked": _l("Decision revoked"),
                         "decision.changed": _l("Decision changed"),
                         "case.deadline_extended": _l("Decision limit extended")})
    SHOWN_FIELDS["decision.made"] = ("decision_type", "fine_amount", "confiscation_value", "major_reasons", "digest",
                                     "outside_band_reason", "document")
    FIELD_LABELS.update({"major": _l("Major"), "decided_on": _l("Decided on"), "document": _l("Document"),
                         "outside_band_reason": _l("Why outside the discretion band")})


_register_timeline()
