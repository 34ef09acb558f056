"""Specification of the notice (告知), the statement and defence, and the hearing (services.notice).

行政处罚法 art. 44/62: no decision without a notice of the intended decision and the party heard;
art. 64: a hearing may be asked for within 5 working days of the notice (working days per art. 85,
counted by the calendar service: national holidays, 调休 and local overrides; an unknown year is
refused, never guessed). The gate `notice_problems` runs on both ways out of the notice stage.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from enforcement.extensions import db
from enforcement.models import Notice, Role, Stage
from enforcement.services import calendar, decisions, notice, review, workflow
from enforcement.services.calendar import CalendarUnknown
from enforcement.services.errors import DomainError, GateRefused, PermissionDenied
from enforcement.services.major import latest_notice
from tests.factories import PASSWORD

FILED = date(2026, 9, 1)
SERVED = date(2026, 9, 28)       # Monday; 10-01 … 10-07 are the National Day holidays
DEADLINE = date(2026, 10, 10)    # 9-29, 9-30, 10-08, 10-09 and the 调休 Saturday 10-10
DAY = date(2026, 10, 20)

pytestmark = pytest.mark.usefixtures("without_record_rules")


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    with force_locale("en"):
        yield


@pytest.fixture
def matter(make, team):
    """Not major by itself: the gate of the notice is what these tests look at."""
    return make.matter(team["body"], route="", name="一般处罚事项", in_major_catalogue=False)


@pytest.fixture
def case(make, team, matter):
    case = make.case(team, approve=True, matter=matter, filed_on=FILED)
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=DAY)
    db.session.commit()
    return case


def serve(case, actor, **kw):
    values = dict(decision_type="fine", fine_amount="3000", confiscation_value=None, content="罚款人民币三千元",
                  legal_basis="《中华人民共和国城乡规划法》第六十五条", served_on=SERVED, service_method="直接送达",
                  hearing_offered=True, today=DAY)
    values.update(kw)
    row = notice.record_notice(case, actor=actor, **values)
    db.session.commit()
    return row


def refused(case, actor, **kw) -> list[str]:
    """Record a notice expecting a refusal listing its conditions; nothing is written."""
    with pytest.raises(GateRefused) as exc:
        serve(case, actor, **kw)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Notice.id)).where(Notice.case_id == case.id)) == 0
    return exc.value.unmet


def count_notices(case) -> int:
    return db.session.scalar(select(func.count(Notice.id)).where(Notice.case_id == case.id))


# --- record_notice: what is refused ----------------------------------------------------------------

def test_a_notice_is_recorded_only_in_the_notice_stage(make, team, matter):
    case = make.case(team, approve=True, matter=matter, filed_on=FILED)  # in investigation
    with pytest.raises(DomainError, match="recorded in the notice stage"):
        serve(case, team["officer"])
    db.session.rollback()
    assert count_notices(case) == 0


def test_a_notice_served_in_the_future_is_refused(case, team):
    assert refused(case, team["officer"], served_on=DAY + timedelta(days=1)) == [
        "The notice cannot be served in the future."]


def test_a_notice_served_before_the_filing_is_refused(case, team):
    assert refused(case, team["officer"], served_on=FILED - timedelta(days=1)) == [
        "The notice cannot be served before the case was filed."]


def test_a_notice_without_a_service_date_is_refused(case, team):
    assert refused(case, team["officer"], served_on=None) == ["Give the date the notice was served."]


def test_a_fine_without_its_amount_is_refused(case, team):
    assert refused(case, team["officer"], fine_amount=None) == ["A fine needs its amount."]
    assert refused(case, team["officer"], fine_amount="0") == ["A fine needs its amount."]


def test_a_confiscation_without_its_value_is_refused(case, team):
    assert refused(case, team["officer"], decision_type="confiscation", fine_amount=None) == [
        "A confiscation needs the value confiscated."]


def test_every_missing_part_is_listed_at_once(case, team):
    unmet = refused(case, team["officer"], decision_type="teleport", content=" ", legal_basis="",
                    served_on=DAY + timedelta(days=3))
    assert unmet == ["Choose the kind of decision.", "Write out the decision: what is ordered and by when.",
                     "Give the legal basis of the intended decision.", "The notice cannot be served in the future."]


@pytest.mark.parametrize("amount, words", [("abc", "must be an amount in yuan"), ("-1", "cannot be negative"),
                                           ("NaN", "cannot be negative"), ("1e15", "too large")])
def test_a_bad_amount_is_refused_with_words(case, team, amount, words):
    with pytest.raises(DomainError, match=words):
        serve(case, team["officer"], fine_amount=amount)
    db.session.rollback()
    with pytest.raises(DomainError, match=words):
        serve(case, team["officer"], decision_type="confiscation", fine_amount=None, confiscation_value=amount)
    db.session.rollback()
    assert count_notices(case) == 0


def test_amounts_are_kept_to_the_fen(case, team):
    row = serve(case, team["officer"], fine_amount="3,000.5")
    assert str(row.fine_amount) == "3000.50"


@pytest.mark.parametrize("who", ["reviewer", "auditor", "admin", "bystander", "auxiliary", "other_head"])
def test_only_the_officers_on_the_case_and_the_head_record_the_notice(make, case, team, who):
    actor = {"bystander": lambda: make.user(Role.OFFICER, body=team["body"]),
             "auxiliary": lambda: team["officer2"],
             "other_head": lambda: make.user(Role.HEAD, body=make.body())}.get(who, lambda: team[who])()
    if who == "auxiliary":  # an officer of the case who became auxiliary staff (协管) since
        from enforcement.services import people
        people.update_user(actor, actor=team["admin"], auxiliary=True)
        db.session.commit()
    with pytest.raises(PermissionDenied):
        serve(case, actor)
    db.session.rollback()
    assert count_notices(case) == 0


@pytest.mark.parametrize("who", ["officer", "officer2", "head"])
def test_officers_on_the_case_and_the_head_record_the_notice(case, team, who):
    row = serve(case, team[who])
    assert row.created_by_id == team[who].id and latest_notice(case).id == row.id


def test_recording_a_notice_writes_an_audit_event(case, team):
    from enforcement.models import AuditEvent

    row = serve(case, team["officer"])
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "notice.recorded"))
    assert event.case_id == case.id and event.object_id == str(row.id) and event.actor_id == team["officer"].id


# --- the hearing deadline: 5 working days on the calendar --------------------------------------------

def test_the_hearing_deadline_is_five_working_days_over_national_day(case, team):
    row = serve(case, team["officer"])
    assert row.hearing_deadline == DEADLINE  # the 调休 Saturday counts; the holidays do not


def test_no_hearing_offered_no_deadline(case, team):
    row = serve(case, team["officer"], hearing_offered=False)
    assert row.hearing_deadline is None


def test_a_local_override_shifts_the_hearing_deadline(case, team):
    calendar.set_override(actor=team["admin"], day=date(2026, 9, 29), workday=False, reason="县政府通知：台风停工")
    db.session.commit()
    row = serve(case, team["officer"])
    assert row.hearing_deadline == date(2026, 10, 12)  # one day later: 10-11 is a Sunday


def test_a_hearing_deadline_in_a_year_the_calendar_does_not_know_is_refused_loudly(make, team, matter):
    case = make.case(team, approve=True, matter=matter, filed_on=FILED)
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=DAY)
    db.session.commit()
    with pytest.raises(CalendarUnknown) as exc:
        serve(case, team["officer"], served_on=date(2026, 12, 29), today=date(2026, 12, 30))
    assert "2027" in exc.value.message
    db.session.rollback()
    assert count_notices(case) == 0


def test_the_deadline_is_computed_not_typed(case, team):
    with pytest.raises(TypeError):
        notice.record_notice(case, actor=team["officer"], decision_type="warning", content="警告",
                             legal_basis="某法", served_on=SERVED, hearing_deadline=date(2027, 1, 1), today=DAY)


# --- statement and defence (陈述申辩) ----------------------------------------------------------------

def test_the_statement_needs_a_notice_first(case, team):
    with pytest.raises(DomainError, match="Record the notice"):
        notice.record_statement(case, actor=team["officer"], statement="我不同意")


def test_the_statement_is_recorded_in_the_notice_stage_only(make, team, matter):
    case = make.case(team, approve=True, matter=matter, filed_on=FILED)
    with pytest.raises(DomainError, match="notice stage"):
        notice.record_statement(case, actor=team["officer"], waived=True)


def test_statement_or_waiver_not_both_not_neither(case, team):
    serve(case, team["officer"])
    with pytest.raises(DomainError, match="not both"):
        notice.record_statement(case, actor=team["officer"], statement="我有话说", waived=True)
    with pytest.raises(DomainError, match="statement and defence"):
        notice.record_statement(case, actor=team["officer"], statement="  ")
    row = notice.record_statement(case, actor=team["officer"], statement="房屋系自住，请从轻处理")
    assert row.statement == "房屋系自住，请从轻处理" and row.statement_waived is False
    row = notice.record_statement(case, actor=team["officer"], waived=True)
    assert row.statement == "" and row.statement_waived is True and row.statement_recorded_at is not None


def test_only_an_editor_records_the_statement(case, team):
    serve(case, team["officer"])
    for who in ("reviewer", "auditor", "admin"):
        with pytest.raises(PermissionDenied):
            notice.record_statement(case, actor=team[who], waived=True)


# --- the hearing ---------------------------------------------------------------------------------------

def test_a_hearing_request_within_the_five_working_days_is_kept(case, team):
    serve(case, team["officer"])
    row = notice.record_hearing_request(case, actor=team["officer"], requested_on=DEADLINE, today=DAY)
    assert row.hearing_requested_on == DEADLINE  # the last day still counts


def test_a_hearing_request_after_the_deadline_is_refused_with_the_deadline_in_words(case, team):
    serve(case, team["officer"])
    with pytest.raises(DomainError) as exc:
        notice.record_hearing_request(case, actor=team["officer"], requested_on=date(2026, 10, 12), today=DAY)
    assert "2026-10-10" in exc.value.message and "2026-10-12" in exc.value.message
    assert "5 working days" in exc.value.message
    assert latest_notice(case).hearing_requested_on is None


def test_a_hearing_request_in_the_future_or_before_the_notice_is_refused(case, team):
    serve(case, team["officer"])
    with pytest.raises(DomainError, match="not in the future"):
        notice.record_hearing_request(case, actor=team["officer"], requested_on=date(2026, 10, 9),
                                      today=date(2026, 10, 8))
    with pytest.raises(DomainError, match="before the notice was served"):
        notice.record_hearing_request(case, actor=team["officer"], requested_on=SERVED - timedelta(days=1), today=DAY)
    with pytest.raises(DomainError, match="not in the future"):
        notice.record_hearing_request(case, actor=team["officer"], requested_on=None, today=DAY)


def test_no_hearing_request_when_none_was_offered(case, team):
    serve(case, team["officer"], hearing_offered=False)
    with pytest.raises(DomainError, match="did not offer a hearing"):
        notice.record_hearing_request(case, actor=team["officer"], requested_on=date(2026, 9, 29), today=DAY)


def test_a_hearing_needs_the_request_first(case, team, make):
    serve(case, team["officer"])
    record = make.record(case, "hearing_record")
    with pytest.raises(DomainError, match="request for a hearing first"):
        notice.record_hearing(case, actor=team["officer"], held_on=date(2026, 10, 15), record_id=record.id, today=DAY)


def test_the_hearing_record_must_be_a_hearing_record_of_this_case(case, team, make, matter):
    serve(case, team["officer"])
    notice.record_hearing_request(case, actor=team["officer"], requested_on=date(2026, 9, 30), today=DAY)
    db.session.commit()
    photo = make.record(case, "site_photo")
    other = make.case(team, approve=True, matter=matter, filed_on=FILED)
    workflow.advance(other, Stage.NOTICE, actor=team["officer"], today=DAY)
    db.session.commit()
    elsewhere = make.record(other, "hearing_record")
    for wrong in (photo.id, elsewhere.id, 0, -1, 10 ** 12, "1", None):
        with pytest.raises(DomainError, match="hearing record"):
            notice.record_hearing(case, actor=team["officer"], held_on=date(2026, 10, 15), record_id=wrong, today=DAY)
    assert latest_notice(case).hearing_held_on is None
    record = make.record(case, "hearing_record")
    row = notice.record_hearing(case, actor=team["officer"], held_on=date(2026, 10, 15), record_id=record.id,
                                today=DAY)
    assert row.hearing_held_on == date(2026, 10, 15) and row.hearing_record_id == record.id


def test_the_hearing_date_lies_between_the_request_and_today(case, team, make):
    serve(case, team["officer"])
    notice.record_hearing_request(case, actor=team["officer"], requested_on=date(2026, 9, 30), today=DAY)
    record = make.record(case, "hearing_record")
    for held_on in (date(2026, 9, 29), DAY + timedelta(days=1), None):
        with pytest.raises(DomainError, match="between the request and today"):
            notice.record_hearing(case, actor=team["officer"], held_on=held_on, record_id=record.id, today=DAY)


# --- the gate out of the notice stage ------------------------------------------------------------------

NO_NOTICE = "The notice of the intended decision (告知) has not been recorded (行政处罚法 art. 62)."
NO_STATEMENT = "The party's statement and defence (陈述申辩) is not recorded, nor that the party waived it."


@pytest.mark.parametrize("target", [Stage.REVIEW, Stage.DECISION])
def test_the_gate_lists_each_problem_of_the_notice(case, team, make, target):
    def unmet(today=DAY):
        return workflow.unmet(case, target, today=today)

    assert NO_NOTICE in unmet() and notice.notice_problems(case, DAY) == [NO_NOTICE]

    serve(case, team["officer"])
    assert notice.notice_problems(case, DAY) == [NO_STATEMENT]
    assert NO_STATEMENT in unmet() and NO_NOTICE not in unmet()
    notice.record_statement(case, actor=team["officer"], waived=True)

    # The hearing period still runs on its last day, not after it.
    waiting = ("The party may still ask for a hearing until 2026-10-10 (5 working days, 行政处罚法 art. 64).")
    assert notice.notice_problems(case, DEADLINE) == [waiting] and waiting in unmet(DEADLINE)
    assert notice.notice_problems(case, DEADLINE + timedelta(days=1)) == []

    notice.record_hearing_request(case, actor=team["officer"], requested_on=date(2026, 10, 9), today=DAY)
    requested = "The party asked for a hearing on 2026-10-09: hold it and record its hearing record (听证笔录)."
    assert notice.notice_problems(case, DAY) == [requested] and requested in unmet()
    record = make.record(case, "hearing_record")
    notice.record_hearing(case, actor=team["officer"], held_on=date(2026, 10, 16), record_id=record.id, today=DAY)
    assert notice.notice_problems(case, DAY) == []
    assert not any(p in unmet() for p in (NO_NOTICE, NO_STATEMENT, waiting, requested))


def test_the_gate_stops_a_review_request_made_before_the_party_was_heard(case, team):
    make_notice = serve(case, team["officer"], decision_type="demolition", fine_amount=None, content="限期拆除")
    assert make_notice.hearing_deadline == DEADLINE
    with pytest.raises(GateRefused) as exc:
        review.submit(case, actor=team["officer"], password=PASSWORD, attest=True,
                      proposal=review.ProposalData("demolition", None, None, "限期拆除", "某法"), today=DAY)
    assert NO_STATEMENT in exc.value.unmet
    db.session.rollback()
    assert case.stage == Stage.NOTICE.value and review.latest_request(case) is None


def test_the_gate_stops_a_decision_made_before_the_party_was_heard(case, team):
    serve(case, team["officer"], decision_type="warning", fine_amount=None, content="警告")
    with pytest.raises(GateRefused) as exc:
        decisions.finalise(case, actor=team["head"], password=PASSWORD,
                           proposal=review.ProposalData("warning", None, None, "警告", "某法"),
                           performance="即时", today=DEADLINE)
    assert NO_STATEMENT in exc.value.unmet
    assert any("may still ask for a hearing until 2026-10-10" in p for p in exc.value.unmet)
    db.session.rollback()
    assert case.stage == Stage.NOTICE.value and decisions.original_decision(case) is None


def test_a_later_notice_is_the_one_that_counts(case, team):
    serve(case, team["officer"], hearing_offered=False)
    notice.record_statement(case, actor=team["officer"], waived=True)
    assert notice.notice_problems(case, DAY) == []
    serve(case, team["officer"], hearing_offered=False, decision_type="warning", fine_amount=None, content="警告")
    assert notice.notice_problems(case, DAY) == [NO_STATEMENT]
    assert latest_notice(case).decision_type == "warning"
