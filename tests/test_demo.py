"""Specification of the demo town (`flask --app app demo`, enforcement.demo).

The demo loads 永平镇人民政府 through the real services — so every case passed the real gates and
the audit trail records it all — with four or more officers (one whose certificate has expired),
two legal reviewers, a head, an auditor of the supervising county body and an admin, the powers a
town enforces and about thirty cases over the stages. Loading twice changes nothing.
"""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from enforcement import demo
from enforcement.extensions import db, limiter
from enforcement.models import AuditHead, Body, Case, Matter, Role, Stage, User
from enforcement.services import audit, cases, people, permissions
from enforcement.services.cases import CaseFilter


@pytest.fixture
def town(app):
    """The demo loaded once, strictly: any step a gate refuses fails the test."""
    assert demo.load_demo(strict=True) is True
    db.session.commit()
    return db.session.scalar(select(Body).where(Body.name == demo.TOWN_NAME))


def _table_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def _user(username: str) -> User:
    return people.find_user(username)


def test_demo_creates_the_town_under_its_supervising_county_body(town):
    assert town.short_name == "永平" and town.area == "永平镇" and town.kind == "town"
    assert town.parent is not None and town.parent.name == demo.COUNTY_NAME
    assert town.case_number_pattern == "{short}罚〔{year}〕{seq}号"


def test_second_load_changes_nothing(town):
    counts, head = _table_counts(), db.session.get(AuditHead, 1)
    seq, last_hash = head.seq, head.last_hash

    assert demo.load_demo() is False
    db.session.commit()

    assert _table_counts() == counts
    db.session.expire_all()
    head = db.session.get(AuditHead, 1)
    assert (head.seq, head.last_hash) == (seq, last_hash)


def test_about_thirty_cases_spread_over_at_least_six_stages(town):
    rows = db.session.execute(select(Case.stage, func.count()).where(Case.body_id == town.id)
                              .group_by(Case.stage)).all()
    by_stage = dict(rows)
    assert sum(by_stage.values()) >= 30
    assert len(by_stage) >= 6
    assert set(by_stage) == {s.value for s in Stage}  # every stage the machine knows has a case


def test_case_numbers_follow_the_pattern_and_the_filing_order(town):
    rows = db.session.execute(select(Case.number, Case.seq, Case.filed_on).where(Case.body_id == town.id)
                              .order_by(Case.seq)).all()
    assert all(re.fullmatch(r"永平罚〔2026〕\d+号", number) for number, _seq, _filed in rows)
    filed = [f for _n, _s, f in rows]
    assert filed == sorted(filed)
    assert all(date(2026, 1, 1) <= f <= min(date.today(), demo.STORY_END) for f in filed)


def test_cases_are_in_many_villages_and_some_are_overdue(town):
    villages = db.session.scalars(select(Case.village).where(Case.body_id == town.id).distinct()).all()
    assert len(villages) >= 10
    assert set(villages) <= set(demo.VILLAGES)
    head = _user("head")
    assert cases.count_cases(head, CaseFilter(overdue=True)) >= 2


def test_major_cases_passed_legal_review_before_their_decision(town):
    decided = db.session.scalars(select(Case).where(Case.body_id == town.id, Case.stage.in_(
        [Stage.DECISION.value, Stage.SERVICE.value, Stage.EXECUTION.value, Stage.CLOSED.value,
         Stage.ARCHIVED.value]))).all()
    for case in decided:
        stages = [e.after for e in audit.events_for_case(case.id) if e.action == "case.stage_changed"]
        went_through_review = any('"stage":"review"' in (a or "") for a in stages)
        if case.route:
            assert went_through_review, case.number


def test_people_and_their_certificates(town):
    today = date.today()
    officers = [u for u in cases.officers_of([town.id])]
    assert len(officers) >= 4
    import flask_babel
    with flask_babel.force_locale("en"):
        expired = [u for u in officers if "expired" in (people.certificate_problem(u, max(today, demo.STORY_END)) or "")]
    assert [u.username for u in expired] == ["officer4"]
    assert people.certificate_problem(_user("officer1"), demo.STORY_END) is None
    helper = _user("helper1")
    assert helper.auxiliary and not helper.certificates
    reviewers = [_user("reviewer1"), _user("reviewer2")]
    assert all(r.has_role(Role.REVIEWER) for r in reviewers)
    assert reviewers[0].legal_qualification_no and reviewers[1].legal_adviser_appointment
    assert _user("head").has_role(Role.HEAD)
    assert _user("admin").has_role(Role.ADMIN)


def test_the_county_auditor_sees_the_town_cases(town):
    auditor = _user("auditor")
    assert auditor.body.name == demo.COUNTY_NAME
    assert town.id in permissions.case_scope(auditor)
    assert cases.count_cases(auditor, CaseFilter()) == cases.count_cases(_user("head"), CaseFilter())


def test_the_powers_catalogue_has_both_legal_routes(town):
    matters = {m.route: m for m in db.session.scalars(select(Matter).where(Matter.body_id == town.id))}
    planning, land = matters["planning"], matters["land"]
    assert "第六十五条" in planning.legal_basis and planning.power_source == "own" and planning.in_major_catalogue
    assert "第七十八条" in land.legal_basis and land.power_source == "delegated"
    assert land.delegation_document and land.delegation_published_on == date(2024, 3, 1)


def test_the_trail_records_the_demo_and_verifies(town):
    report = audit.verify_chain()
    assert report.ok, report.problems
    assert report.events > 100


def test_demo_logins_can_log_in(town, app):
    assert len(demo.DEMO_PASSWORD) >= 10 and not people.check_password_strength(demo.DEMO_PASSWORD)
    assert {u for u, _d in demo.DEMO_LOGINS} >= {"officer1", "officer2", "officer3", "officer4", "reviewer1",
                                                  "reviewer2", "head", "auditor", "admin"}
    from tests.conftest import csrf_token

    for username, _description in demo.DEMO_LOGINS:
        limiter.reset()  # ten logins in a row would trip the login rate limit
        # A fresh app context per user: the test's own context (and its `g`) would outlive each request.
        with app.app_context():
            client = app.test_client()
            token = csrf_token(client, "/login")
            response = client.post("/login", data={"username": username, "password": demo.DEMO_PASSWORD,
                                                   "csrf_token": token})
        assert response.status_code == 302, username
        assert "/login" not in response.headers["Location"], username


def test_demo_command_loads_once_and_prints_the_logins(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "demo town loaded" in first.output
    assert demo.DEMO_PASSWORD in first.output and "officer1" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert db.session.scalar(select(func.count()).select_from(Body).where(Body.name == demo.TOWN_NAME)) == 1
