"""Specification of execution (services.execution), tested without HTTP.

The forced demolition of the planning route goes ahead only when `demolition_unmet` is empty (行政强制法
ch. IV, art. 43, 44): the public notice with its self-demolition deadline passed, the periods to
challenge the decision passed and nothing pending, the reminder served, the party heard, the
compulsory-execution decision on file and served, two certified officers and a camera, the party
notified to attend, a time that is neither at night nor on a holiday unless the head marked it urgent.
The whole demolition is filmed from its start to its end. A party who complied needs no forced
execution and shows the proof instead. On the land route the body applies to the court within its
window. A fine is due 15 days after service; then 3 % a day is added, never more than the fine.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale

from enforcement.extensions import db
from enforcement.models import Role, Stage
from enforcement.services import challenges, disclosure, execution, records, serving, workflow
from enforcement.services.clock import local_today
from enforcement.services.errors import GateRefused, PermissionDenied
from tests.factories import PASSWORD, add_record
from tests.test_serving import events, in_service, refused

DECIDED = date(2026, 1, 6)              # a Tuesday; the periods: 60 days to 9 March (7 March is a Saturday),
SUIT_ENDS = date(2026, 7, 6)            # 6 months to 6 July
IN_EXECUTION = date(2026, 1, 7)
SELF_BY = date(2026, 1, 21)             # the self-demolition deadline of the public notice
REMINDED = date(2026, 7, 8)
HEARD = date(2026, 7, 10)
ENFORCEMENT_SERVED = date(2026, 7, 13)
NOTIFIED = date(2026, 7, 28)
AT = datetime(2026, 8, 4, 9, 0)         # a Tuesday morning
ON = AT.date()
FINE_DAY = date(2026, 10, 20)           # a Tuesday: a fine served that day is due on 4 November


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


# --- the planning-route demolition case, each step of which a test may leave out or change ---------------

STEPS = ("notice", "publish", "reminder", "statement", "enforcement_record", "enforcement_served", "plan",
         "attendance")


def demolition_case(make, team, *, without=(), self_by=SELF_BY, reminder_method="direct", heard_on=HEARD,
                    officers=None, at=AT):
    """A demolition decision of the planning route, served, in execution, with every step up to the day
    of the demolition done unless left out in `without`."""
    officer = team["officer"]
    case, decision = in_service(make, team, day=DECIDED, decision_type="demolition",
                                matter=make.matter(team["body"]))
    make.serve(case, served_on=DECIDED, today=DECIDED)
    workflow.advance(case, Stage.EXECUTION, actor=officer, today=IN_EXECUTION)
    db.session.commit()
    if "notice" not in without:
        pub = disclosure.post_demolition_notice(decision, actor=officer, self_demolition_by=self_by,
                                                today=IN_EXECUTION)
        if "publish" not in without:
            disclosure.publish(pub, actor=officer, today=IN_EXECUTION)
        db.session.commit()
    if "reminder" not in without:
        extra = {"note": "当事人拒不签收且下落不明", "recipient": ""} if reminder_method == "public_notice" else {}
        make.serve(case, document="reminder", method=reminder_method, served_on=REMINDED, today=REMINDED, **extra)
    if "statement" not in without:
        execution.record_statement(case, actor=officer, heard_on=heard_on, waived=True, today=heard_on)
        db.session.commit()
    if "enforcement_record" not in without:
        make.record(case, "enforcement_decision")
    if "enforcement_served" not in without:
        make.serve(case, document="enforcement_decision", served_on=ENFORCEMENT_SERVED, today=ENFORCEMENT_SERVED)
    if "plan" not in without:
        ids = [u.id for u in (officers or (team["officer"], team["officer2"]))]
        execution.plan_demolition(case, actor=officer, scheduled_at=at, camera="执法记录仪03号", officer_ids=ids,
                                  today=ENFORCEMENT_SERVED)
        db.session.commit()
    if "attendance" not in without:
        make.serve(case, document="attendance_notice", served_on=NOTIFIED, today=NOTIFIED)
    return case, decision


@pytest.fixture
def ready(make, team):
    return demolition_case(make, team)


def test_a_demolition_with_every_condition_met_may_go_ahead(ready):
    case, _ = ready
    assert execution.demolition_unmet(case, ON) == []
    assert execution.is_forced_demolition(case)


def expired_officer(make, team):
    return make.user(Role.OFFICER, body=team["body"], certificate={"valid_until": date(2026, 6, 30)})


# Each condition taken away alone: (what to leave out or change, the words that must then appear, alone).
REMOVED = {
    "notice": ({"without": ("notice",)},
               ["No public notice to demolish by a deadline (强制拆除公告) has been published."]),
    "publish": ({"without": ("publish",)},
                ["No public notice to demolish by a deadline (强制拆除公告) has been published."]),
    "deadline": ({"self_by": date(2026, 8, 10)},
                 ["The deadline to demolish of one's own accord (2026-08-10) has not passed."]),
    # The services refuse the steps after a reminder that does not count yet (tested below), so the gate's own
    # check is reached by taking the reminder's service away afterwards.
    "reminder": ({"drop": "reminder"}, ["The reminder (催告书) has not been served."]),
    "statement": ({"without": ("statement",)},
                  ["The party's statement and defence on the reminder have not been heard or waived."]),
    "order": ({"heard_on": date(2026, 7, 14)},
              ["The compulsory-execution decision was served before the party's statement was heard."]),
    "enforcement_record": ({"without": ("enforcement_record",)},
                           ["The compulsory-execution decision (强制执行决定书) is not among the case's records."]),
    "enforcement_served": ({"drop": "enforcement_decision"},
                           ["The compulsory-execution decision (强制执行决定书) has not been served."]),
    "one_officer": ({"officers": "one"}, ["At least two officers must be assigned to the demolition; 1 assigned."]),
    "certificate": ({"officers": "expired"}, None),  # words built with the officer's name below
    "attendance": ({"without": ("attendance",)}, ["The party has not been notified to attend the demolition."]),
}


@pytest.mark.parametrize("condition", list(REMOVED))
def test_each_condition_taken_away_alone_makes_exactly_its_words_appear(make, team, condition):
    kw, words = REMOVED[condition]
    kw = dict(kw)
    if kw.get("officers") == "one":
        kw["officers"] = [team["officer"]]
    elif kw.get("officers") == "expired":
        late = expired_officer(make, team)
        kw["officers"] = [team["officer"], late]
        words = [f"{late.name}'s certificate {late.certificates[0].number} expired on 2026-06-30.",
                 "At least two officers with valid enforcement certificates must handle the case (行政处罚法 art. 42); "
                 "1 qualified on 2026-08-04."]
    drop = kw.pop("drop", None)
    case, _ = demolition_case(make, team, **kw)
    if drop:
        for row in serving.services_of(case, drop):
            db.session.delete(row)
        db.session.commit()
    assert execution.demolition_unmet(case, ON) == words


def test_the_steps_after_the_reminder_wait_until_it_counts_as_served(make, team):
    """Posted on 8 July, a reminder by public notice counts as served only on 7 August: neither the statement
    nor the compulsory-execution decision may come before (行政强制法 art. 35–37)."""
    case, _ = demolition_case(make, team, without=("statement", "enforcement_served", "plan", "attendance"),
                              reminder_method="public_notice")
    assert refused(execution.record_statement, case, actor=team["officer"], heard_on=HEARD, waived=True,
                   today=HEARD) == ["The statement cannot come before the reminder was served (2026-08-07)."]
    receipt = add_record(case, "service_receipt", actor=team["officer"])
    assert refused(serving.record_service, case, actor=team["officer"], document="enforcement_decision",
                   method="direct", served_on=ENFORCEMENT_SERVED, proof_record_id=receipt.id, recipient="张三",
                   today=ENFORCEMENT_SERVED) == [
        "The Compulsory-execution decision (强制执行决定书) follows the Reminder (催告书), which had not counted as "
        "served by 2026-07-13."]


def test_no_camera_or_no_time_is_named_alone(ready):
    case, _ = ready
    for field, value, words in (("camera", " ", "No camera is assigned to film the whole demolition."),
                                ("scheduled_at", None, "No time is scheduled for the demolition.")):
        row = execution.execution_of(case)
        setattr(row, field, value)
        assert execution.demolition_unmet(case, ON) == [words]
        db.session.rollback()


def test_without_any_plan_the_officers_camera_and_time_are_all_missing(make, team):
    case, _ = demolition_case(make, team, without=("plan",))
    assert execution.demolition_unmet(case, ON) == [
        "At least two officers must be assigned to the demolition; 0 assigned.",
        "No camera is assigned to film the whole demolition.",
        "No time is scheduled for the demolition."]


def test_a_party_who_complied_is_not_demolished(team, ready):
    case, _ = ready
    proof = add_record(case, "compliance_proof", actor=team["officer"])
    execution.record_compliance(case, actor=team["officer"], complied_on=date(2026, 8, 1), record_id=proof.id,
                                today=date(2026, 8, 1))
    assert execution.demolition_unmet(case, ON) == ["The party complied on 2026-08-01: there is nothing to demolish."]


def test_the_gate_lists_every_condition_at_once_and_only_for_a_case_in_execution(make, team):
    case, _ = in_service(make, team, day=DECIDED, decision_type="demolition", matter=make.matter(team["body"]))
    unmet = execution.demolition_unmet(case, ON, at=AT)
    assert unmet[0] == "The case is in Service, not in execution."
    for words in ("No public notice to demolish by a deadline (强制拆除公告) has been published.",
                  "The decision has not been served, so the periods to challenge it have not begun.",
                  "The reminder (催告书) has not been served.",
                  "The compulsory-execution decision (强制执行决定书) has not been served.",
                  "No camera is assigned to film the whole demolition.",
                  "The party has not been notified to attend the demolition."):
        assert words in unmet
    # What belongs to execution is refused in service, with the stage named.
    in_service_words = "The case is in Service: this is recorded in Execution."
    assert refused(execution.plan_demolition, case, actor=team["officer"], scheduled_at=AT, camera="03",
                   officer_ids=[team["officer"].id, team["officer2"].id], today=DECIDED) == [in_service_words]
    assert refused(execution.mark_urgent, case, actor=team["head"], reason="危房") == [in_service_words]
    assert in_service_words in refused(execution.record_statement, case, actor=team["officer"], heard_on=DECIDED,
                                       waived=True, today=DECIDED)


def test_only_a_planning_route_demolition_decision_is_demolished_by_the_town(make, team):
    case, _ = in_service(make, team, day=FINE_DAY)
    assert execution.demolition_unmet(case, FINE_DAY) == [
        "A forced demolition by the town itself is only for the planning route; on the land route the body "
        "applies to the court."]


# --- the periods to challenge, and a challenge filed --------------------------------------------------------

def test_the_self_demolition_deadline_and_the_60_day_and_6_month_periods_must_have_passed(ready):
    case, _ = ready
    assert execution.challenge_periods(case) == [("the period for reconsideration (60 days)", date(2026, 3, 9)),
                                                 ("the period to sue (6 months)", SUIT_ENDS)]

    def periods(today):
        return [words for words in execution.demolition_unmet(case, today, at=AT) if "runs until" in words]

    assert periods(date(2026, 3, 9)) == ["The period for reconsideration (60 days) runs until 2026-03-09.",
                                         "The period to sue (6 months) runs until 2026-07-06."]
    assert periods(date(2026, 3, 10)) == ["The period to sue (6 months) runs until 2026-07-06."]
    assert periods(SUIT_ENDS) == ["The period to sue (6 months) runs until 2026-07-06."]
    assert periods(SUIT_ENDS + timedelta(days=1)) == []
    # The self-demolition deadline of the public notice: the day itself is still the party's.
    deadline = "The deadline to demolish of one's own accord (2026-01-21) has not passed."
    assert deadline in execution.demolition_unmet(case, SELF_BY, at=AT)
    assert deadline not in execution.demolition_unmet(case, SELF_BY + timedelta(days=1), at=AT)
    # On the day itself, with the reminder served long before, the suit period is the only thing missing.
    assert execution.demolition_unmet(case, ON, at=AT) == []


def test_a_pending_challenge_stops_the_demolition_and_an_upheld_decision_waits_15_days_for_an_appeal(team, ready):
    case, _ = ready
    challenge = challenges.record_challenge(case, actor=team["officer"], kind="suit", forum="某县人民法院",
                                            received_on=date(2026, 7, 20), today=date(2026, 7, 20))
    db.session.commit()
    assert execution.demolition_unmet(case, ON) == [
        "A suit before 某县人民法院 (received 2026-07-20) is pending: execution stops until its outcome."]
    with pytest.raises(GateRefused):
        execution.start_demolition(case, actor=team["officer"], started_at=AT)
    db.session.rollback()
    challenges.record_outcome(challenge, actor=team["officer"], outcome="upheld", outcome_on=date(2026, 7, 30),
                              today=date(2026, 7, 30))
    # A first-instance judgment may be appealed within 15 days (行政诉讼法 art. 85).
    assert execution.demolition_unmet(case, ON) == ["The period to appeal the judgment (15 days) runs until 2026-08-14."]
    later = datetime(2026, 8, 17, 9, 0)  # a Monday
    assert execution.demolition_unmet(case, later.date(), at=later) == []


def test_a_decision_revoked_by_a_reconsideration_is_never_enforced(team, ready):
    case, _ = ready
    challenge = challenges.record_challenge(case, actor=team["officer"], kind="reconsideration", forum="某县人民政府",
                                            received_on=date(2026, 7, 20), today=date(2026, 7, 20))
    challenges.record_outcome(challenge, actor=team["officer"], outcome="revoked", outcome_on=date(2026, 7, 30),
                              today=date(2026, 7, 30))
    db.session.commit()
    assert execution.demolition_unmet(case, ON) == [
        "某县人民政府 revoked, changed or found unlawful the decision on 2026-07-30: it cannot be enforced; record the "
        "revocation or change of the decision first."]
    assert "某县人民政府 revoked" in " ".join(workflow.unmet(case, Stage.CLOSED, today=ON))


# --- night and holidays ---------------------------------------------------------------------------------------

NIGHT = "{at} is at night ({start}–{end}): no compulsory execution then unless the head marks it urgent with a " \
        "reason (行政强制法 art. 43)."


def test_no_demolition_between_22_00_and_06_00(ready):
    case, _ = ready
    for hour, minute, at_night in ((21, 59, False), (22, 0, True), (3, 0, True), (5, 59, True), (6, 0, False)):
        at = datetime(2026, 8, 4, hour, minute)
        expected = [NIGHT.format(at=at.strftime("%Y-%m-%d %H:%M"), start="22:00", end="06:00")] if at_night else []
        assert execution.demolition_unmet(case, ON, at=at) == expected, at


def test_the_quiet_hours_are_configuration(app, ready):
    case, _ = ready
    app.config["EXECUTION_QUIET_HOURS"] = "20:00-07:00"
    at = datetime(2026, 8, 4, 21, 0)
    assert execution.demolition_unmet(case, ON, at=at) == [
        NIGHT.format(at="2026-08-04 21:00", start="20:00", end="07:00")]
    assert execution.demolition_unmet(case, ON, at=datetime(2026, 8, 4, 6, 30)) != []
    assert execution.demolition_unmet(case, ON, at=datetime(2026, 8, 4, 7, 0)) == []
    app.config["EXECUTION_QUIET_HOURS"] = "12:00-13:00"  # a window that does not cross midnight
    assert execution.demolition_unmet(case, ON, at=datetime(2026, 8, 4, 12, 30)) == [
        NIGHT.format(at="2026-08-04 12:30", start="12:00", end="13:00")]
    assert execution.demolition_unmet(case, ON, at=datetime(2026, 8, 4, 23, 0)) == []


HOLIDAY = datetime(2026, 10, 2, 9, 0)  # National Day holiday


def test_no_demolition_on_a_holiday_unless_the_head_marks_it_urgent_with_a_reason(team, ready):
    case, _ = ready
    assert execution.demolition_unmet(case, HOLIDAY.date(), at=HOLIDAY) == [
        "2026-10-02 is a statutory holiday or rest day: no compulsory execution then unless the head marks it urgent "
        "with a reason (行政强制法 art. 43)."]
    assert refused(execution.mark_urgent, case, actor=team["head"], reason=" ") == [
        "Give the reason why the execution cannot wait (it is kept with the case)."]
    row = execution.mark_urgent(case, actor=team["head"], reason="违法建筑存在倒塌危险，危及相邻住户安全")
    db.session.commit()
    assert row.urgent_by_id == team["head"].id and row.urgent_at is not None
    assert execution.demolition_unmet(case, HOLIDAY.date(), at=HOLIDAY) == []
    assert execution.demolition_unmet(case, ON, at=datetime(2026, 8, 4, 23, 0)) == []  # urgent allows the night too
    (event,) = events("execution.urgent", case)
    assert json.loads(event.after)["urgent_reason"] == "违法建筑存在倒塌危险，危及相邻住户安全"


def test_only_the_head_of_the_body_marks_an_execution_urgent(make, team, ready):
    case, _ = ready
    for who in ("officer", "officer2", "reviewer", "auditor", "admin", "other_head"):
        actor = make.user(Role.HEAD) if who == "other_head" else team[who]
        with pytest.raises(PermissionDenied) as exc:
            execution.mark_urgent(case, actor=actor, reason="紧急")
        assert exc.value.message == f"Only the head of {team['body'].name} marks an execution urgent.", who
        db.session.rollback()
    assert execution.execution_of(case).urgent_reason == ""
    assert events("execution.urgent", case) == []


# --- planning, starting and finishing --------------------------------------------------------------------------

def test_planning_refuses_a_time_in_the_past_no_camera_and_officers_of_another_body(make, team, ready):
    case, _ = ready
    stranger = make.user(Role.OFFICER)
    assert refused(execution.plan_demolition, case, actor=team["officer"], scheduled_at=datetime(2026, 8, 3, 9, 0),
                   camera=" ", officer_ids=[team["officer"].id, stranger.id], today=ON) == [
        "The demolition cannot be scheduled in the past.",
        f"{stranger.name} is not an active member of {team['body'].name}.",
        "Name the camera (body camera number) that films the whole demolition."]
    assert refused(execution.plan_demolition, case, actor=team["officer"], scheduled_at=None, camera="03",
                   officer_ids=[team["officer"].id, 999999], today=ON) == [
        "Give the date and time of the demolition.", "An officer chosen does not exist."]
    assert refused(execution.plan_demolition, case, actor=team["officer"], scheduled_at=datetime(2026, 8, 12, 9, 0),
                   camera="03", officer_ids=[team["officer"].id, team["reviewer"].id], today=ON) == [
        f"{team['reviewer'].name} is not an enforcement officer: auxiliary staff and others never carry out an "
        "execution as one of its officers."]


def test_planning_today_refuses_an_hour_already_gone(team, ready, monkeypatch):
    from enforcement.services import clock

    case, _ = ready
    monkeypatch.setattr(execution, "local_today", lambda: ON)
    monkeypatch.setattr(execution, "local_now", lambda: datetime.combine(ON, datetime.min.time()).replace(hour=11))
    assert refused(execution.plan_demolition, case, actor=team["officer"], scheduled_at=datetime.combine(
        ON, datetime.min.time()).replace(hour=10), camera="03", officer_ids=[team["officer"].id, team["officer2"].id],
        today=ON) == ["The demolition cannot be scheduled in the past."]
    assert clock.local_now().tzinfo is None


def test_others_do_not_plan_or_start_the_demolition(make, team, ready):
    case, _ = ready
    words = "Only the officers on the case or the head of the body record the execution."
    for actor in (team["reviewer"], team["auditor"], make.user(Role.OFFICER, body=team["body"]), make.user(Role.HEAD)):
        with pytest.raises(PermissionDenied) as exc:
            execution.plan_demolition(case, actor=actor, scheduled_at=AT, camera="03",
                                      officer_ids=[team["officer"].id, team["officer2"].id], today=ON)
        assert exc.value.message == words
        with pytest.raises(PermissionDenied) as exc:
            execution.start_demolition(case, actor=actor, started_at=AT)
        assert exc.value.message == words
        db.session.rollback()
    assert execution.execution_of(case).started_at is None


def test_start_refuses_with_the_whole_list_and_goes_ahead_when_it_is_empty(make, team):
    case, _ = demolition_case(make, team, without=("attendance",))
    assert refused(execution.start_demolition, case, actor=team["officer"], started_at=AT) == [
        "The party has not been notified to attend the demolition."]
    assert execution.execution_of(case).started_at is None
    make.serve(case, document="attendance_notice", served_on=NOTIFIED, today=NOTIFIED)
    row = execution.start_demolition(case, actor=team["officer"], started_at=AT)
    db.session.commit()
    assert row.started_at == AT
    assert json.loads(events("execution.started", case)[0].after)["started_at"].startswith("2026-08-04")
    assert refused(execution.start_demolition, case, actor=team["officer"], started_at=AT + timedelta(hours=1)) == [
        "The demolition already started on 2026-08-04 09:00."]
    assert refused(execution.plan_demolition, case, actor=team["officer"], scheduled_at=AT + timedelta(days=1),
                   camera="03", officer_ids=[team["officer"].id, team["officer2"].id], today=ON) == [
        "The demolition started on 2026-08-04 09:00: its plan can no longer change."]


def test_start_checks_the_moment_it_starts_not_only_the_plan(team, ready):
    case, _ = ready
    late = datetime(2026, 8, 4, 22, 30)
    assert refused(execution.start_demolition, case, actor=team["officer"], started_at=late) == [
        NIGHT.format(at="2026-08-04 22:30", start="22:00", end="06:00")]
    assert refused(execution.start_demolition, case, actor=team["officer"], started_at=AT,
                   today=ON - timedelta(days=1)) == ["The start of the demolition cannot be in the future."]
    assert refused(execution.start_demolition, case, actor=team["officer"], started_at=None) == [
        "Give the time the demolition started."]
    assert execution.execution_of(case).started_at is None


def started(team, case):
    execution.start_demolition(case, actor=team["officer"], started_at=AT)
    db.session.commit()


def av_record(case, team, captured_at):
    return add_record(case, "execution_av", actor=team["officer"], captured_at=captured_at)


def test_the_end_is_recorded_only_with_a_video_that_covers_the_whole_demolition(team, ready):
    case, _ = ready
    started(team, case)
    end = datetime(2026, 8, 4, 15, 0)
    for captured, until, words in (
            (datetime(2026, 8, 4, 9, 10), datetime(2026, 8, 4, 15, 5),
             "The audio/video record begins at 2026-08-04 09:10, after the demolition started (2026-08-04 09:00)."),
            (datetime(2026, 8, 4, 8, 55), datetime(2026, 8, 4, 14, 0),
             "The audio/video record ends at 2026-08-04 14:00, before the demolition ended (2026-08-04 15:00).")):
        video = av_record(case, team, captured)
        with pytest.raises(GateRefused) as exc:
            execution.record_demolition_done(case, actor=team["officer"], ended_at=end, av_record_id=video.id,
                                             av_until=until)
        assert exc.value.unmet == [words]
        # Refused means unchanged, even before the caller rolls back.
        row = execution.execution_of(case)
        assert (row.ended_at, row.av_record_id, row.av_until) == (None, None, None)
        db.session.rollback()
    assert events("execution.finished", case) == []
    video = av_record(case, team, datetime(2026, 8, 4, 8, 55))
    row = execution.record_demolition_done(case, actor=team["officer"], ended_at=end, av_record_id=video.id,
                                           av_until=datetime(2026, 8, 4, 15, 5))
    db.session.commit()
    assert (row.ended_at, row.av_record_id) == (end, video.id)
    assert execution.av_coverage_problems(row) == []
    assert events("execution.finished", case)
    assert "The start and end of the demolition are not recorded." not in workflow.unmet(case, Stage.CLOSED, today=ON)


def test_the_end_needs_a_start_an_end_after_it_and_an_execution_video(team, ready):
    case, _ = ready
    assert refused(execution.record_demolition_done, case, actor=team["officer"], ended_at=AT, av_record_id=None,
                   av_until=AT) == ["The demolition has not started."]
    started(team, case)
    photo = add_record(case, "other", actor=team["officer"])
    assert refused(execution.record_demolition_done, case, actor=team["officer"], ended_at=AT, av_record_id=photo.id,
                   av_until=None) == [
        "The end must come after the start (2026-08-04 09:00).",
        "Give the time the audio/video record ends, as shown by the camera.",
        "The audio/video record of the execution must be a current record of this case of the right type."]
    video = av_record(case, team, datetime(2026, 8, 4, 8, 55))
    tomorrow = datetime.combine(local_today() + timedelta(days=1), time(10, 0))
    assert refused(execution.record_demolition_done, case, actor=team["officer"], ended_at=tomorrow,
                   av_record_id=video.id, av_until=tomorrow) == ["The end of the demolition cannot be in the future."]


def test_once_the_forced_demolition_started_compliance_cannot_stand_in_for_its_video(team, ready):
    case, _ = ready
    started(team, case)
    proof = add_record(case, "compliance_proof", actor=team["officer"])
    assert refused(execution.record_compliance, case, actor=team["officer"], complied_on=ON, record_id=proof.id,
                   today=ON) == ["The forced demolition started on 2026-08-04 09:00: it is not voluntary compliance."]
    assert execution.path(case) == "forced"
    assert "execution_av" in {r.type_code for r in records.requirements(case, Stage.EXECUTION)}


def test_execution_closes_only_after_the_filmed_demolition(team, ready):
    case, _ = ready
    unmet = workflow.unmet(case, Stage.CLOSED, today=ON)
    assert "The demolition has not been carried out, and no compliance is recorded." in unmet
    started(team, case)
    assert "The start and end of the demolition are not recorded." in workflow.unmet(case, Stage.CLOSED, today=ON)


# --- voluntary compliance -------------------------------------------------------------------------------------

FORCED_RULES = {"reminder", "enforcement_decision", "demolition_notice", "execution_av", "execution_record",
                "belongings_list"}


def test_compliance_replaces_the_forced_execution_records_and_lets_the_case_close(make, team):
    case, _ = in_service(make, team, day=DECIDED, decision_type="demolition", matter=make.matter(team["body"]))
    make.serve(case, served_on=DECIDED, today=DECIDED)
    assert execution.path(case) == "forced"
    assert {r.type_code for r in records.requirements(case, Stage.EXECUTION)} == FORCED_RULES
    assert "The decision has not been carried out: record the party's compliance with its proof, or move the case " \
           "to execution." in workflow.unmet(case, Stage.CLOSED, today=IN_EXECUTION)
    make.comply(case, complied_on=IN_EXECUTION, today=IN_EXECUTION)
    assert execution.path(case) == "voluntary"
    assert {r.type_code for r in records.requirements(case, Stage.EXECUTION)} == {"compliance_proof"}
    make.self_check(case, today=IN_EXECUTION)
    workflow.advance(case, Stage.CLOSED, actor=team["officer"], today=IN_EXECUTION)
    db.session.commit()
    assert case.stage == Stage.CLOSED.value
    assert json.loads(events("execution.complied", case)[0].after)["complied_on"] == "2026-01-07"


def test_compliance_needs_its_proof_a_date_not_in_the_future_nor_before_the_decision(team, ready):
    case, _ = ready
    officer = team["officer"]
    assert refused(execution.record_compliance, case, actor=officer, complied_on=None, record_id=None, today=ON) == [
        "Give the day the party complied.",
        "Attach the proof of compliance (履行情况证明) as a record of the case first, then choose it."]
    other = add_record(case, "other", actor=officer)
    assert refused(execution.record_compliance, case, actor=officer, complied_on=ON + timedelta(days=1),
                   record_id=other.id, today=ON) == [
        "Compliance cannot be dated in the future.",
        "The proof of compliance (履行情况证明) must be a current record of this case of the right type."]
    assert refused(execution.record_compliance, case, actor=officer, complied_on=DECIDED - timedelta(days=1),
                   record_id="abc", today=ON) == [
        "Compliance cannot be dated before the decision of 2026-01-06.",
        "The proof of compliance (履行情况证明) must be a current record of this case of the right type."]


def test_others_do_not_record_compliance_or_statements(make, team, ready):
    case, _ = ready
    proof = add_record(case, "compliance_proof", actor=team["officer"])
    words = "Only the officers on the case or the head of the body record the execution."
    for actor in (team["reviewer"], team["auditor"], make.user(Role.OFFICER, body=team["body"])):
        with pytest.raises(PermissionDenied) as exc:
            execution.record_compliance(case, actor=actor, complied_on=ON, record_id=proof.id, today=ON)
        assert exc.value.message == words
        with pytest.raises(PermissionDenied) as exc:
            execution.record_statement(case, actor=actor, heard_on=ON, waived=True, today=ON)
        assert exc.value.message == words
        db.session.rollback()
    assert execution.path(case) == "forced"


def test_the_statement_needs_the_reminder_first_and_no_future_date(make, team):
    case, _ = demolition_case(make, team, without=STEPS)
    assert refused(execution.record_statement, case, actor=team["officer"], heard_on=ON + timedelta(days=1),
                   today=ON) == [
        "Serve the reminder (催告书) first: the party states their case on it.",
        "A statement cannot be dated in the future.",
        "Write down what the party said, or mark that they waived their statement."]
    make.serve(case, document="reminder", served_on=REMINDED, today=REMINDED)
    assert refused(execution.record_statement, case, actor=team["officer"], heard_on=REMINDED - timedelta(days=1),
                   statement="不同意拆除", today=ON) == [
        "The statement cannot come before the reminder was served (2026-07-08)."]


# --- the land route: the court --------------------------------------------------------------------------------

def land_case(make, team, reminded_on):
    land = make.matter(team["body"], route="land", power_source="delegated",
                       delegation_document="测试省人民政府关于赋予乡镇部分县级行政执法权的决定",
                       delegation_published_on=date(2025, 6, 1), legal_basis="《中华人民共和国土地管理法》第七十八条")
    case, decision = in_service(make, team, day=DECIDED, decision_type="demolition", matter=land)
    make.serve(case, served_on=DECIDED, today=DECIDED)
    workflow.advance(case, Stage.EXECUTION, actor=team["officer"], today=IN_EXECUTION)
    db.session.commit()
    make.serve(case, document="reminder", served_on=reminded_on, today=reminded_on)
    return case


@pytest.mark.parametrize("reminded_on, earliest", [
    (DECIDED, date(2026, 1, 22)),           # the 15-day period to sue (to 21 January) ends last
    (date(2026, 1, 16), date(2026, 1, 31)),  # 10 working days after 16 January: 30 January
])
def test_the_land_route_applies_to_the_court_within_its_window_only(make, team, reminded_on, earliest):
    case = land_case(make, team, reminded_on)
    window = execution.court_window(case)
    assert (window.earliest, window.latest, window.reasons) == (earliest, date(2026, 4, 21), [])
    application = make.record(case, "court_application")
    assert application.type_code == "court_application"
    far = date(2026, 6, 1)
    assert execution.court_application_unmet(case, earliest - timedelta(days=1), far) == [
        f"The application can be made from {earliest} (10 working days after the reminder and after the party's "
        "period to challenge)."]
    assert execution.court_application_unmet(case, date(2026, 4, 22), far) == [
        "The application was due by 2026-04-21 (3 months, 行政强制法 art. 53)."]
    assert execution.court_application_unmet(case, far + timedelta(days=1), far) == [
        "The application cannot be dated in the future."]
    assert refused(execution.record_court_application, case, actor=team["officer"], applied_on=earliest,
                   court_name=" ", today=far) == ["Name the court."]
    row = execution.record_court_application(case, actor=team["officer"], applied_on=earliest,
                                             court_name="某县人民法院", today=far)
    db.session.commit()
    assert row.court_applied_on == earliest
    assert "The court's decision on the application is not recorded." in workflow.unmet(case, Stage.CLOSED, today=far)
    assert refused(execution.record_court_outcome, case, actor=team["officer"], outcome=" ",
                   outcome_on=far + timedelta(days=1), today=far) == [
        "Say what the court decided and how it was carried out.",
        "Give the day of the court's decision (not in the future)."]
    assert refused(execution.record_court_outcome, case, actor=team["officer"], outcome="裁定准予执行",
                   outcome_on=earliest - timedelta(days=1), today=far) == [
        "The court's decision cannot come before the application."]
    execution.record_court_outcome(case, actor=team["officer"], outcome="裁定准予执行，已由法院组织拆除",
                                   outcome_on=date(2026, 5, 20), today=far)
    db.session.commit()
    assert "The court's decision on the application is not recorded." not in workflow.unmet(case, Stage.CLOSED,
                                                                                            today=far)


def test_the_court_window_needs_the_reminder_and_the_application_on_file(make, team):
    land = make.matter(team["body"], route="land", power_source="delegated",
                       delegation_document="测试省人民政府关于赋予乡镇部分县级行政执法权的决定",
                       delegation_published_on=date(2025, 6, 1))
    case, _ = in_service(make, team, day=DECIDED, decision_type="demolition", matter=land)
    make.serve(case, served_on=DECIDED, today=DECIDED)
    workflow.advance(case, Stage.EXECUTION, actor=team["officer"], today=IN_EXECUTION)
    db.session.commit()
    assert execution.court_application_unmet(case, date(2026, 2, 2), date(2026, 2, 2)) == [
        "The reminder (催告书) has not been served.",
        "The application (强制执行申请书) is not among the case's records."]
    assert refused(execution.record_court_outcome, case, actor=team["officer"], outcome="准予执行",
                   outcome_on=date(2026, 2, 2), today=date(2026, 2, 2)) == ["No application to the court is recorded."]


# --- fines ----------------------------------------------------------------------------------------------------

DUE = date(2026, 11, 4)  # 15 days after 20 October


@pytest.fixture
def fined(make, team):
    case, _ = in_service(make, team, day=FINE_DAY)
    make.serve(case, served_on=FINE_DAY, today=FINE_DAY)
    return case


def pay(team, case, paid_on, amount, today=None):
    receipt = add_record(case, "fine_receipt", actor=team["officer"])
    row = execution.record_payment(case, actor=team["officer"], paid_on=paid_on, amount=amount,
                                   receipt_record_id=receipt.id, today=today or paid_on)
    db.session.commit()
    return row


def test_a_fine_is_due_15_days_after_service_and_paid_on_time_costs_no_penalty(team, fined):
    state = execution.fine_state(fined, DUE)
    assert (state.amount, state.due_on, state.days_late, state.late_penalty, state.outstanding) == (
        Decimal("5000"), DUE, 0, Decimal("0"), Decimal("5000"))
    assert not state.settled
    pay(team, fined, DUE, "5000")
    state = execution.fine_state(fined, date(2026, 12, 1))
    assert (state.paid, state.days_late, state.late_penalty, state.outstanding, state.settled) == (
        Decimal("5000"), 0, Decimal("0"), Decimal("0"), True)
    after = json.loads(events("fine.paid", fined)[0].after)
    assert (after["amount"], after["late_penalty"]) == ("5000.00", "0.00")


def test_paid_late_the_penalty_is_3_percent_a_day_until_paid(team, fined):
    assert execution.fine_state(fined, DUE + timedelta(days=2)).late_penalty == Decimal("300.00")
    pay(team, fined, DUE + timedelta(days=2), "5000")
    state = execution.fine_state(fined, date(2026, 12, 31))  # the penalty stopped running when the fine was paid
    assert (state.days_late, state.late_penalty, state.outstanding, state.settled) == (
        2, Decimal("300.00"), Decimal("300.00"), False)
    pay(team, fined, DUE + timedelta(days=3), "300")
    assert execution.fine_state(fined, date(2026, 12, 31)).settled


def test_the_late_penalty_never_exceeds_the_fine(fined):
    state = execution.fine_state(fined, DUE + timedelta(days=34))  # 102 %
    assert (state.late_penalty, state.outstanding) == (Decimal("5000"), Decimal("10000"))
    assert execution.late_penalty(Decimal("5000"), 33) == Decimal("4950.00")


def test_partial_payments_count_together_and_the_fine_is_paid_when_they_reach_it(team, fined):
    pay(team, fined, date(2026, 11, 1), "2000")
    state = execution.fine_state(fined, DUE + timedelta(days=1))
    assert (state.paid, state.days_late, state.outstanding) == (Decimal("2000"), 1, Decimal("3150.00"))
    pay(team, fined, DUE + timedelta(days=6), "3000")
    state = execution.fine_state(fined, date(2026, 12, 31))
    assert (state.paid, state.days_late, state.late_penalty, state.last_paid_on) == (
        Decimal("5000"), 6, Decimal("900.00"), DUE + timedelta(days=6))


def test_a_payment_needs_an_amount_a_day_and_a_receipt(make, team, fined):
    officer = team["officer"]
    for bad in ("0", "-5", "abc", None):
        assert refused(execution.record_payment, fined, actor=officer, paid_on=DUE, amount=bad,
                       receipt_record_id=add_record(fined, "fine_receipt", actor=officer).id, today=DUE) == [
            "Give the amount paid, in yuan, more than zero."]
    assert refused(execution.record_payment, fined, actor=officer, paid_on=DUE + timedelta(days=1), amount="10",
                   receipt_record_id=None, today=DUE) == [
        "A payment cannot be dated in the future.",
        "Attach the receipt for the fine (罚款缴纳凭证) as a record of the case first, then choose it."]
    assert refused(execution.record_payment, fined, actor=officer, paid_on=FINE_DAY - timedelta(days=1),
                   amount="10", receipt_record_id=add_record(fined, "other", actor=officer).id, today=DUE) == [
        "A payment cannot be dated before the decision of 2026-10-20.",
        "The receipt for the fine (罚款缴纳凭证) must be a current record of this case of the right type."]
    with pytest.raises(PermissionDenied):
        execution.record_payment(fined, actor=team["auditor"], paid_on=DUE, amount="10",
                                 receipt_record_id=add_record(fined, "fine_receipt", actor=officer).id, today=DUE)
    db.session.rollback()
    warned, _ = in_service(make, team, day=FINE_DAY, decision_type="warning")
    receipt = add_record(warned, "fine_receipt", actor=officer)
    assert refused(execution.record_payment, warned, actor=officer, paid_on=DUE, amount="10",
                   receipt_record_id=receipt.id, today=DUE) == ["The decision in force imposes no fine."]
    assert execution.fine_state(warned, DUE) is None


def test_service_to_closed_refuses_an_unpaid_fine_and_accepts_a_settled_one(make, team, fined):
    today = DUE + timedelta(days=6)
    assert "The fine is not paid in full: 5900.00 yuan outstanding, late penalty included (6 days late, "\
           "行政处罚法 art. 72)." in workflow.unmet(fined, Stage.CLOSED, today=today)
    pay(team, fined, today, "5900")
    assert execution.fine_state(fined, today).settled
    make.self_check(fined, today=today)
    workflow.advance(fined, Stage.CLOSED, actor=team["officer"], today=today)
    db.session.commit()
    assert fined.stage == Stage.CLOSED.value


def test_what_was_paid_under_a_changed_decision_counts_towards_the_new_fine(team, fined):
    from enforcement.services import decisions, review, serving
    from enforcement.services.decisions import current_decision

    pay(team, fined, date(2026, 10, 25), "3000")
    changed_on = date(2026, 10, 28)
    plan = review.ProposalData("fine", "3000", None, "罚款人民币三千元", "《中华人民共和国城乡规划法》第六十五条")
    decisions.replace(current_decision(fined), actor=team["head"], password=PASSWORD, kind="change",
                      reason="罚款数额过高", proposal=plan, performance="自收到本决定书之日起十五日内履行", today=changed_on)
    db.session.commit()
    receipt = add_record(fined, "service_receipt", actor=team["officer"])  # the changed decision served
    serving.record_service(fined, actor=team["officer"], document="decision", method="direct", served_on=changed_on,
                           proof_record_id=receipt.id, recipient="张三", today=changed_on)
    db.session.commit()
    state = execution.fine_state(fined, changed_on)
    assert (state.amount, state.paid, state.outstanding) == (Decimal("3000"), Decimal("3000"), Decimal("0"))
    assert state.settled


def test_a_reminder_served_under_a_replaced_decision_does_not_count_for_the_new_one(team, ready):
    from enforcement.services import decisions, review, serving
    from enforcement.services.decisions import current_decision

    case, _ = ready
    assert serving.served(case, "reminder") is not None
    plan = review.ProposalData("demolition", None, None, "限期拆除东侧二层违法建设部分", "《中华人民共和国城乡规划法》第六十五条")
    decisions.replace(current_decision(case), actor=team["head"], password=PASSWORD, kind="change",
                      reason="拆除范围调整", proposal=plan, performance="自收到本决定书之日起十五日内自行拆除",
                      today=ON)
    db.session.commit()
    assert serving.served(case, "reminder") is None
    assert "The reminder (催告书) has not been served." in execution.demolition_unmet(case, ON)


# --- the second reading's points -------------------------------------------------------------------------------

def test_the_demolition_may_not_run_into_the_night_unless_urgent(team, ready):
    case, _ = ready
    started(team, case)
    video = av_record(case, team, datetime(2026, 8, 4, 8, 55))
    late_end = datetime(2026, 8, 4, 22, 30)
    assert refused(execution.record_demolition_done, case, actor=team["officer"], ended_at=late_end,
                   av_record_id=video.id, av_until=datetime(2026, 8, 4, 23, 0)) == [
        "The demolition ran into the night (2026-08-04 22:00; 22:00–06:00) without the head marking it urgent "
        "(行政强制法 art. 43)."]


def test_a_new_time_needs_the_heads_urgency_again(team, ready):
    case, _ = ready
    execution.mark_urgent(case, actor=team["head"], reason="违法建筑存在倒塌危险")
    db.session.commit()
    row = execution.plan_demolition(case, actor=team["officer"], scheduled_at=HOLIDAY, camera="03",
                                    officer_ids=[team["officer"].id, team["officer2"].id], today=ENFORCEMENT_SERVED)
    db.session.commit()
    assert (row.urgent_reason, row.urgent_by_id) == ("", None)
    assert any("statutory holiday" in p for p in execution.demolition_unmet(case, HOLIDAY.date(), at=HOLIDAY))


def test_the_late_penalty_is_not_counted_while_a_challenge_runs(team, fined):
    row = challenges.record_challenge(fined, actor=team["officer"], kind="reconsideration", forum="某县人民政府",
                                      received_on=DUE + timedelta(days=5), today=DUE + timedelta(days=5))
    db.session.commit()
    # Late from 5 November; the reconsideration ran from 9 November: 4 days counted by the 20th.
    assert execution.fine_state(fined, DUE + timedelta(days=16)).days_late == 4
    challenges.record_outcome(row, actor=team["officer"], outcome="upheld", outcome_on=DUE + timedelta(days=10),
                              today=DUE + timedelta(days=10))
    db.session.commit()
    state = execution.fine_state(fined, DUE + timedelta(days=16))
    assert state.days_late == 16 - 6  # the 6 days from the 9th to the 14th are not counted (行政处罚法 art. 73)
    assert state.late_penalty == Decimal("5000") * Decimal("0.03") * 10


def test_a_payment_above_what_can_be_owed_is_refused(team, fined):
    receipt = add_record(fined, "fine_receipt", actor=team["officer"])
    assert refused(execution.record_payment, fined, actor=team["officer"], paid_on=DUE, amount="99999999999999999999",
                   receipt_record_id=receipt.id, today=DUE) == [
        "99999999999999999999.00 yuan is more than can still be owed (10000.00 yuan, the late penalty included)."]


def test_a_fine_on_the_land_route_keeps_the_60_day_and_6_month_periods(make, team):
    land = make.matter(team["body"], route="land", power_source="delegated",
                       delegation_document="测试省人民政府关于赋予乡镇部分县级行政执法权的决定",
                       delegation_published_on=date(2025, 6, 1))
    case, _ = in_service(make, team, day=DECIDED, matter=land)
    make.serve(case, served_on=DECIDED, today=DECIDED)
    assert [what for what, _last in execution.challenge_periods(case)] == [
        "the period for reconsideration (60 days)", "the period to sue (6 months)"]
    assert execution.path(case) == "court"


def test_an_archived_case_takes_no_challenge_and_no_new_decision(make, team):
    from enforcement.services import decisions, review
    from enforcement.services.decisions import current_decision
    from enforcement.services.errors import DomainError
    from tests.factories import PASSWORD as _PASSWORD

    case, _ = in_service(make, team, day=DECIDED, decision_type="warning", fine_amount=None)
    make.close(case, today=DECIDED)
    add_record(case, "closing_report", actor=team["officer"])
    workflow.advance(case, Stage.ARCHIVED, actor=team["officer"], today=DECIDED)
    db.session.commit()
    with pytest.raises(DomainError, match="archived"):
        challenges.record_challenge(case, actor=team["officer"], kind="suit", forum="法院", received_on=DECIDED,
                                    today=DECIDED)
    plan = review.ProposalData("no_penalty", None, None, "不予处罚", "《中华人民共和国行政处罚法》第三十三条")
    with pytest.raises(DomainError, match="archived"):
        decisions.replace(current_decision(case), actor=team["head"], password=_PASSWORD, kind="change",
                          reason="复查", proposal=plan, today=DECIDED)


def test_the_reminder_sets_a_deadline_and_the_enforcement_decision_waits_for_it(make, team):
    case, _ = demolition_case(make, team, without=("statement", "enforcement_served", "plan", "attendance"))
    reminder = serving.served(case, "reminder")
    assert reminder.comply_by == REMINDED + timedelta(days=3)  # 11 July
    receipt = add_record(case, "service_receipt", actor=team["officer"])
    assert refused(serving.record_service, case, actor=team["officer"], document="reminder", method="direct",
                   served_on=REMINDED, proof_record_id=receipt.id, recipient="张三", today=REMINDED) == [
        "Give the deadline the reminder sets the party to perform (行政强制法 art. 35)."]
    assert refused(serving.record_service, case, actor=team["officer"], document="reminder", method="direct",
                   served_on=REMINDED, proof_record_id=receipt.id, recipient="张三", comply_by=REMINDED,
                   today=REMINDED) == ["The reminder's deadline must come after the day it was served."]
    execution.record_statement(case, actor=team["officer"], heard_on=HEARD, waived=True, today=HEARD)
    db.session.commit()
    words = ("The compulsory-execution decision comes only after the reminder's deadline (2026-07-11) passed with "
             "nothing done (行政强制法 art. 37).")
    assert refused(serving.record_service, case, actor=team["officer"], document="enforcement_decision",
                   method="direct", served_on=date(2026, 7, 11), proof_record_id=receipt.id, recipient="张三",
                   today=date(2026, 7, 11)) == [words]
    # The gate checks it too (a reminder whose deadline was moved after the decision was served, say).
    make.serve(case, document="enforcement_decision", served_on=ENFORCEMENT_SERVED, today=ENFORCEMENT_SERVED)
    reminder.comply_by = date(2026, 7, 20)
    db.session.commit()
    assert words.replace("2026-07-11", "2026-07-20") in execution.demolition_unmet(case, ON)


def test_a_fine_is_not_complied_with_but_paid(team, fined):
    proof = add_record(fined, "compliance_proof", actor=team["officer"])
    assert refused(execution.record_compliance, fined, actor=team["officer"], complied_on=DUE, record_id=proof.id,
                   today=DUE) == [
        "The decision in force orders nothing to comply with: a fine is carried out by paying it, a warning needs "
        "nothing."]
    assert execution.needs_compliance(fined) is False
