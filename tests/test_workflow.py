"""Specification of the stage machine (services.workflow), tested without HTTP.

立案 → 调查取证 → 告知 → 法制审核 (when major) → 决定 → 送达 → 执行 → 结案 → 归档: a case moves only
along these transitions, each through its gates; a refusal lists the unmet conditions in words;
the head approves the filing; officers must hold valid certificates on the day the case moves;
a major decision passes legal review first (行政处罚法 art. 58); an archived case is read-only;
every move writes one audit event; the database itself refuses a case past filing without approval.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from enforcement.extensions import db
from enforcement.models import AuditEvent, Role, Stage
from enforcement.services import cases, people, workflow
from enforcement.services.errors import Conflict, GateRefused, PermissionDenied
from enforcement.services.permissions import can_edit_case

FILED = date(2026, 3, 10)
APPROVED = date(2026, 3, 11)
LATER = date(2026, 4, 1)


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    with force_locale("en"):
        yield


# The completeness rules are data; tests/test_records.py tests them. Here: the other gates.
pytestmark = pytest.mark.usefixtures("without_record_rules")


@pytest.fixture
def plain_matter(make, team):
    """A matter that is not major: no demolition route, not in the major-decision catalogue."""
    return make.matter(team["body"], route="", name="一般处罚事项", in_major_catalogue=False)


def stage_events(case) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                            AuditEvent.action == "case.stage_changed")
                                   .order_by(AuditEvent.id)))


def drive(case, *stages, actor, make=None, team=None, today=LATER):
    """Move the case along `stages`. A case enters DECISION only by the head's signature
    (services.decisions.finalise, after the notice and, when major, the review): give `make` and `team`."""
    for stage in stages:
        if stage == Stage.DECISION:
            assert make is not None and team is not None, "the decision needs make and team"
            make.decide(case, team, today=today)
        elif stage == Stage.CLOSED and make is not None:
            make.close(case, actor=actor, today=today)
        else:
            if case.stage == Stage.SERVICE.value and make is not None:
                make.serve(case, actor=actor, today=today)
            workflow.advance(case, stage, actor=actor, today=today)
            db.session.commit()


# --- order of the stages ------------------------------------------------------------------------

def test_transitions_follow_the_order_of_the_law():
    expected = {
        Stage.FILING: {Stage.INVESTIGATION},
        Stage.INVESTIGATION: {Stage.NOTICE},
        Stage.NOTICE: {Stage.REVIEW, Stage.DECISION},
        Stage.REVIEW: {Stage.DECISION, Stage.INVESTIGATION},
        Stage.DECISION: {Stage.SERVICE},
        Stage.SERVICE: {Stage.EXECUTION, Stage.CLOSED},
        Stage.EXECUTION: {Stage.CLOSED},
        Stage.CLOSED: {Stage.ARCHIVED},
        Stage.ARCHIVED: set(),
    }
    assert {k: set(v) for k, v in workflow.TRANSITIONS.items()} == expected


@pytest.mark.parametrize("target", [Stage.DECISION, Stage.SERVICE, Stage.CLOSED, Stage.ARCHIVED, Stage.FILING])
def test_skipping_a_stage_is_refused_with_words(make, team, target):
    case = make.case(team, approve=True, filed_on=FILED)
    assert case.stage == Stage.INVESTIGATION.value
    with pytest.raises(GateRefused) as exc:
        workflow.advance(case, target, actor=team["officer"], today=LATER)
    assert exc.value.unmet == [f"A case in Investigation cannot move to {workflow.stage_label(target)}."]
    db.session.rollback()
    assert case.stage == Stage.INVESTIGATION.value
    assert workflow.unmet(case, Stage.NOTICE, today=LATER) == []


def test_a_refused_move_writes_no_audit_event(make, team):
    case = make.case(team, approve=True, filed_on=FILED)
    count = len(stage_events(case))
    with pytest.raises(GateRefused):
        workflow.advance(case, Stage.CLOSED, actor=team["officer"], today=LATER)
    db.session.rollback()
    assert len(stage_events(case)) == count


# --- filing approval (立案审批) ----------------------------------------------------------------------

def test_filing_cannot_leave_without_the_heads_approval(make, team):
    case = make.case(team, filed_on=FILED)
    unmet = workflow.unmet(case, Stage.INVESTIGATION, today=APPROVED)
    assert any("has not approved the filing" in u for u in unmet)
    with pytest.raises(GateRefused):
        workflow.advance(case, Stage.INVESTIGATION, actor=team["head"], today=APPROVED)
    db.session.rollback()
    assert case.stage == Stage.FILING.value


@pytest.mark.parametrize("role", ["officer", "officer2", "reviewer", "auditor", "admin"])
def test_filing_approval_by_anyone_but_the_head_is_refused(make, team, role):
    case = make.case(team, filed_on=FILED)
    with pytest.raises(PermissionDenied):
        cases.approve_filing(case, actor=team[role], today=APPROVED)
    db.session.rollback()
    assert case.stage == Stage.FILING.value and case.filing_approved_by_id is None


def test_filing_approval_by_the_head_of_another_body_is_refused(make, team):
    case = make.case(team, filed_on=FILED)
    other_head = make.user(Role.HEAD, body=make.body())
    with pytest.raises(PermissionDenied):
        cases.approve_filing(case, actor=other_head, today=APPROVED)


def test_filing_approval_by_the_head_moves_the_case_to_investigation(make, team):
    case = make.case(team, filed_on=FILED)
    cases.approve_filing(case, actor=team["head"], today=APPROVED)
    db.session.commit()
    assert case.stage == Stage.INVESTIGATION.value
    assert case.filing_approved_by_id == team["head"].id and case.filing_approved_at is not None
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                                     .order_by(AuditEvent.id))]
    assert actions == ["case.filed", "case.filing_approved", "case.stage_changed"]


def test_a_filing_cannot_be_approved_twice(make, team):
    case = make.case(team, approve=True, filed_on=FILED)
    count = len(stage_events(case))
    with pytest.raises(Conflict):
        cases.approve_filing(case, actor=team["head"], today=APPROVED)
    db.session.rollback()
    assert case.stage == Stage.INVESTIGATION.value and len(stage_events(case)) == count


def test_approval_is_refused_when_an_officer_was_deactivated_after_filing(make, team):
    case = make.case(team, filed_on=FILED)
    people.deactivate_user(team["officer2"], actor=team["admin"], reason="调离")
    db.session.commit()
    with pytest.raises(GateRefused) as exc:
        cases.approve_filing(case, actor=team["head"], today=APPROVED)
    assert any(team["officer2"].name in u for u in exc.value.unmet)
    db.session.rollback()
    assert case.stage == Stage.FILING.value and case.filing_approved_by_id is None


# --- officers must be valid on the day the case moves ------------------------------------------------

def test_an_officer_whose_certificate_expired_since_filing_blocks_the_next_move(make, team):
    expiring = make.user(Role.OFFICER, body=team["body"], name="将过期",
                         certificate={"valid_until": date(2026, 6, 30)})
    case = make.case(team, filed_on=FILED, officer_ids=[team["officer"].id, expiring.id])
    cases.approve_filing(case, actor=team["head"], today=APPROVED)
    db.session.commit()

    assert workflow.unmet(case, Stage.NOTICE, today=date(2026, 6, 30)) == []
    with pytest.raises(GateRefused) as exc:
        workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=date(2026, 7, 1))
    assert any("将过期" in u and "2026-06-30" in u for u in exc.value.unmet)
    assert any("At least two officers" in u for u in exc.value.unmet)
    db.session.rollback()
    assert case.stage == Stage.INVESTIGATION.value


def test_a_case_left_with_one_officer_cannot_move(make, team):
    case = make.case(team, approve=True, filed_on=FILED)
    cases.remove_officer(case, team["officer2"], actor=team["head"], reason="回避")
    db.session.commit()
    with pytest.raises(GateRefused) as exc:
        workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=LATER)
    assert any("At least two officers" in u for u in exc.value.unmet)


# --- who moves a case ----------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["reviewer", "auditor", "admin", "bystander", "other_head"])
def test_only_the_case_officers_or_the_head_move_a_case(make, team, who):
    case = make.case(team, approve=True, filed_on=FILED)
    actor = {"bystander": lambda: make.user(Role.OFFICER, body=team["body"]),
             "other_head": lambda: make.user(Role.HEAD, body=make.body())}.get(who, lambda: team[who])()
    with pytest.raises(PermissionDenied):
        workflow.advance(case, Stage.NOTICE, actor=actor, today=LATER)
    assert case.stage == Stage.INVESTIGATION.value


@pytest.mark.parametrize("who", ["officer", "officer2", "head"])
def test_case_officers_and_the_head_move_a_case(make, team, who):
    case = make.case(team, approve=True, filed_on=FILED)
    workflow.advance(case, Stage.NOTICE, actor=team[who], today=LATER)
    assert case.stage == Stage.NOTICE.value


def test_a_deactivated_case_officer_cannot_move_the_case(make, team):
    case = make.case(team, approve=True, filed_on=FILED)
    people.deactivate_user(team["officer"], actor=team["admin"], reason="调离")
    db.session.commit()
    with pytest.raises(PermissionDenied):
        workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=LATER)


# --- major decisions pass legal review (行政处罚法 art. 58) ----------------------------------------

def test_a_demolition_case_cannot_go_from_notice_to_decision(make, team):
    case = make.case(team, approve=True, filed_on=FILED)  # planning route: a demolition order
    drive(case, Stage.NOTICE, actor=team["officer"])
    make.notice(case, actor=team["officer"], today=LATER)
    with pytest.raises(GateRefused) as exc:
        workflow.advance(case, Stage.DECISION, actor=team["officer"], today=LATER)
    assert any("major decision" in u and "legal review" in u and "demolition" in u for u in exc.value.unmet)
    db.session.rollback()
    # Into review only by the officer's request, out of it to the decision only by the head's signature.
    assert workflow.unmet(case, Stage.REVIEW, today=LATER) == [
        "Submit the case for legal review with the attestation that the file is complete and true."]
    decision = make.decide(case, team, today=LATER)
    assert case.stage == Stage.DECISION.value
    assert decision.major and decision.review_request.status == "passed"


def test_a_matter_in_the_major_catalogue_needs_legal_review(make, team):
    matter = make.matter(team["body"], route="", in_major_catalogue=True)
    case = make.case(team, approve=True, matter=matter, filed_on=FILED)
    drive(case, Stage.NOTICE, actor=team["officer"])
    unmet = workflow.unmet(case, Stage.DECISION, today=LATER)
    assert any("major-decision catalogue" in u for u in unmet)


def test_a_case_marked_complex_needs_legal_review_and_the_reason_is_shown(make, team, plain_matter):
    case = make.case(team, approve=True, matter=plain_matter, filed_on=FILED)
    cases.mark_complex(case, actor=team["head"], reason="涉及多个法律关系")
    drive(case, Stage.NOTICE, actor=team["officer"])
    unmet = workflow.unmet(case, Stage.DECISION, today=LATER)
    assert any("涉及多个法律关系" in u for u in unmet)


def test_a_non_major_case_may_go_from_notice_to_decision(make, team, plain_matter):
    case = make.case(team, approve=True, matter=plain_matter, filed_on=FILED)
    assert case.route is None
    drive(case, Stage.NOTICE, actor=team["officer"])
    make.notice(case, actor=team["officer"], decision_type="warning", today=LATER)
    drive(case, Stage.DECISION, actor=team["officer"], make=make, team=team)
    assert case.stage == Stage.DECISION.value
    from enforcement.services import decisions
    assert decisions.original_decision(case).review_request_id is None  # no review needed


def test_legal_review_may_return_the_case_to_investigation(make, team):
    case = make.case(team, approve=True, filed_on=FILED)
    drive(case, Stage.NOTICE, actor=team["officer"])
    make.notice(case, actor=team["officer"], today=LATER)
    request = make.submit_review(case, actor=team["officer"], today=LATER)
    assert case.stage == Stage.REVIEW.value
    with pytest.raises(GateRefused):  # not by a generic move: only the reviewer's return
        workflow.advance(case, Stage.INVESTIGATION, actor=team["officer"], today=LATER)
    db.session.rollback()
    make.sign_review(request, team["reviewer"], outcome="returned", today=LATER)
    assert case.stage == Stage.INVESTIGATION.value


# --- archived cases are read-only ------------------------------------------------------------------

def test_an_archived_case_cannot_change(make, team, plain_matter):
    case = make.case(team, approve=True, matter=plain_matter, filed_on=FILED)
    drive(case, Stage.NOTICE, Stage.DECISION, Stage.SERVICE, Stage.CLOSED, Stage.ARCHIVED, actor=team["head"],
          make=make, team=team)
    assert case.stage == Stage.ARCHIVED.value
    for who in ("officer", "officer2", "head"):
        assert can_edit_case(team[who], case) is False
    assert workflow.next_stages(case) == ()
    for target in Stage:
        assert workflow.unmet(case, target, today=LATER), f"an archived case must not move to {target}"
    with pytest.raises(PermissionDenied):
        workflow.advance(case, Stage.CLOSED, actor=team["head"], today=LATER)
    with pytest.raises(PermissionDenied):
        cases.mark_complex(case, actor=team["head"], reason="事后补记")
    with pytest.raises(PermissionDenied):
        cases.remove_officer(case, team["officer2"], actor=team["head"], reason="事后")


def test_a_closed_case_goes_only_to_the_archive(make, team, plain_matter):
    case = make.case(team, approve=True, matter=plain_matter, filed_on=FILED)
    drive(case, Stage.NOTICE, Stage.DECISION, Stage.SERVICE, Stage.EXECUTION, Stage.CLOSED, actor=team["officer"],
          make=make, team=team)
    assert workflow.next_stages(case) == (Stage.ARCHIVED,)
    with pytest.raises(GateRefused):
        workflow.advance(case, Stage.EXECUTION, actor=team["officer"], today=LATER)


def test_a_closed_case_is_archived_even_after_its_officers_certificates_expired(make, team, plain_matter):
    expiring = make.user(Role.OFFICER, body=team["body"], certificate={"valid_until": date(2026, 6, 30)})
    case = make.case(team, matter=plain_matter, filed_on=FILED, officer_ids=[team["officer"].id, expiring.id])
    cases.approve_filing(case, actor=team["head"], today=APPROVED)
    drive(case, Stage.NOTICE, Stage.DECISION, Stage.SERVICE, Stage.CLOSED, actor=team["officer"], make=make,
          team=team)
    assert workflow.unmet(case, Stage.ARCHIVED, today=date(2026, 8, 1)) == []


# --- the trail of every move ------------------------------------------------------------------------

def test_each_move_writes_one_audit_event_with_the_stages_before_and_after(make, team, plain_matter):
    case = make.case(team, approve=True, matter=plain_matter, filed_on=FILED)
    path = [Stage.NOTICE, Stage.DECISION, Stage.SERVICE, Stage.CLOSED]
    previous = Stage.INVESTIGATION
    for stage in path:
        if stage == Stage.DECISION:
            make.notice(case, actor=team["officer2"], decision_type="warning", today=LATER)  # not major
        count = len(stage_events(case))
        total = db.session.scalar(select(func.count(AuditEvent.id)))
        if stage == Stage.DECISION:
            # The head's signature: the 决定书 kept, the decision, the one move, then the publication draft.
            make.decide(case, team, today=LATER)
            new = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > total)
                                          .order_by(AuditEvent.id)))
            assert new == ["record.generated", "decision.made", "case.stage_changed", "publication.drafted"]
            actor, after = team["head"], {"stage": stage.value}
        else:
            if stage == Stage.CLOSED:  # served (a warning needs nothing more) and self-checked first
                make.serve(case, actor=team["officer2"], today=LATER)
                make.self_check(case, actor=team["officer2"], today=LATER)
                total = db.session.scalar(select(func.count(AuditEvent.id)))
            workflow.advance(case, stage, actor=team["officer2"], today=LATER, reason="按程序推进")
            db.session.commit()
            assert db.session.scalar(select(func.count(AuditEvent.id))) == total + 1
            actor, after = team["officer2"], {"stage": stage.value, "reason": "按程序推进"}
        events = stage_events(case)
        assert len(events) == count + 1
        event = events[-1]
        assert json.loads(event.before) == {"stage": previous.value}
        assert json.loads(event.after) == after
        assert event.actor_id == actor.id and event.body_id == team["body"].id
        assert case.number in event.object_label
        previous = stage


# --- the database guards the filing gate too ---------------------------------------------------------

def test_the_database_refuses_a_case_past_filing_without_approval(make, team):
    case = make.case(team, filed_on=FILED)
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE cases SET stage = 'investigation' WHERE id = :id"), {"id": case.id})
        db.session.flush()
    db.session.rollback()
    assert db.session.execute(text("SELECT stage FROM cases WHERE id = :id"), {"id": case.id}).scalar() == "filing"


def test_the_database_refuses_removing_the_approval_of_an_approved_case(make, team):
    case = make.case(team, approve=True, filed_on=FILED)
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE cases SET filing_approved_by_id = NULL WHERE id = :id"), {"id": case.id})
        db.session.flush()
    db.session.rollback()


def test_the_database_refuses_an_unknown_stage(make, team):
    case = make.case(team, approve=True, filed_on=FILED)
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE cases SET stage = 'teleported' WHERE id = :id"), {"id": case.id})
        db.session.flush()
    db.session.rollback()
