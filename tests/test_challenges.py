"""Specification of challenges (services.challenges): a reconsideration or suit is recorded from the
day its copy arrived, the defence is due 10 or 15 days later, and an outcome that revokes, changes
or finds the decision unlawful starts the withdrawal of its publication."""
from __future__ import annotations

import json
from datetime import date

import pytest
from flask_babel import force_locale

from enforcement.extensions import db
from enforcement.services import challenges, disclosure
from enforcement.services.errors import DomainError, GateRefused, PermissionDenied
from tests.test_disclosure import decided, published

pytestmark = pytest.mark.usefixtures("without_record_rules")


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


def test_the_defence_is_due_10_days_after_a_reconsideration_and_15_after_a_suit(make, team):
    case, _ = decided(make, team)
    r = challenges.record_challenge(case, actor=team["officer"], kind="reconsideration", forum="县人民政府",
                                    received_on=date(2026, 10, 22), today=date(2026, 10, 23))
    s = challenges.record_challenge(case, actor=team["officer"], kind="suit", forum="县人民法院",
                                    received_on=date(2026, 10, 22), today=date(2026, 10, 23))
    assert r.defence_due_on == date(2026, 11, 2)  # 1 November is a Sunday: the period ends on the Monday
    assert s.defence_due_on == date(2026, 11, 6)
    assert [c.id for c in challenges.challenges_of(case)] == [r.id, s.id]


def test_a_challenge_needs_a_decision_a_forum_and_a_past_day_and_an_officer_of_the_case(make, team):
    case = make.case(team, approve=True)
    with pytest.raises(GateRefused) as refused:
        challenges.record_challenge(case, actor=team["officer"], kind="appeal", forum=" ", received_on=None)
    assert len(refused.value.unmet) == 4
    case2, _ = decided(make, team)
    with pytest.raises(GateRefused, match="future"):
        challenges.record_challenge(case2, actor=team["officer"], kind="suit", forum="法院",
                                    received_on=date(2026, 12, 1), today=date(2026, 11, 1))
    with pytest.raises(PermissionDenied):
        challenges.record_challenge(case2, actor=team["auditor"], kind="suit", forum="法院",
                                    received_on=date(2026, 10, 30), today=date(2026, 11, 1))


def test_an_outcome_revoking_the_decision_starts_the_withdrawal_of_its_notice(make, team):
    case, decision, pub = published(make, team)
    row = challenges.record_challenge(case, actor=team["officer"], kind="reconsideration", forum="县人民政府",
                                      received_on=date(2026, 10, 22), today=date(2026, 10, 23))
    with pytest.raises(GateRefused, match="between"):
        challenges.record_outcome(row, actor=team["officer"], outcome="revoked", outcome_on=date(2026, 10, 1),
                                  today=date(2026, 11, 20))
    challenges.record_outcome(row, actor=team["officer"], outcome="revoked", outcome_on=date(2026, 11, 18),
                              note="复议决定撤销", today=date(2026, 11, 20))
    db.session.commit()
    assert pub.withdraw_due_on == date(2026, 11, 25) and "县人民政府" in pub.withdraw_cause
    assert disclosure.suggested_withdrawal_reason(pub).startswith("该决定已被县人民政府于2026年11月18日依法撤销")
    with pytest.raises(DomainError, match="already"):
        challenges.record_outcome(row, actor=team["officer"], outcome="upheld", outcome_on=date(2026, 11, 18),
                                  today=date(2026, 11, 20))


def test_an_outcome_upholding_the_decision_leaves_its_notice_online(make, team):
    case, decision, pub = published(make, team)
    row = challenges.record_challenge(case, actor=team["head"], kind="suit", forum="县人民法院",
                                      received_on=date(2026, 10, 22), today=date(2026, 10, 23))
    challenges.record_outcome(row, actor=team["head"], outcome="upheld", outcome_on=date(2026, 11, 18),
                              today=date(2026, 11, 20))
    assert pub.withdraw_due_on is None and pub.status == "published"


def test_the_defence_handed_in_ends_the_obligation_and_says_whether_it_was_on_time(make, team):
    case, _ = decided(make, team)
    row = challenges.record_challenge(case, actor=team["officer"], kind="reconsideration", forum="县人民政府",
                                      received_on=date(2026, 10, 22), today=date(2026, 10, 23))
    db.session.commit()
    body = [team["body"].id]
    assert [o.challenge.id for o in challenges.defence_obligations(body, date(2026, 10, 30))] == [row.id]
    with pytest.raises(GateRefused, match="between the day the copy was received and today"):
        challenges.record_defence(row, actor=team["officer"], submitted_on=date(2026, 10, 21), today=date(2026, 11, 5))
    with pytest.raises(GateRefused, match="between the day the copy was received and today"):
        challenges.record_defence(row, actor=team["officer"], submitted_on=date(2026, 11, 6), today=date(2026, 11, 5))
    with pytest.raises(GateRefused, match="Give the day"):
        challenges.record_defence(row, actor=team["officer"], submitted_on=None, today=date(2026, 11, 5))
    with pytest.raises(PermissionDenied):
        challenges.record_defence(row, actor=team["auditor"], submitted_on=date(2026, 11, 2), today=date(2026, 11, 5))
    challenges.record_defence(row, actor=team["officer"], submitted_on=date(2026, 11, 3), today=date(2026, 11, 5))
    db.session.commit()
    assert challenges.defence_obligation(row, date(2026, 11, 5)) is None
    assert challenges.defence_obligations(body, date(2026, 11, 5)) == []
    from sqlalchemy import select

    from enforcement.models import AuditEvent
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "challenge.defence"))
    assert json.loads(event.after)["late"] is True  # due 2 November, handed in on the 3rd
    with pytest.raises(DomainError, match="already"):
        challenges.record_defence(row, actor=team["officer"], submitted_on=date(2026, 11, 3), today=date(2026, 11, 5))
