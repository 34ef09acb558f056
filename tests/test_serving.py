"""Specification of the service of documents (services.serving), tested without HTTP.

送达: the decision reaches the party on the spot or within 7 working days (行政处罚法 art. 61); the
proof is always a current 送达回证 record of the case; leaving the document (留置送达) needs a witness
or a video; e-service needs the party's consent on record; a public notice (公告送达) needs its reason
and counts as served 30 days after (民事诉讼法 art. 95); a late service is recorded as late; the case
leaves the service stage only once the decision in force is served; a changed decision is served anew.
"""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from enforcement.extensions import db
from enforcement.models import AuditEvent, Role, Stage
from enforcement.services import dashboard, decisions, review, serving, workflow
from enforcement.services.errors import GateRefused, PermissionDenied
from tests.factories import PASSWORD, add_record

DAY = date(2026, 10, 20)            # a Tuesday
BEFORE_HOLIDAY = date(2026, 9, 30)  # the day before the National Day holiday (1–7 October, 10 October worked)

pytestmark = pytest.mark.usefixtures("without_record_rules")


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


# --- shared helpers (also used by tests/test_execution.py and tests/test_closing.py) ----------------------

def plain_matter(make, team, **kw):
    """A general penalty matter, not major, no demolition route."""
    values = {"route": None, "name": "一般处罚事项"}
    values.update(kw)
    return make.matter(team["body"], **values)


def in_service(make, team, *, day=DAY, decision_type="fine", fine_amount="5000", matter=None, **kw):
    """A case decided on `day` and moved to service the same day (a fine of 5000, not major, by default).

    The records the rules require are added before each move, so this works with or without the rules.
    """
    matter = matter or plain_matter(make, team)
    case = make.case(team, approve=True, matter=matter, filed_on=day - timedelta(days=30), **kw)
    make.record(case, "site_photo")
    make.required_records(case)
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=day)
    db.session.commit()
    make.notice(case, decision_type=decision_type, fine_amount=fine_amount if decision_type == "fine" else None,
                served_on=day - timedelta(days=10), today=day)
    make.required_records(case)
    decision = make.decide(case, team, today=day)
    make.required_records(case)
    workflow.advance(case, Stage.SERVICE, actor=team["officer"], today=day)
    db.session.commit()
    return case, decision


def events(action, case=None):
    query = select(AuditEvent).where(AuditEvent.action == action)
    if case is not None:
        query = query.where(AuditEvent.case_id == case.id)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def refused(call, *args, **kwargs) -> list[str]:
    """The words of a GateRefused (and the session rolled back, as a view would)."""
    with pytest.raises(GateRefused) as exc:
        call(*args, **kwargs)
    db.session.rollback()
    return exc.value.unmet


def record(case, actor, served_on=DAY, today=DAY, *, document="decision", method="direct", proof=None, **kw):
    """serving.record_service with a fresh receipt unless `proof` is given ("" for none)."""
    if proof is None:
        proof = add_record(case, "service_receipt", actor=actor).id
    kw.setdefault("recipient", "张三")
    return serving.record_service(case, actor=actor, document=document, method=method, served_on=served_on,
                                  proof_record_id=proof, today=today, **kw)


@pytest.fixture
def served_case(make, team):
    return in_service(make, team)


# --- a service with its proof -----------------------------------------------------------------------------

def test_a_service_is_recorded_with_its_receipt_and_an_audit_event(make, team, served_case):
    case, decision = served_case
    row = make.serve(case, served_on=DAY, today=DAY)
    assert row.decision_id == decision.id and row.deemed_served_on == DAY and row.proof_record.type_code == \
        "service_receipt"
    state = serving.decision_service(case, DAY)
    assert (state.state, state.due_on, state.service.id) == ("served", date(2026, 10, 29), row.id)
    (event,) = events("service.recorded", case)
    after = json.loads(event.after)
    assert after["document"] == "decision" and after["method"] == "direct" and after["decision_id"] == decision.id
    assert (after["served_on"], after["service_due_on"], after["late"]) == ("2026-10-20", "2026-10-29", False)
    assert event.case_id == case.id and event.actor_id == team["officer"].id


def test_no_proof_is_refused(team, served_case):
    case, _ = served_case
    assert refused(record, case, team["officer"], proof="") == [
        "Attach the proof of service (送达回证) as a record of the case first, then choose it."]


def test_the_proof_must_be_a_service_receipt(team, served_case):
    case, _ = served_case
    other = add_record(case, "other", actor=team["officer"])
    assert refused(record, case, team["officer"], proof=other.id) == [
        "The proof of service must be a record of type service_receipt."]


def test_the_proof_must_be_a_record_of_this_case(make, team, served_case):
    case, _ = served_case
    other_case, _ = in_service(make, team)
    foreign = add_record(other_case, "service_receipt", actor=team["officer"])
    assert refused(record, case, team["officer"], proof=foreign.id) == [
        "The proof of service must be a current record of this case."]


def test_the_proof_must_be_current_not_a_corrected_receipt(team, served_case):
    case, _ = served_case
    old = add_record(case, "service_receipt", actor=team["officer"])
    add_record(case, "service_receipt", actor=team["officer"], supersedes_id=old.id, supersede_reason="签收日期笔误")
    assert refused(record, case, team["officer"], proof=old.id) == [
        "The proof of service must be a current record of this case."]


def test_a_proof_that_is_no_record_is_refused_in_words(team, served_case):
    case, _ = served_case
    for bad in ("abc", "0", "-3", "999999", "99999999999999999999"):
        assert refused(record, case, team["officer"], proof=bad) == [
            "The proof of service must be a current record of this case."], bad


def test_leaving_the_document_needs_a_witness_or_a_video(team, served_case):
    case, _ = served_case
    officer = team["officer"]
    assert refused(record, case, officer, method="left") == [
        "Leaving the document (留置送达) needs a witness or a video of it."]
    document = add_record(case, "other", actor=officer)
    assert refused(record, case, officer, method="left", video_record_id=document.id) == [
        "The video of the service must be a video or audio record."]
    with_witness = record(case, officer, method="left", witness="村委会主任李四")
    assert with_witness.witness == "村委会主任李四"
    video = add_record(case, "body_camera_video", actor=officer)
    filmed = record(case, officer, method="left", video_record_id=video.id)
    assert filmed.video_record_id == video.id


def test_electronic_service_needs_the_partys_consent_on_record(team, served_case):
    case, _ = served_case
    officer = team["officer"]
    assert refused(record, case, officer, method="electronic") == [
        "Electronic service needs the party's signed consent (行政处罚法 art. 61) as a record."]
    consent = add_record(case, "other", actor=officer, description="当事人同意电子送达确认书")
    row = record(case, officer, method="electronic", consent_record_id=consent.id)
    assert row.consent_record_id == consent.id


def test_a_public_notice_needs_its_reason_and_counts_30_days_later(team, served_case):
    case, _ = served_case
    officer = team["officer"]
    assert refused(record, case, officer, method="public_notice", recipient="") == [
        "Say why the party could not be served otherwise (公告送达 is the last resort)."]
    row = record(case, officer, method="public_notice", recipient="", note="当事人下落不明，无法直接或邮寄送达")
    db.session.commit()
    deemed = date(2026, 11, 19)  # 30 days after 20 October, a Thursday
    assert (row.served_on, row.deemed_served_on) == (DAY, deemed)
    assert workflow.unmet(case, Stage.EXECUTION, today=deemed - timedelta(days=1)) == [
        f"The public notice counts as service only from {deemed}."]
    assert workflow.unmet(case, Stage.EXECUTION, today=deemed) == []


def test_a_public_notice_ending_on_a_rest_day_counts_from_the_next_working_day(team, served_case):
    case, _ = served_case
    posted = date(2026, 10, 22)
    row = record(case, team["officer"], served_on=posted, today=posted, method="public_notice", recipient="",
                 note="当事人下落不明")
    assert row.deemed_served_on == date(2026, 11, 23)  # 30 days on is Saturday 21 November: Monday 23rd


# --- dates, order and roles --------------------------------------------------------------------------------

def test_a_service_cannot_be_dated_in_the_future_or_before_the_decision_or_undated(team, served_case):
    case, _ = served_case
    officer = team["officer"]
    assert refused(record, case, officer, served_on=DAY + timedelta(days=1)) == [
        "A service cannot be dated in the future."]
    assert refused(record, case, officer, served_on=DAY - timedelta(days=1)) == [
        "A service cannot be dated before the decision of 2026-10-20."]
    assert refused(record, case, officer, served_on=None) == ["Give the day it was served."]


def test_unknown_document_or_method_and_a_missing_recipient_are_refused(team, served_case):
    case, _ = served_case
    officer = team["officer"]
    assert refused(record, case, officer, document="letter") == ["Choose which document was served."]
    assert refused(record, case, officer, method="pigeon") == ["Choose how it was served."]
    assert refused(record, case, officer, recipient=" ") == ["Name who signed for or received the document."]


def test_a_decision_handed_over_in_person_is_served_on_the_day_of_the_decision(team, served_case):
    case, _ = served_case
    officer = team["officer"]
    assert refused(record, case, officer, served_on=DAY + timedelta(days=1), today=DAY + timedelta(days=1),
                   party_present=True) == [
        "A decision handed over with the party present is served on the day of the decision."]
    assert record(case, officer, party_present=True).party_present is True


def test_nothing_is_served_before_there_is_a_decision(make, team):
    case = make.case(team, approve=True, matter=plain_matter(make, team), filed_on=DAY - timedelta(days=30))
    receipt = add_record(case, "service_receipt", actor=team["officer"])
    assert refused(record, case, team["officer"], proof=receipt.id) == [
        "There is no decision in force yet: nothing can be served."]
    assert events("service.recorded", case) == []


def test_only_the_officers_on_the_case_or_its_head_record_a_service(make, team, served_case):
    case, _ = served_case
    receipt = add_record(case, "service_receipt", actor=team["officer"])
    others = [team["auditor"], team["reviewer"], team["admin"], make.user(Role.OFFICER, body=team["body"]),
              make.user(Role.HEAD)]
    for actor in others:
        with pytest.raises(PermissionDenied) as exc:
            record(case, actor, proof=receipt.id)
        assert exc.value.message == "Only the officers on the case or the head of the body record a service."
        db.session.rollback()
    assert events("service.recorded", case) == []
    assert record(case, team["head"], proof=receipt.id).recorded_by_id == team["head"].id


# --- on time or late: the 7 working days --------------------------------------------------------------------

@pytest.mark.parametrize("served_on, state, score", [
    (date(2026, 10, 15), "served", dashboard.OK),    # the 7th working day after 30 September
    (date(2026, 10, 16), "late", dashboard.LATE),
])
def test_the_7_working_days_run_across_the_national_holiday_and_a_late_service_is_kept_as_late(
        make, team, served_on, state, score):
    case, _ = in_service(make, team, day=BEFORE_HOLIDAY)
    make.serve(case, served_on=served_on, today=served_on)
    result = serving.decision_service(case, served_on)
    assert (result.state, result.due_on, result.exact) == (state, date(2026, 10, 15), True)
    item = next(i for i in dashboard.scorecard(case, served_on) if i.key == "service")
    assert item.state == score
    (event,) = events("service.recorded", case)
    assert json.loads(event.after)["late"] is (state == "late")
    # Late is late, but served: the case may move on.
    assert workflow.unmet(case, Stage.EXECUTION, today=served_on) == []


def test_an_unserved_decision_is_pending_then_overdue_on_the_scorecard(team, served_case):
    case, _ = served_case
    assert serving.decision_service(case, date(2026, 10, 29)).state == "pending"
    item = next(i for i in dashboard.scorecard(case, date(2026, 10, 29)) if i.key == "service")
    assert item.state == dashboard.PENDING
    assert serving.decision_service(case, date(2026, 10, 30)).state == "overdue"
    item = next(i for i in dashboard.scorecard(case, date(2026, 10, 30)) if i.key == "service")
    assert item.state == dashboard.LATE and "2026-10-29" in item.detail


# --- the gate ---------------------------------------------------------------------------------------------

NOT_SERVED = "The decision has not been served: record how and when it was served, with the receipt (送达回证)."


@pytest.mark.parametrize("target", [Stage.EXECUTION, Stage.CLOSED])
def test_the_case_leaves_service_only_once_the_decision_is_served(make, team, served_case, target):
    case, _ = served_case
    assert NOT_SERVED in workflow.unmet(case, target, today=DAY)
    with pytest.raises(GateRefused) as exc:
        workflow.advance(case, target, actor=team["officer"], today=DAY)
    assert NOT_SERVED in exc.value.unmet
    db.session.rollback()
    # Another document does not stand in for it (and a reminder cannot even be served before the decision).
    with pytest.raises(GateRefused, match="follows the Decision, which had not counted as served"):
        make.serve(case, document="reminder", served_on=DAY, today=DAY)
    db.session.rollback()
    assert NOT_SERVED in workflow.unmet(case, target, today=DAY)
    make.serve(case, served_on=DAY, today=DAY)
    assert NOT_SERVED not in workflow.unmet(case, target, today=DAY)


def test_a_service_of_a_replaced_decision_does_not_count_for_the_new_one(make, team, served_case):
    case, decision = served_case
    old = make.serve(case, served_on=DAY, today=DAY)
    later = DAY + timedelta(days=2)
    plan = review.ProposalData("fine", "1000", None, "罚款人民币一千元", "《中华人民共和国城乡规划法》第六十五条")
    new = decisions.replace(decision, actor=team["head"], password=PASSWORD, kind="change", reason="罚款数额过高",
                            proposal=plan, performance="自收到本决定书之日起十五日内履行", today=later)
    db.session.commit()
    state = serving.decision_service(case, later)
    assert state.decision.id == new.id and state.service is None and state.state == "pending"
    assert serving.served(case, "decision", decision=new) is None
    assert serving.served(case, "decision", decision=decision).id == old.id
    assert workflow.unmet(case, Stage.EXECUTION, today=later) == [NOT_SERVED]
    row = make.serve(case, served_on=later, today=later)
    assert row.decision_id == new.id
    assert workflow.unmet(case, Stage.EXECUTION, today=later) == []
