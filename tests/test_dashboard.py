"""The auditors' dashboard (services.dashboard, views.dashboard): the scorecard of one case, the
totals by body, matter, officer and month (in scope only), the sorted and filtered table, the
exports, who may look, and the integrity checks run from the screen with their results kept."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select, text

from enforcement.extensions import db
from enforcement.models import AuditEvent, CheckRun, Stage
from enforcement.services import checks, dashboard, disclosure, workflow
from tests.test_disclosure import DAY, FILED, decided, only_publication, published

pytestmark = pytest.mark.usefixtures("without_record_rules")


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


def states(case, today):
    return {item.key: item.state for item in dashboard.scorecard(case, today)}


def open_case(make, team, filed_on):
    case = make.case(team, approve=True, filed_on=filed_on)
    return case


# --- the scorecard --------------------------------------------------------------------------------------

def test_a_case_published_on_time_scores_ok(make, team):
    case, _decision, pub = published(make, team)
    assert pub.published_on <= pub.due_on
    got = states(case, date(2026, 10, 25))
    assert got["disclosure"] == "ok" and got["publication_deadline"] == "ok"
    assert got["decision_deadline"] == "ok"
    assert got["review"] == "not_applicable"  # a fine of 5000 is not major
    assert got["service"] == "pending" and got["withdrawal"] == "not_applicable"
    service = next(i for i in dashboard.scorecard(case, DAY) if i.key == "service")
    assert service.detail == "Not served yet; due by 2026-10-29."  # 7 working days after 20 October


def test_the_service_item_says_served_on_time_late_or_overdue(make, team):
    case, _decision = decided(make, team)
    assert states(case, date(2026, 10, 30))["service"] == "late"  # not served, past the 7 working days
    make.serve(case, served_on=date(2026, 10, 30), today=date(2026, 10, 30))
    item = next(i for i in dashboard.scorecard(case, date(2026, 11, 2)) if i.key == "service")
    assert item.state == "late" and "2026-10-30" in item.detail and "2026-10-29" in item.detail
    other, _decision = decided(make, team)
    make.serve(other, served_on=date(2026, 10, 29), today=date(2026, 10, 29))
    assert states(other, date(2026, 11, 2))["service"] == "ok"


def test_a_late_publication_scores_late(make, team):
    case, _decision = decided(make, team)
    pub = only_publication(case)
    late_day = pub.due_on + timedelta(days=5)
    assert states(case, late_day)["disclosure"] == "late"  # not published and past due
    disclosure.publish(pub, actor=team["officer"], today=late_day)
    db.session.commit()
    item = next(i for i in dashboard.scorecard(case, late_day) if i.key == "disclosure")
    assert item.state == "late" and str(pub.due_on) in item.detail


def test_an_undecided_case_past_90_days_is_late_and_before_is_pending(make, team):
    case = open_case(make, team, FILED)
    assert states(case, case.decision_due_on)["decision_deadline"] == "pending"
    assert states(case, case.decision_due_on + timedelta(days=1))["decision_deadline"] == "late"
    assert states(case, DAY)["disclosure"] == "pending"


def test_a_major_decision_reviewed_on_the_dossier_decided_on_scores_ok(make, team):
    case = make.case(team, approve=True, filed_on=FILED)
    make.record(case, "site_photo")
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=DAY)
    db.session.commit()
    decision = make.decide(case, team, today=DAY)  # a demolition: major, reviewed
    assert decision.major and decision.review_request.digest == decision.digest
    assert states(case, DAY)["review"] == "ok"


# --- totals and the table ---------------------------------------------------------------------------

@pytest.fixture
def spread(make, team):
    """Three cases of the team's body (one decided on time and published, two open, one of them
    overdue) and one case of another body."""
    ok_case, _d, _pub = published(make, team)
    overdue = open_case(make, team, date(2026, 6, 1))  # due 30 August: overdue on DAY
    fresh = open_case(make, team, date(2026, 10, 1))
    other = make.team()
    foreign = open_case(make, other, date(2026, 6, 1))
    return {"ok": ok_case, "overdue": overdue, "fresh": fresh, "foreign": foreign, "other": other}


def test_totals_by_month_count_right_and_stay_in_scope(team, spread):
    rows = {r["key"]: r for r in dashboard.totals(team["auditor"], group_by="month", today=DAY)}
    assert set(rows) == {"2026-06", "2026-09", "2026-10"}
    assert rows["2026-06"]["cases"] == 1 and rows["2026-06"]["overdue"] == 1  # not the other body's
    assert rows["2026-09"]["decided"] == 1 and rows["2026-09"]["overdue"] == 0
    assert rows["2026-10"]["cases"] == 1 and rows["2026-10"]["decided"] == 0
    assert sum(r["pub_late"] + r["pub_overdue"] + r["wd_late"] + r["wd_overdue"] for r in rows.values()) == 0


@pytest.mark.parametrize("group_by", ["body", "matter", "officer", "month"])
def test_totals_by_each_grouping_add_up_to_the_cases_in_scope(team, spread, group_by):
    rows = dashboard.totals(team["head"], group_by=group_by, today=DAY)
    assert sum(r["cases"] for r in rows) == 3
    assert sum(r["overdue"] for r in rows) == 1 and sum(r["decided"] for r in rows) == 1
    if group_by == "body":
        assert [r["key"] for r in rows] == [team["body"].id]
    if group_by == "officer":
        lead = next(o.user_id for o in spread["ok"].officers if o.lead)
        assert lead in {r["key"] for r in rows}


def test_a_late_publication_is_counted(make, team):
    case, _decision = decided(make, team)
    pub = only_publication(case)
    rows = dashboard.totals(team["auditor"], group_by="body", today=pub.due_on + timedelta(days=1))
    assert rows[0]["pub_overdue"] == 1
    disclosure.publish(pub, actor=team["officer"], today=pub.due_on + timedelta(days=2))
    db.session.commit()
    rows = dashboard.totals(team["auditor"], group_by="body", today=pub.due_on + timedelta(days=3))
    assert rows[0]["pub_late"] == 1 and rows[0]["pub_overdue"] == 0


def test_the_table_sorts_filters_and_stays_in_scope(team, spread):
    user = team["auditor"]
    page = dashboard.case_rows(user, sort="filed_on", today=DAY)
    assert page.total == 3 and spread["foreign"].number not in {r["number"] for r in page.rows}
    assert [r["filed_on"] for r in page.rows] == sorted(r["filed_on"] for r in page.rows)
    page = dashboard.case_rows(user, sort="filed_on", descending=True, today=DAY)
    assert page.rows[0]["number"] == spread["fresh"].number
    problems = dashboard.case_rows(user, dashboard.Filters(only_problems=True), today=DAY)
    assert [r["number"] for r in problems.rows] == [spread["overdue"].number]
    months = dashboard.case_rows(user, dashboard.Filters(month_from="2026-09", month_to="2026-10"), today=DAY)
    assert {r["number"] for r in months.rows} == {spread["ok"].number, spread["fresh"].number}
    staged = dashboard.case_rows(user, dashboard.Filters(stage=Stage.DECISION.value), today=DAY)
    assert [r["number"] for r in staged.rows] == [spread["ok"].number]
    paged = dashboard.case_rows(user, page=2, per_page=2, today=DAY)
    assert paged.pages == 2 and len(paged.rows) == 1
    assert dashboard.case_rows(team["officer"], today=DAY).total == 0


# --- the screens ------------------------------------------------------------------------------------

def test_officers_get_403_and_auditors_heads_admins_see_the_dashboard(team, spread, as_user):
    assert as_user(team["officer"]).get("/dashboard/").status_code == 403
    assert as_user(team["officer"]).get("/dashboard/export.csv").status_code == 403
    for who in ("auditor", "head", "admin"):
        page = as_user(team[who]).get("/dashboard/?group=matter&sort=number&dir=desc&problems=1")
        assert page.status_code == 200, who
        assert spread["overdue"].number in page.get_data(as_text=True)
        assert spread["foreign"].number not in page.get_data(as_text=True)
        assert '<option value="investigation">Investigation</option>' in page.get_data(as_text=True)  # in words
    card = as_user(team["auditor"]).get(f"/dashboard/cases/{spread['ok'].id}")
    assert card.status_code == 200 and "Service within 7 working days" in card.get_data(as_text=True)
    assert as_user(team["auditor"]).get(f"/dashboard/cases/{spread['foreign'].id}").status_code == 404
    show = as_user(team["head"]).get(f"/cases/{spread['ok'].id}")
    assert f"/dashboard/cases/{spread['ok'].id}" in show.get_data(as_text=True)


def test_the_exports_hold_the_rows_of_the_selection(team, spread, as_user):
    client = as_user(team["auditor"])
    response = client.get("/dashboard/export.csv?sort=number")
    assert response.status_code == 200 and response.data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Case number" and len(rows) == 4
    numbers = [r[0] for r in rows[1:]]
    assert numbers == sorted(numbers) and spread["foreign"].number not in numbers
    assert any("未取得乡村建设规划许可证" in r[1] for r in rows[1:])  # Chinese survives

    from openpyxl import load_workbook

    response = client.get("/dashboard/export.xlsx?problems=1")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.values)
    assert values[0][0] == "Case number" and [v[0] for v in values[1:]] == [spread["overdue"].number]


# --- the checks -------------------------------------------------------------------------------------------

def test_the_checks_run_from_the_screen_are_kept(team, spread, as_user):
    client = as_user(team["auditor"])
    page = client.get("/dashboard/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert client.post("/dashboard/checks/audit").status_code == 400  # no CSRF token
    assert client.post("/dashboard/checks/audit", data={"csrf_token": token}).status_code == 302
    assert client.post("/dashboard/checks/storage", data={"csrf_token": token}).status_code == 302
    runs = list(db.session.scalars(select(CheckRun).order_by(CheckRun.id)))
    assert [(r.kind, r.ok) for r in runs] == [("audit_chain", True), ("storage", True)]
    assert runs[0].summary_data["events"] > 0 and runs[1].summary_data["checked"] > 0
    assert runs[0].run_by_id == team["auditor"].id and runs[0].finished_at is not None
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "check.run")))
    assert len(actions) == 2
    assert "check-ok" in client.get("/dashboard/").get_data(as_text=True)
    head = as_user(team["head"])
    head_token = re.search(r'name="csrf_token" value="([^"]+)"', head.get("/dashboard/").get_data(as_text=True)).group(1)
    assert head.post("/dashboard/checks/audit", data={"csrf_token": head_token}).status_code == 403
    assert db.session.scalar(select(db.func.count()).select_from(CheckRun)) == 2


def test_a_tampered_audit_event_fails_the_check_and_the_failure_is_kept(team, spread):
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events"))
    else:
        db.session.execute(text("DROP TRIGGER audit_events_no_update"))
    db.session.commit()
    db.session.execute(text("UPDATE audit_events SET object_label = 'changed' WHERE id = 2"))
    db.session.commit()
    run = checks.run_audit_check(team["auditor"])
    db.session.commit()
    kept = db.session.get(CheckRun, run.id)
    assert kept.ok is False and kept.summary_data["first_broken_id"] == 2 and kept.summary_data["problems"]
    with pytest.raises(Exception):
        checks.run_audit_check(team["officer"])


def test_a_case_held_back_with_a_reason_scores_ok_with_the_reason(make, team):
    from enforcement.services.cases import PartyData

    minor = PartyData(kind="person", name="李小明", id_number="110101201001011234", phone="", address="东村",
                      is_minor=True)
    case, _decision = decided(make, team, party=minor)
    item = next(i for i in dashboard.scorecard(case, DAY + timedelta(days=60)) if i.key == "disclosure")
    assert item.state == "ok" and "minor" in item.detail
