"""Specification of closing and archiving (services.closing), tested without HTTP, with the record rules.

结案归档: before closing, the 案卷自查 checks the required records of every stage passed, the
conditions of closing and the scorecard; each run is kept, passed or not. A case closes only after a
passed self-check made in its current stage with no record added since. A missed deadline is kept as
found but does not block. An archived case is read-only for everyone, and archiving extends the
retention of every record object in the store.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from flask_babel import force_locale

from enforcement.extensions import db
from enforcement.models import Role, Stage
from enforcement.services import closing, dashboard, execution, records, serving, workflow
from enforcement.services.errors import DomainError, GateRefused, PermissionDenied
from tests.factories import add_record
from tests.test_serving import BEFORE_HOLIDAY, DAY, events, in_service, refused

NOT_SERVED = "The decision has not been served: record how and when it was served, with the receipt (送达回证)."
MISSING_RECEIPT = "Missing record of Service: Proof of service (行政处罚法 第六十一条)."
RUN_IT = "Run the self-check (案卷自查) of the case file before closing it."
ADDED_SINCE = "Records were added after the last self-check: run it again."


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


@pytest.fixture
def warned(make, team):
    """A warning (nothing to execute), decided and in service, not served yet."""
    case, _ = in_service(make, team, decision_type="warning")
    return case


# --- the self-check -------------------------------------------------------------------------------------------

def test_a_failed_self_check_is_kept_with_the_missing_records_and_the_unmet_conditions(make, team, warned):
    row = make.self_check(warned, today=DAY)
    assert row.passed is False
    assert row.finding_list == [MISSING_RECEIPT, NOT_SERVED]
    checked = {item["item"]: item for item in row.checked_list}
    assert checked["Required records of every stage"]["state"] == "missing"
    assert checked["Conditions for closing"]["state"] == "missing"
    assert NOT_SERVED in checked["Conditions for closing"]["detail"]
    assert [r.id for r in closing.self_checks_of(warned)] == [row.id]
    (event,) = events("case.self_checked", warned)
    after = json.loads(event.after)
    # The event keeps the findings in the default language (Chinese); the check keeps both.
    assert (after["passed"], len(after["findings"]), after["stage"]) == (False, 2, "service")
    assert "送达回证" in after["findings"][0]
    with force_locale("zh_Hans_CN"):
        assert row.finding_list == after["findings"]
        assert [item["item"] for item in row.checked_list][0] != "Required records of every stage"


def test_closing_refuses_without_a_self_check_and_after_a_failed_one(make, team, warned):
    make.self_check(warned, today=DAY)  # fails: not served
    make.serve(warned, served_on=DAY, today=DAY)
    assert workflow.unmet(warned, Stage.CLOSED, today=DAY) == [
        "The last self-check found 2 problem(s); mend them and run it again."]
    with pytest.raises(GateRefused):
        workflow.advance(warned, Stage.CLOSED, actor=team["officer"], today=DAY)
    db.session.rollback()
    passed = make.self_check(warned, today=DAY)
    assert passed.passed and passed.finding_list == []
    assert [r.passed for r in closing.self_checks_of(warned)] == [False, True]  # both runs kept
    workflow.advance(warned, Stage.CLOSED, actor=team["officer"], today=DAY)
    db.session.commit()
    assert warned.stage == Stage.CLOSED.value


def test_closing_refuses_when_no_self_check_was_run(make, warned):
    make.serve(warned, served_on=DAY, today=DAY)
    assert workflow.unmet(warned, Stage.CLOSED, today=DAY) == [RUN_IT]


def test_closing_refuses_when_a_record_was_added_after_the_last_self_check(make, team, warned):
    make.serve(warned, served_on=DAY, today=DAY)
    make.self_check(warned, today=DAY)
    assert workflow.unmet(warned, Stage.CLOSED, today=DAY) == []
    add_record(warned, "other", actor=team["officer2"])
    assert workflow.unmet(warned, Stage.CLOSED, today=DAY) == [ADDED_SINCE]
    make.self_check(warned, today=DAY)
    assert workflow.unmet(warned, Stage.CLOSED, today=DAY) == []


def test_a_self_check_of_an_earlier_stage_does_not_count(make, team, warned):
    make.serve(warned, served_on=DAY, today=DAY)
    assert make.self_check(warned, today=DAY).passed
    workflow.advance(warned, Stage.EXECUTION, actor=team["officer"], today=DAY)
    db.session.commit()
    assert workflow.unmet(warned, Stage.CLOSED, today=DAY) == [RUN_IT]


def test_a_missed_deadline_is_kept_as_found_but_does_not_block(make, team):
    case, _ = in_service(make, team, day=BEFORE_HOLIDAY, decision_type="warning")
    make.serve(case, served_on=date(2026, 10, 16), today=date(2026, 10, 16))  # due on 15 October
    row = make.self_check(case, today=date(2026, 10, 16))
    service = next(item for item in row.checked_list if item["item"] == "Service within 7 working days")
    assert service["state"] == dashboard.LATE
    assert row.passed and row.finding_list == []


def test_after_closing_straight_from_service_the_execution_records_are_not_asked_for(make, team):
    """A planning-route fine paid in service: the case never entered execution, so the forced-execution
    records of that stage (reminder, demolition notice, video…) were never due."""
    case, _ = in_service(make, team, decision_type="fine", matter=make.matter(team["body"]))
    make.serve(case, served_on=DAY, today=DAY)
    receipt = add_record(case, "fine_receipt", actor=team["officer"])
    execution.record_payment(case, actor=team["officer"], paid_on=DAY, amount="5000", receipt_record_id=receipt.id,
                             today=DAY)
    make.close(case, today=DAY)
    assert case.stage == Stage.CLOSED.value
    assert make.self_check(case, today=DAY).finding_list == [
        "Missing record of Closed: Closing report (行政执法案卷管理)."]
    add_record(case, "closing_report", actor=team["officer"])
    assert make.self_check(case, today=DAY).passed


def test_the_self_check_needs_a_case_between_service_and_closed(make, team):
    case = make.case(team, approve=True, matter=make.matter(team["body"], route=None), filed_on=DAY - timedelta(30))
    assert refused(closing.run_self_check, case, actor=team["officer"], today=DAY) == [
        "The self-check is for a case after service, before it is archived; this case is in Investigation."]
    assert closing.self_checks_of(case) == []


def test_only_the_officers_on_the_case_or_its_head_run_the_self_check(make, team, warned):
    others = [team["reviewer"], team["auditor"], team["admin"], make.user(Role.OFFICER, body=team["body"]),
              make.user(Role.HEAD)]
    for actor in others:
        with pytest.raises(PermissionDenied) as exc:
            closing.run_self_check(warned, actor=actor, today=DAY)
        assert exc.value.message == "Only the officers on the case or the head of the body run its self-check."
        db.session.rollback()
    assert closing.self_checks_of(warned) == []
    assert closing.run_self_check(warned, actor=team["head"], today=DAY).checked_by_id == team["head"].id


def test_a_closed_case_takes_only_its_closing_report(make, team, warned):
    make.close(warned, today=DAY)
    assert warned.stage == Stage.CLOSED.value
    with pytest.raises(DomainError) as exc:
        records.begin_upload(warned, team["officer"], filename="x.pdf", size=10, type_code="other")
    assert exc.value.message == "The case is closed: only its closing report can be added."
    assert refused(serving.record_service, warned, actor=team["officer"], document="decision", method="direct",
                   served_on=DAY, proof_record_id=None, recipient="张三", today=DAY) == [
        "The case is Closed: no service can be added.",
        "Attach the proof of service (送达回证) as a record of the case first, then choose it."]


# --- archiving ----------------------------------------------------------------------------------------------

def retention_kept(store) -> None:
    """Skip until the store can keep a retention (storage is adding `retain_until`)."""
    from storage.base import ObjectStore

    method = getattr(type(store), "retain_until", None)
    if method is None or method is getattr(ObjectStore, "retain_until", None):
        pytest.skip("the object store cannot keep a retention yet (retain_until)")


def archived(make, team, case):
    from enforcement.services.records import _store

    retention_kept(_store())
    make.close(case, today=DAY)
    add_record(case, "closing_report", actor=team["officer"])
    workflow.advance(case, Stage.ARCHIVED, actor=team["officer"], today=DAY)
    db.session.commit()
    return case


def test_archiving_extends_the_retention_of_every_record_and_says_so(app, make, team, warned):
    from enforcement.models import Record
    from enforcement.services.records import _store

    started = datetime.utcnow()
    archived(make, team, warned)
    (event,) = events("case.retention_extended", warned)
    rows = list(db.session.scalars(db.select(Record).where(Record.case_id == warned.id)))
    after = json.loads(event.after)
    assert after["records"] == after["kept_by_store"] == len(rows) > 0 and after["years"] == 30
    until = date.fromisoformat(after["retain_until"])
    assert until.year == started.year + 30
    store = _store()
    for record in rows:
        # A retention is never shortened: asking for one day returns the archive's end in force.
        kept = store.retain_until(record.storage_key, started + timedelta(days=1), version_id=record.version_id)
        assert kept is not None and kept.date() >= until, record.type_code


def test_when_the_store_cannot_keep_the_retention_the_case_is_not_archived(app, make, team, warned, monkeypatch):
    from enforcement.services.records import _store
    from storage.base import StorageError

    retention_kept(_store())
    make.close(warned, today=DAY)
    add_record(warned, "closing_report", actor=team["officer"])

    def broken(*args, **kwargs):
        raise StorageError("object lock refused")

    monkeypatch.setattr(_store(), "retain_until", broken)
    with pytest.raises(DomainError, match="the evidence store did not keep the retention of record .*object lock "
                                          "refused.*try again later"):
        workflow.advance(warned, Stage.ARCHIVED, actor=team["officer"], today=DAY)
    db.session.rollback()
    assert warned.stage == Stage.CLOSED.value
    assert events("case.retention_extended", warned) == []


def test_the_retention_follows_the_configured_years(app, make, team, warned):
    app.config["ARCHIVE_RETENTION_YEARS"] = 10
    archived(make, team, warned)
    after = json.loads(events("case.retention_extended", warned)[0].after)
    assert after["years"] == 10 and date.fromisoformat(after["retain_until"]).year == datetime.utcnow().year + 10


def test_an_archived_case_refuses_new_records_and_every_edit(make, team, warned):
    archived(make, team, warned)
    officer, head = team["officer"], team["head"]
    for who in (officer, head):
        with pytest.raises(PermissionDenied) as exc:
            records.begin_upload(warned, who, filename="x.pdf", size=10, type_code="other")
        assert exc.value.message == ("Only the officers on the case or the head of the body add records, and not to an "
                                     "archived case.")
    by_execution = "Only the officers on the case or the head of the body record the execution."
    edits = [
        ("Only the officers on the case or the head of the body record a service.",
         lambda who: serving.record_service(warned, actor=who, document="decision", method="direct", served_on=DAY,
                                            proof_record_id=1, recipient="张三", today=DAY)),
        (by_execution, lambda who: execution.record_compliance(warned, actor=who, complied_on=DAY, record_id=1,
                                                               today=DAY)),
        (by_execution, lambda who: execution.record_statement(warned, actor=who, heard_on=DAY, waived=True, today=DAY)),
        (by_execution, lambda who: execution.plan_demolition(warned, actor=who, scheduled_at=datetime(2026, 12, 1, 9),
                                                             camera="03", officer_ids=[officer.id], today=DAY)),
        (f"Only the head of {team['body'].name} marks an execution urgent.",
         lambda who: execution.mark_urgent(warned, actor=who, reason="紧急")),
        (by_execution, lambda who: execution.start_demolition(warned, actor=who, started_at=datetime(2026, 12, 1, 9))),
        (by_execution, lambda who: execution.record_payment(warned, actor=who, paid_on=DAY, amount="10",
                                                            receipt_record_id=1, today=DAY)),
        (by_execution, lambda who: execution.record_court_application(warned, actor=who, applied_on=DAY,
                                                                      court_name="某法院", today=DAY)),
        (by_execution, lambda who: execution.record_court_outcome(warned, actor=who, outcome="准予执行", outcome_on=DAY,
                                                                  today=DAY)),
        ("Only the officers on the case or the head of the body run its self-check.",
         lambda who: closing.run_self_check(warned, actor=who, today=DAY)),
        ("Only the officers on the case or the head of the body move it on.",
         lambda who: workflow.advance(warned, Stage.CLOSED, actor=who, today=DAY)),
    ]
    for words, edit in edits:
        for who in (officer, head):
            with pytest.raises(PermissionDenied) as exc:
                edit(who)
            assert exc.value.message == words
            db.session.rollback()
    assert warned.stage == Stage.ARCHIVED.value
    assert len(events("case.retention_extended", warned)) == 1


def test_a_record_missing_from_the_store_stops_the_archiving_with_its_name(app, make, team, warned, monkeypatch):
    from enforcement.services.records import _store

    make.close(warned, today=DAY)
    add_record(warned, "closing_report", actor=team["officer"])

    def missing(*args, **kwargs):
        raise FileNotFoundError("gone")

    monkeypatch.setattr(_store(), "retain_until", missing)
    with pytest.raises(DomainError, match="is missing from the evidence store"):
        workflow.advance(warned, Stage.ARCHIVED, actor=team["officer"], today=DAY)
    db.session.rollback()
    assert warned.stage == Stage.CLOSED.value


def test_a_store_that_keeps_no_retention_is_said_so_in_the_trail(app, make, team, warned, monkeypatch):
    from enforcement.services.records import _store

    monkeypatch.setattr(_store(), "retain_until", lambda *args, **kwargs: None)  # an S3 bucket without object lock
    archived(make, team, warned)
    after = json.loads(events("case.retention_extended", warned)[0].after)
    assert after["kept_by_store"] == 0 < after["records"]
