"""Specification of filing and reading cases (services.cases), tested without HTTP.

Filing (立案) is refused, with every unmet condition in words at once, unless: two officers of the
body hold certificates valid in scope on the filing date (行政处罚法 art. 42), the limitation period
has not run (art. 36, a continuing act counts from its end), the dates are consistent, the matter is
in the body's powers catalogue and, on the land route, a town holds a published delegation
(土地管理法 art. 83, 行政处罚法 art. 24). Case numbers run per body and year. A case of another
body is not found; the list is restricted to the user's scope.
"""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from enforcement.extensions import db
from enforcement.models import AuditEvent, Case, Role, Stage
from enforcement.services import cases, people, workflow
from enforcement.services.cases import CaseFilter, PartyData
from enforcement.services.errors import (
    DomainError,
    GateRefused,
    NotFound,
    PermissionDenied,
)

FILED = date(2026, 3, 10)
TODAY = date(2026, 3, 12)


def filing(team, matter, **overrides):
    """Keyword arguments for cases.file_case: a valid filing unless overridden."""
    values = dict(
        actor=team["officer"], body=team["body"], matter=matter, route=matter.route, source="grid_patrol",
        source_detail="网格员巡查发现", party=PartyData(kind="person", name="张三", id_number="110101199001011234",
                                                  phone="13800138000", address="东村1号"),
        village="东村", place_detail="村委会北侧", summary="未取得乡村建设规划许可证建设住房",
        act_began_on=FILED - timedelta(days=30), act_ended_on=None, discovered_on=FILED - timedelta(days=2),
        filed_on=FILED, officer_ids=[team["officer"].id, team["officer2"].id], today=TODAY)
    values.update(overrides)
    return values


def refused(**kwargs) -> list[str]:
    """File and expect a refusal; return its unmet conditions. Nothing may be written."""
    before = db.session.scalar(select(func.count(Case.id)))
    with pytest.raises(GateRefused) as exc:
        cases.file_case(**kwargs)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Case.id))) == before
    assert exc.value.unmet, "a refusal must list its conditions"
    return exc.value.unmet


def mentions(unmet: list[str], *words: str) -> bool:
    return any(all(w in item for w in words) for item in unmet)


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    with force_locale("en"):
        yield


@pytest.fixture
def team(make):
    return make.team(make.body(short_name="永平"))


@pytest.fixture
def matter(make, team):
    return make.matter(team["body"])


# --- filing: the happy path ------------------------------------------------------------------------

def test_valid_filing_waits_for_the_heads_approval_and_is_audited(team, matter):
    case = cases.file_case(**filing(team, matter))
    db.session.commit()
    assert case.stage == Stage.FILING.value and case.filing_approved_by_id is None
    assert {o.user_id for o in case.active_officers} == {team["officer"].id, team["officer2"].id}
    assert case.decision_due_on > case.filed_on
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.filed"))
    assert event.case_id == case.id and event.actor_id == team["officer"].id
    after = json.loads(event.after)
    assert after["number"] == case.number
    # Personal data is named as present, never copied into the trail.
    assert "110101199001011234" not in event.after and "13800138000" not in event.after
    assert set(after["personal_data"]) == {"party_id_number", "party_phone", "party_address"}


# --- filing: each refusal ---------------------------------------------------------------------------

def test_filing_refused_with_only_one_officer(team, matter):
    unmet = refused(**filing(team, matter, officer_ids=[team["officer"].id]))
    assert mentions(unmet, "At least two officers", "1 qualified")


def test_filing_refused_when_the_same_officer_is_named_twice(team, matter):
    unmet = refused(**filing(team, matter, officer_ids=[team["officer"].id, team["officer"].id]))
    assert mentions(unmet, "At least two officers")


def test_filing_refused_when_one_officers_certificate_expired_on_the_filing_date(make, team, matter):
    expired = make.user(Role.OFFICER, body=team["body"], name="过期甲",
                        certificate={"valid_until": FILED - timedelta(days=1)})
    unmet = refused(**filing(team, matter, officer_ids=[team["officer"].id, expired.id]))
    assert mentions(unmet, "过期甲", (FILED - timedelta(days=1)).isoformat())
    assert mentions(unmet, "At least two officers", "1 qualified")


def test_filing_allowed_when_the_certificate_expires_on_the_filing_date_itself(make, team, matter):
    last_day = make.user(Role.OFFICER, body=team["body"], certificate={"valid_until": FILED})
    case = cases.file_case(**filing(team, matter, officer_ids=[team["officer"].id, last_day.id]))
    assert case.id


def test_filing_refused_with_an_officer_of_another_body(make, team, matter):
    # Certified for this town's area, but employed by another body.
    other_body = make.body()
    stranger = make.user(Role.OFFICER, body=other_body, name="外单位", certificate={"area": team["body"].area})
    unmet = refused(**filing(team, matter, officer_ids=[team["officer"].id, stranger.id]))
    assert mentions(unmet, "外单位", team["body"].name)
    assert mentions(unmet, "At least two officers")


def test_filing_refused_with_an_officer_certified_for_another_area(make, team, matter):
    stranger = make.user(Role.OFFICER, body=make.body(), name="外区域")
    unmet = refused(**filing(team, matter, officer_ids=[team["officer"].id, stranger.id]))
    assert mentions(unmet, "外区域")


def test_filing_refused_with_auxiliary_staff_as_second_officer(make, team, matter):
    helper = make.user(Role.OFFICER, body=team["body"], name="协管员", auxiliary=True)
    unmet = refused(**filing(team, matter, officer_ids=[team["officer"].id, helper.id]))
    assert mentions(unmet, "协管员", "auxiliary")


def test_filing_refused_with_an_officer_that_does_not_exist(team, matter):
    unmet = refused(**filing(team, matter, officer_ids=[team["officer"].id, team["officer2"].id, 987654]))
    assert mentions(unmet, "does not exist")


def test_filing_refused_when_the_limitation_period_has_run(team, matter):
    unmet = refused(**filing(team, matter, act_began_on=date(2023, 1, 1), act_ended_on=date(2024, 1, 1),
                             discovered_on=date(2026, 1, 2), filed_on=date(2026, 1, 5), today=date(2026, 1, 6)))
    assert mentions(unmet, "limitation", "2024-01-01", "2026-01-02")


def test_limitation_runs_exactly_two_years_from_the_end_of_the_act(team, matter):
    # Discovered on the last day of the two years: allowed.
    case = cases.file_case(**filing(team, matter, act_began_on=date(2023, 1, 1), act_ended_on=date(2024, 1, 1),
                                    discovered_on=date(2026, 1, 1), filed_on=date(2026, 1, 5),
                                    today=date(2026, 1, 6)))
    assert case.id


def test_continuing_act_is_not_time_barred(team, matter):
    # Began long ago and still goes on (the house stands): limitation runs from its end.
    case = cases.file_case(**filing(team, matter, act_began_on=date(2019, 5, 1), act_ended_on=None,
                                    discovered_on=date(2026, 3, 1)))
    assert case.id and case.act_ended_on is None


def test_filing_refused_before_the_act_was_discovered(team, matter):
    unmet = refused(**filing(team, matter, discovered_on=FILED + timedelta(days=1), today=FILED + timedelta(days=5)))
    assert mentions(unmet, "before the act was discovered")


def test_filing_refused_with_a_date_in_the_future(team, matter):
    unmet = refused(**filing(team, matter, filed_on=TODAY + timedelta(days=1)))
    assert mentions(unmet, "future")


def test_filing_refused_when_the_act_is_discovered_before_it_began_or_ends_before_it_began(team, matter):
    unmet = refused(**filing(team, matter, act_began_on=FILED, act_ended_on=FILED - timedelta(days=10),
                             discovered_on=FILED - timedelta(days=1)))
    assert mentions(unmet, "discovered before it began")
    assert mentions(unmet, "end before it began")


def test_filing_refused_for_a_matter_of_another_body(make, team):
    foreign = make.matter(make.body(), name="外镇事项")
    unmet = refused(**filing(team, foreign))
    assert mentions(unmet, "外镇事项", "not in the powers catalogue", team["body"].name)


def test_filing_refused_for_an_inactive_matter(make, team):
    old = make.matter(team["body"], name="已废止事项", active=False)
    unmet = refused(**filing(team, old))
    assert mentions(unmet, "已废止事项", "no longer in force")


def test_filing_refused_on_a_route_other_than_the_matters(make, team, matter):
    unmet = refused(**filing(team, matter, route="land"))
    assert mentions(unmet, "planning")


def test_land_route_refused_for_a_town_without_delegated_power(make, team):
    land = make.matter(team["body"], route="land", power_source="own",
                       legal_basis="《中华人民共和国土地管理法》第七十八条")
    unmet = refused(**filing(team, land))
    assert mentions(unmet, "delegated power", "county department")


def test_land_route_allowed_for_a_town_with_a_published_delegation(make, team):
    land = make.matter(team["body"], route="land", power_source="delegated",
                       delegation_document="测试省人民政府关于赋予乡镇部分县级行政执法权的决定",
                       delegation_published_on=date(2025, 6, 1))
    case = cases.file_case(**filing(team, land))
    assert case.route == "land"


def test_land_route_allowed_for_a_county_department_with_its_own_power(make):
    department = make.body(kind="county_department", short_name="农业农村局")
    team = make.team(department)
    land = make.matter(department, route="land", power_source="own")
    case = cases.file_case(**filing(team, land))
    assert case.route == "land"


def test_filing_refused_before_the_delegation_was_published(make, team):
    land = make.matter(team["body"], route="land", power_source="delegated",
                       delegation_document="测试省人民政府关于赋予乡镇部分县级行政执法权的决定",
                       delegation_published_on=FILED + timedelta(days=1), name="委托事项")
    unmet = refused(**filing(team, land))
    assert mentions(unmet, "委托事项", "not yet published", FILED.isoformat())
    # Filed on the day of publication: allowed.
    case = cases.file_case(**filing(team, land, filed_on=FILED + timedelta(days=1)))
    assert case.id


def test_refusal_lists_every_problem_at_once(make, team, matter):
    expired = make.user(Role.OFFICER, body=team["body"], name="过期乙", certificate={"valid_until": date(2025, 1, 1)})
    unmet = refused(**filing(team, matter, officer_ids=[expired.id], filed_on=TODAY + timedelta(days=3),
                             discovered_on=TODAY + timedelta(days=4), village=" ", summary="",
                             party=PartyData(kind="robot", name="")))
    assert mentions(unmet, "过期乙", "2025-01-01")
    assert mentions(unmet, "At least two officers")
    assert mentions(unmet, "future")
    assert mentions(unmet, "before the act was discovered")
    assert mentions(unmet, "village")
    assert mentions(unmet, "summary")
    assert mentions(unmet, "party's name")
    assert mentions(unmet, "person or an organisation")
    assert len(unmet) >= 8


@pytest.mark.parametrize("role", [Role.HEAD, Role.AUDITOR, Role.REVIEWER, Role.ADMIN])
def test_only_an_officer_may_file(make, team, matter, role):
    actor = make.user(role, body=team["body"])
    with pytest.raises(PermissionDenied):
        cases.file_case(**filing(team, matter, actor=actor))


def test_an_officer_of_another_body_may_not_file_for_this_one(make, team, matter):
    stranger = make.user(Role.OFFICER, body=make.body())
    with pytest.raises(PermissionDenied):
        cases.file_case(**filing(team, matter, actor=stranger))


def test_auxiliary_staff_may_not_file(make, team, matter):
    helper = make.user(Role.OFFICER, body=team["body"], auxiliary=True)
    with pytest.raises(PermissionDenied):
        cases.file_case(**filing(team, matter, actor=helper))


def test_a_deactivated_officer_may_not_file(make, team, matter):
    people.deactivate_user(team["officer"], actor=team["admin"], reason="调离")
    db.session.commit()
    with pytest.raises(PermissionDenied):
        cases.file_case(**filing(team, matter))


# --- case numbers ------------------------------------------------------------------------------------

def test_case_numbers_run_per_body_and_year_in_the_configured_pattern(make, team, matter):
    first = cases.file_case(**filing(team, matter))
    second = cases.file_case(**filing(team, matter))
    third = cases.file_case(**filing(team, matter))
    assert [first.number, second.number, third.number] == ["永平罚〔2026〕1号", "永平罚〔2026〕2号", "永平罚〔2026〕3号"]
    assert [c.seq for c in (first, second, third)] == [1, 2, 3]


def test_case_numbers_are_independent_per_body(make, team, matter):
    cases.file_case(**filing(team, matter))
    other = make.team(make.body(short_name="长乐"))
    other_case = cases.file_case(**filing(other, make.matter(other["body"])))
    assert other_case.number == "长乐罚〔2026〕1号"
    assert cases.file_case(**filing(team, matter)).number == "永平罚〔2026〕2号"


def test_case_numbers_restart_each_year(team, matter):
    cases.file_case(**filing(team, matter))
    cases.file_case(**filing(team, matter))
    last_year = cases.file_case(**filing(team, matter, filed_on=date(2025, 12, 30),
                                         discovered_on=date(2025, 12, 29), act_began_on=date(2025, 12, 1)))
    assert last_year.number == "永平罚〔2025〕1号" and last_year.year == 2025
    assert cases.file_case(**filing(team, matter)).number == "永平罚〔2026〕3号"


def test_case_number_pattern_is_configurable_per_body(make):
    team = make.team(make.body(short_name="清河", case_number_pattern="{short}综执罚〔{year}〕{seq:03d}号"))
    matter = make.matter(team["body"])
    assert cases.file_case(**filing(team, matter)).number == "清河综执罚〔2026〕001号"


def test_a_refused_filing_uses_no_case_number(team, matter):
    refused(**filing(team, matter, officer_ids=[team["officer"].id]))
    assert cases.file_case(**filing(team, matter)).number == "永平罚〔2026〕1号"


# --- reading: scope and 404 --------------------------------------------------------------------------

def test_get_case_of_another_body_is_not_found(make, team):
    case = make.case(team)
    other = make.team()
    for role in ("officer", "head", "auditor", "reviewer"):
        with pytest.raises(NotFound):
            cases.get_case(other[role], case.id)
    assert cases.get_case(team["officer"], case.id) is case


def test_get_case_that_does_not_exist_is_not_found(team):
    with pytest.raises(NotFound):
        cases.get_case(team["officer"], 424242)


def test_admin_only_user_sees_no_cases(make, team):
    case = make.case(team)
    assert cases.list_cases(team["admin"], CaseFilter()) == ([], False)
    assert cases.count_cases(team["admin"], CaseFilter()) == 0
    with pytest.raises(NotFound):
        cases.get_case(team["admin"], case.id)


def test_deactivated_user_sees_no_cases(make, team):
    case = make.case(team)
    people.deactivate_user(team["officer2"], actor=team["admin"], reason="调离")
    db.session.commit()
    assert cases.list_cases(team["officer2"], CaseFilter())[0] == []
    with pytest.raises(NotFound):
        cases.get_case(team["officer2"], case.id)


def test_auditor_of_the_county_sees_the_towns_cases_but_a_town_auditor_not_its_neighbours(make):
    county = make.body(kind="county", area="永平县")
    town = make.team(make.body(parent_id=county.id))
    neighbour = make.team(make.body(parent_id=county.id))
    elsewhere = make.team(make.body())
    town_case, neighbour_case, far_case = make.case(town), make.case(neighbour), make.case(elsewhere)
    county_auditor = make.user(Role.AUDITOR, body=county)

    seen = {c.id for c in cases.list_cases(county_auditor, CaseFilter())[0]}
    assert seen == {town_case.id, neighbour_case.id}
    assert cases.get_case(county_auditor, town_case.id) is town_case
    with pytest.raises(NotFound):
        cases.get_case(county_auditor, far_case.id)
    assert {c.id for c in cases.list_cases(town["auditor"], CaseFilter())[0]} == {town_case.id}
    with pytest.raises(NotFound):
        cases.get_case(town["auditor"], neighbour_case.id)


def test_an_officer_of_the_county_does_not_see_the_towns_cases(make):
    county = make.body(kind="county", area="永平县")
    town = make.team(make.body(parent_id=county.id))
    case = make.case(town)
    county_officer = make.user(Role.OFFICER, body=county)
    assert cases.list_cases(county_officer, CaseFilter())[0] == []
    with pytest.raises(NotFound):
        cases.get_case(county_officer, case.id)


# --- the case list filters ---------------------------------------------------------------------------

@pytest.fixture
def listed(make, team, matter):
    """Cases of one body in several stages, matters and officers, plus a case of another body."""
    third = make.user(Role.OFFICER, body=team["body"])
    other_matter = make.matter(team["body"], name="另一事项")
    today = date.today()
    filed = make.case(team, matter=matter, party=PartyData(kind="person", name="王五"), village="西村",
                      filed_on=today - timedelta(days=2))
    approved = make.case(team, matter=matter, approve=True, filed_on=today - timedelta(days=2))
    other = make.case(team, matter=other_matter, officer_ids=[team["officer"].id, third.id],
                      filed_on=today - timedelta(days=2))
    old = make.case(team, matter=matter, filed_on=today - timedelta(days=200),
                    act_began_on=today - timedelta(days=300), discovered_on=today - timedelta(days=201))
    foreign_team = make.team()
    foreign = make.case(foreign_team, party=PartyData(kind="person", name="王五"), village="西村")
    return {"team": team, "third": third, "other_matter": other_matter, "filed": filed, "approved": approved,
            "other": other, "old": old, "foreign": foreign}


def ids(user, **flt) -> set[int]:
    rows, more = cases.list_cases(user, CaseFilter(**flt), per_page=100)
    assert not more
    return {c.id for c in rows}


def test_case_list_scope_excludes_other_bodies(listed):
    officer = listed["team"]["officer"]
    expected = {listed[k].id for k in ("filed", "approved", "other", "old")}
    assert ids(officer) == expected
    assert cases.count_cases(officer, CaseFilter()) == 4


def test_case_list_filters_by_stage(listed):
    officer = listed["team"]["officer"]
    assert ids(officer, stage="investigation") == {listed["approved"].id}
    assert ids(officer, stage="filing") == {listed[k].id for k in ("filed", "other", "old")}
    assert ids(officer, stage="decision") == set()


def test_case_list_filters_by_matter(listed):
    officer = listed["team"]["officer"]
    assert ids(officer, matter_id=listed["other_matter"].id) == {listed["other"].id}


def test_case_list_filters_by_officer(listed):
    officer = listed["team"]["officer"]
    assert ids(officer, officer_id=listed["third"].id) == {listed["other"].id}
    assert ids(officer, officer_id=listed["team"]["officer2"].id) == {listed[k].id for k in ("filed", "approved", "old")}


def test_case_list_officer_filter_ignores_removed_officers(listed):
    team, case = listed["team"], listed["other"]
    cases.assign_officer(case, team["officer2"], actor=team["head"])
    cases.remove_officer(case, listed["third"], actor=team["head"], reason="回避")
    db.session.commit()
    assert ids(team["officer"], officer_id=listed["third"].id) == set()


def test_case_list_filters_overdue(listed):
    officer = listed["team"]["officer"]
    assert listed["old"].decision_due_on < date.today()
    assert ids(officer, overdue=True) == {listed["old"].id}
    assert cases.is_overdue(listed["old"]) and not cases.is_overdue(listed["filed"])


def test_a_case_past_its_decision_is_not_overdue(without_record_rules, make, listed):
    team = listed["team"]
    plain = make.matter(team["body"], route="", name="一般事项")
    late = make.case(team, matter=plain, approve=True, filed_on=date.today() - timedelta(days=150),
                     act_began_on=date.today() - timedelta(days=160), discovered_on=date.today() - timedelta(days=151))
    assert cases.is_overdue(late)
    # Decided in time (within its 90 days), the case is past its decision: its limit no longer runs.
    in_time = late.filed_on + timedelta(days=10)
    workflow.advance(late, "notice", actor=team["officer"], today=in_time)
    make.notice(late, decision_type="warning", today=in_time)
    make.decide(late, team, today=in_time)
    assert late.stage == Stage.DECISION.value and late.decision_due_on < date.today()
    assert not cases.is_overdue(late)
    assert ids(team["officer"], overdue=True) == {listed["old"].id}


def test_case_list_searches_number_party_and_village(listed):
    officer = listed["team"]["officer"]
    assert ids(officer, q="王五") == {listed["filed"].id}  # the other body's 王五 stays hidden
    assert ids(officer, q="西村") == {listed["filed"].id}
    assert ids(officer, q=listed["approved"].number) == {listed["approved"].id}
    assert ids(officer, q="没有这个人") == set()


def test_case_list_search_treats_percent_and_underscore_as_text(listed):
    officer = listed["team"]["officer"]
    assert ids(officer, q="%") == set()
    assert ids(officer, q="_") == set()


def test_case_list_filters_combine(listed):
    officer = listed["team"]["officer"]
    assert ids(officer, stage="filing", matter_id=listed["other_matter"].id, officer_id=listed["third"].id) == {
        listed["other"].id}
    assert ids(officer, stage="investigation", matter_id=listed["other_matter"].id) == set()


def test_case_list_pages_newest_first(listed):
    officer = listed["team"]["officer"]
    first, more = cases.list_cases(officer, CaseFilter(), per_page=3, page=1)
    second, more2 = cases.list_cases(officer, CaseFilter(), per_page=3, page=2)
    assert more is True and more2 is False
    assert [c.id for c in first] == sorted((c.id for c in first), reverse=True)
    assert len(first) == 3 and len(second) == 1
    assert {c.id for c in first} | {c.id for c in second} == ids(officer)


# --- officers on a case ------------------------------------------------------------------------------

def test_assigning_an_officer_with_an_expired_certificate_is_refused(make, team):
    case = make.case(team, approve=True)
    expired = make.user(Role.OFFICER, body=team["body"], name="过期丙", certificate={"valid_until": date(2025, 1, 1)})
    with pytest.raises(GateRefused) as exc:
        cases.assign_officer(case, expired, actor=team["head"])
    assert mentions(exc.value.unmet, "过期丙")


def test_assigning_an_officer_of_another_body_is_refused(make, team):
    case = make.case(team, approve=True)
    stranger = make.user(Role.OFFICER, body=make.body(), certificate={"area": team["body"].area})
    with pytest.raises(GateRefused):
        cases.assign_officer(case, stranger, actor=team["head"])


def test_only_case_officers_or_the_head_change_the_officers(make, team):
    case = make.case(team, approve=True)
    bystander = make.user(Role.OFFICER, body=team["body"])
    with pytest.raises(PermissionDenied):
        cases.assign_officer(case, bystander, actor=bystander)
    with pytest.raises(PermissionDenied):
        cases.remove_officer(case, team["officer2"], actor=team["auditor"], reason="回避")


def test_removing_an_officer_needs_a_reason_and_is_audited(make, team):
    case = make.case(team, approve=True)
    with pytest.raises(DomainError):
        cases.remove_officer(case, team["officer2"], actor=team["head"], reason=" ")
    cases.remove_officer(case, team["officer2"], actor=team["head"], reason="与当事人有利害关系，回避")
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.officer_removed"))
    assert event.case_id == case.id and "回避" in event.after
    assert team["officer2"].id in {o.user_id for o in case.officers}  # the row stays, marked removed


# --- who may do what with a case (services.permissions) ----------------------------------------------

@pytest.fixture
def world(make):
    """A town under a county, a case of the town in the filing stage, and people all around it."""
    county = make.body(kind="county", area="永平县")
    team = make.team(make.body(parent_id=county.id))
    case = make.case(team)
    other = make.team()
    deactivated = make.user(Role.OFFICER, body=team["body"])
    people.deactivate_user(deactivated, actor=team["admin"], reason="调离")
    db.session.commit()
    return case, {
        "officer on the case": team["officer"],
        "officer of the body, not on the case": make.user(Role.OFFICER, body=team["body"]),
        "auxiliary staff of the body": make.user(Role.OFFICER, body=team["body"], auxiliary=True),
        "head": team["head"],
        "reviewer": team["reviewer"],
        "auditor": team["auditor"],
        "admin": team["admin"],
        "county auditor": make.user(Role.AUDITOR, body=county),
        "county head": make.user(Role.HEAD, body=county),
        "officer of another body": other["officer"],
        "head of another body": other["head"],
        "auditor of another body": other["auditor"],
        "deactivated officer": deactivated,
    }


#                                             view   edit   approve personal file   audit  master
MATRIX = {
    "officer on the case":                    (True,  True,  False, True,  True,  False, False),
    "officer of the body, not on the case":   (True,  False, False, False, True,  False, False),
    "auxiliary staff of the body":            (True,  False, False, False, False, False, False),
    "head":                                   (True,  True,  True,  True,  False, False, False),
    "reviewer":                               (True,  False, False, True,  False, False, False),
    "auditor":                                (True,  False, False, False, False, True,  False),
    "admin":                                  (False, False, False, False, False, True,  True),
    "county auditor":                         (True,  False, False, False, False, True,  False),
    "county head":                            (False, False, False, False, False, False, False),
    "officer of another body":                (False, False, False, False, False, False, False),
    "head of another body":                   (False, False, False, False, False, False, False),
    "auditor of another body":                (False, False, False, False, False, True,  False),
    "deactivated officer":                    (False, False, False, False, False, False, False),
}


@pytest.mark.parametrize("who", sorted(MATRIX))
def test_permission_matrix(world, who):
    from enforcement.services import permissions as p

    case, people_of = world
    user = people_of[who]
    actual = (p.can_view_case(user, case), p.can_edit_case(user, case), p.can_approve_filing(user, case),
              p.can_see_personal_data(user, case), p.can_file_case(user, case.body_id), p.can_view_audit(user),
              p.can_manage_master_data(user))
    assert actual == MATRIX[who]


@pytest.mark.parametrize("anonymous", [None, "anonymous"])
def test_nobody_logged_in_may_do_anything(world, anonymous):
    from flask_login import AnonymousUserMixin

    from enforcement.services import permissions as p

    case, _people = world
    user = AnonymousUserMixin() if anonymous else None
    assert p.case_scope(user) == set()
    assert not any((p.can_view_case(user, case), p.can_edit_case(user, case), p.can_approve_filing(user, case),
                    p.can_see_personal_data(user, case), p.can_file_case(user), p.can_view_audit(user),
                    p.can_manage_master_data(user), p.can_view_master_data(user)))
