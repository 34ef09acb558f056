"""Service of documents (送达): how and when each document reached the party, with its proof.

- The decision is served on the spot when the party is present, otherwise within 7 working days
  (行政处罚法 art. 61). Serving late is recorded as late; it does not undo the service.
- The proof is always a record of the case of type 送达回证 (the signed receipt, the posting proof,
  the e-service system's confirmation). Leaving it (留置送达) needs a witness or a video; e-service
  needs the party's written consent (art. 61); a public notice (公告送达) needs the reason and counts
  as served 30 days after it was posted (民事诉讼法 art. 95).
- The case leaves the service stage only once the decision in force is served (`_decision_served`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import Case, Decision, Record, RecordKind, Stage, User
from ..models.execution import DocumentService, ServedDocument, ServiceMethod
from . import audit
from .calendar import add_calendar_days
from .clock import local_today
from .errors import GateRefused, PermissionDenied
from .workflow import gate, stage_label

DECISION_SERVICE_DAYS = 7   # working days when the party was absent (行政处罚法 art. 61)
PUBLIC_NOTICE_DAYS = 30     # deemed served (民事诉讼法 art. 95)
PROOF_TYPE = "service_receipt"

METHOD_LABELS = {
    ServiceMethod.DIRECT: _l("Handed over, receipt signed (直接送达)"),
    ServiceMethod.LEFT: _l("Left at the home after a refusal (留置送达)"),
    ServiceMethod.POST: _l("By post (邮寄送达)"),
    ServiceMethod.ELECTRONIC: _l("Electronically, with consent (电子送达)"),
    ServiceMethod.ENTRUSTED: _l("Through another body (委托送达)"),
    ServiceMethod.PUBLIC_NOTICE: _l("By public notice (公告送达)"),
}
DOCUMENT_LABELS = {
    ServedDocument.DECISION: _l("Decision"),
    ServedDocument.REMINDER: _l("Reminder (催告书)"),
    ServedDocument.ENFORCEMENT_DECISION: _l("Compulsory-execution decision (强制执行决定书)"),
    ServedDocument.ATTENDANCE_NOTICE: _l("Notice to attend the execution"),
}


# The document each execution document comes after.
PRECEDED_BY = {ServedDocument.REMINDER: ServedDocument.DECISION,
               ServedDocument.ENFORCEMENT_DECISION: ServedDocument.REMINDER,
               ServedDocument.ATTENDANCE_NOTICE: ServedDocument.ENFORCEMENT_DECISION}


def method_label(method: str) -> str:
    return str(METHOD_LABELS[ServiceMethod(method)])


def document_label(document: str) -> str:
    return str(DOCUMENT_LABELS[ServedDocument(document)])


def can_record(user: User, case: Case) -> bool:
    from .permissions import can_edit_case

    return can_edit_case(user, case)


def services_of(case: Case, document: ServedDocument | str | None = None) -> list[DocumentService]:
    query = select(DocumentService).where(DocumentService.case_id == case.id)
    if document is not None:
        query = query.where(DocumentService.document == ServedDocument(document).value)
    return list(db.session.scalars(query.order_by(DocumentService.deemed_served_on, DocumentService.id)))


def served(case: Case, document: ServedDocument | str, *, decision: Decision | None = None,
           by: date | None = None) -> DocumentService | None:
    """The first service of the document that counts (deemed served on or before `by`, if given).

    Only a service made under the decision in force counts (or under `decision`, if given): a changed
    decision is served anew, and so are the reminder and the rest of the execution that follow it.
    """
    if decision is None:
        from .decisions import current_decision

        decision = current_decision(case)
    for row in services_of(case, document):
        if decision is not None and row.decision_id != decision.id:
            continue
        if by is None or row.deemed_served_on <= by:
            return row
    return None


def decision_due_on(decision: Decision) -> tuple[date, bool]:
    """The last day to serve the decision on an absent party, and whether the calendar made it exact."""
    from .disclosure import deadline

    return deadline(decision.decided_on, DECISION_SERVICE_DAYS)


@dataclass
class DecisionService:
    """Where the service of the decision in force stands (for the case page, the scorecard, the self-check)."""

    decision: Decision | None
    due_on: date | None
    exact: bool
    service: DocumentService | None
    # "not_applicable" (no decision), "served", "late", or, not served yet, "pending" / "overdue" as of today.
    state: str


def decision_service(case: Case, today: date | None = None) -> DecisionService:
    from .decisions import current_decision

    today = today or local_today()
    decision = current_decision(case)
    if decision is None:
        return DecisionService(None, None, True, None, "not_applicable")
    due, exact = decision_due_on(decision)
    row = served(case, ServedDocument.DECISION, decision=decision)
    if row is not None:
        return DecisionService(decision, due, exact, row, "served" if row.served_on <= due else "late")
    return DecisionService(decision, due, exact, None, "overdue" if today > due else "pending")


def _proof(case: Case, record_id, *, what: str, problems: list[str], kinds=None, types=None) -> Record | None:
    if not record_id:
        return None
    from .records import current_records

    wanted = int(record_id) if str(record_id).strip().isdigit() and len(str(record_id).strip()) < 10 else 0
    record = db.session.get(Record, wanted) if wanted else None
    current = {r.id for r in current_records(case)}
    if record is None or record.case_id != case.id or record.id not in current:
        problems.append(_("The %(what)s must be a current record of this case.", what=what))
        return None
    if types and record.type_code not in types:
        problems.append(_("The %(what)s must be a record of type %(types)s.", what=what, types="、".join(types)))
    if kinds and record.record_type.kind not in kinds:
        problems.append(_("The %(what)s must be a video or audio record.", what=what))
    return record


def record_service(case: Case, *, actor: User, document: str, method: str, served_on: date | None,
                   proof_record_id, recipient: str = "", witness: str = "", video_record_id=None,
                   consent_record_id=None, party_present: bool = False, note: str = "",
                   comply_by: date | None = None, today: date | None = None) -> DocumentService:
    """Record one service of a document; refuses with every unmet condition in words."""
    from .decisions import current_decision
    from .records import STAGE_ORDER  # here, not at the top: records imports workflow, which imports this module

    today = today or local_today()
    if not can_record(actor, case):
        raise PermissionDenied(_("Only the officers on the case or the head of the body record a service."))
    problems: list[str] = []
    try:
        document = ServedDocument(document)
    except ValueError:
        problems.append(_("Choose which document was served."))
        document = None
    try:
        method = ServiceMethod(method)
    except ValueError:
        problems.append(_("Choose how it was served."))
        method = None
    decision = current_decision(case)
    if STAGE_ORDER.index(Stage(case.stage)) < STAGE_ORDER.index(Stage.DECISION) or decision is None:
        problems.append(_("There is no decision in force yet: nothing can be served."))
    if Stage(case.stage) in (Stage.CLOSED, Stage.ARCHIVED):
        problems.append(_("The case is %(stage)s: no service can be added.", stage=stage_label(case.stage)))
    if served_on is None:
        problems.append(_("Give the day it was served."))
    elif served_on > today:
        problems.append(_("A service cannot be dated in the future."))
    elif decision is not None and served_on < decision.decided_on:
        problems.append(_("A service cannot be dated before the decision of %(day)s.", day=decision.decided_on))
    if not proof_record_id:
        problems.append(_("Attach the proof of service (送达回证) as a record of the case first, then choose it."))
    _proof(case, proof_record_id, what=_("proof of service"), problems=problems, types=(PROOF_TYPE,))
    recipient, witness, note = (recipient or "").strip(), (witness or "").strip(), (note or "").strip()
    video = _proof(case, video_record_id, what=_("video of the service"), problems=problems,
                   kinds=(RecordKind.VIDEO.value, RecordKind.AUDIO.value))
    consent = _proof(case, consent_record_id, what=_("consent to electronic service"), problems=problems)
    if method in (ServiceMethod.DIRECT, ServiceMethod.LEFT, ServiceMethod.POST, ServiceMethod.ENTRUSTED) \
            and not recipient:
        problems.append(_("Name who signed for or received the document."))
    if method == ServiceMethod.LEFT and not witness and video is None:
        problems.append(_("Leaving the document (留置送达) needs a witness or a video of it."))
    if method == ServiceMethod.ELECTRONIC and consent is None:
        problems.append(_("Electronic service needs the party's signed consent (行政处罚法 art. 61) as a record."))
    if method == ServiceMethod.PUBLIC_NOTICE and not note:
        problems.append(_("Say why the party could not be served otherwise (公告送达 is the last resort)."))
    if party_present and document == ServedDocument.DECISION and decision is not None \
            and served_on is not None and served_on != decision.decided_on:
        problems.append(_("A decision handed over with the party present is served on the day of the decision."))
    # The execution's documents follow one another: the decision, the reminder, the compulsory-execution
    # decision, then the notice to attend (行政强制法 art. 35–38, 18).
    if document is not None and document != ServedDocument.DECISION and decision is not None and served_on:
        before = PRECEDED_BY[document]
        earlier = served(case, before, decision=decision, by=served_on)
        if earlier is None:
            problems.append(_("The %(document)s follows the %(before)s, which had not counted as served by %(day)s.",
                              document=document_label(document), before=document_label(before), day=served_on))
        elif before == ServedDocument.REMINDER and earlier.comply_by and served_on <= earlier.comply_by:
            problems.append(_("The compulsory-execution decision comes only after the reminder's deadline "
                              "(%(day)s) passed with nothing done (行政强制法 art. 37).", day=earlier.comply_by))
    if document == ServedDocument.REMINDER:
        if comply_by is None:
            problems.append(_("Give the deadline the reminder sets the party to perform (行政强制法 art. 35)."))
        elif served_on is not None and comply_by <= served_on:
            problems.append(_("The reminder's deadline must come after the day it was served."))
    if problems:
        raise GateRefused(problems)
    deemed = add_calendar_days(served_on, PUBLIC_NOTICE_DAYS, lenient=True) \
        if method == ServiceMethod.PUBLIC_NOTICE else served_on
    row = DocumentService(case_id=case.id, document=document.value,
                          decision_id=decision.id,
                          method=method.value, served_on=served_on, deemed_served_on=deemed,
                          party_present=bool(party_present), recipient=recipient[:120], witness=witness[:120],
                          comply_by=comply_by if document == ServedDocument.REMINDER else None,
                          proof_record_id=int(proof_record_id), video_record_id=video.id if video else None,
                          consent_record_id=consent.id if consent else None, note=note, recorded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    after = {"document": row.document, "method": row.method, "served_on": served_on, "deemed_served_on": deemed,
             "proof_record_id": row.proof_record_id, **({"comply_by": row.comply_by} if row.comply_by else {})}
    if document == ServedDocument.DECISION:
        due, _exact = decision_due_on(decision)
        after.update(decision_id=decision.id, service_due_on=due, late=served_on > due)
    audit.record("service.recorded", "document_service", row.id, f"{case.number} {document_label(row.document)}",
                 actor=actor, after=after, body_id=case.body_id, case_id=case.id)
    return row


@gate(Stage.SERVICE, Stage.EXECUTION)
@gate(Stage.SERVICE, Stage.CLOSED)
def _decision_served(case: Case, today: date) -> list[str]:
    """The case leaves service only once the decision in force has reached the party."""
    state = decision_service(case, today)
    if state.decision is None:
        return [_("There is no decision in force to serve.")]
    if state.service is None:
        return [_("The decision has not been served: record how and when it was served, with the receipt (送达回证).")]
    if state.service.deemed_served_on > today:
        return [_("The public notice counts as service only from %(day)s.", day=state.service.deemed_served_on)]
    return []


def _register_timeline() -> None:
    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS

    EVENT_LABELS.update({"service.recorded": _l("Service recorded")})
    SHOWN_FIELDS.update({"service.recorded": ("document", "method", "served_on", "deemed_served_on", "comply_by",
                                              "service_due_on", "late")})
    for key, label in (("document", _l("Document")), ("method", _l("Method")), ("served_on", _l("Served on")),
                       ("deemed_served_on", _l("Counts as served on")), ("service_due_on", _l("To be served by")),
                       ("late", _l("Late")), ("comply_by", _l("To perform by"))):
        FIELD_LABELS.setdefault(key, label)


_register_timeline()
