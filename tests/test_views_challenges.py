"""The screens of reconsiderations (行政复议) and suits (行政诉讼), over HTTP.

The case page's panel lists each challenge with its defence deadline and outcome and offers the
forms to record them; a refused form comes back on the challenges page of the case with every
unmet condition; the outcome carries the version of the challenge; a revoking outcome starts the
withdrawal of the decision's publication; the list shows the open challenges in the user's scope,
the overdue ones first. Pages are read in English. The rules are specified in tests/test_challenges.py.
"""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from enforcement.extensions import db
from enforcement.models import Challenge, Publication, Role
from enforcement.services import challenges, disclosure
from enforcement.services.calendar import add_calendar_days
from enforcement.services.clock import local_today
from tests.conftest import csrf_token
from tests.test_disclosure import decided, published

pytestmark = pytest.mark.usefixtures("without_record_rules")

CSRF_MESSAGE = "The form expired or was not sent by this site"
NEW = "new-challenge-"


# --- helpers --------------------------------------------------------------------------------------------

def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


def count_challenges() -> int:
    return db.session.scalar(select(func.count(Challenge.id)))


def fresh(row_id: int) -> Challenge:
    db.session.expire_all()
    return db.session.get(Challenge, row_id)


def record(client, case, *, kind="reconsideration", forum="永平县人民政府", received_on="2026-09-24",
           reference="永府复〔2026〕3号", with_token=True):
    data = {f"{NEW}kind": kind, f"{NEW}forum": forum, f"{NEW}reference": reference,
            f"{NEW}received_on": received_on}
    if with_token:
        data["csrf_token"] = csrf_token(client, f"/challenges/cases/{case.id}")
    return client.post(f"/challenges/cases/{case.id}/record", data=data)


def post_outcome(client, row: Challenge, *, outcome="upheld", outcome_on="2026-11-18", note="", version=None):
    prefix = f"challenge-{row.id}-"
    data = {"csrf_token": csrf_token(client, f"/challenges/cases/{row.case_id}"),
            f"{prefix}version": str(fresh(row.id).version if version is None else version),
            f"{prefix}outcome": outcome, f"{prefix}outcome_on": outcome_on, f"{prefix}note": note}
    return client.post(f"/challenges/{row.id}/outcome", data=data)


def challenge(case, team, *, kind="reconsideration", received_on=date(2026, 10, 22), forum="永平县人民政府"):
    row = challenges.record_challenge(case, actor=team["officer"], kind=kind, forum=forum, received_on=received_on,
                                      today=max(received_on, date(2026, 10, 23)))
    db.session.commit()
    return row


def set_defence_due(row: Challenge, days_from_today: int) -> None:
    """Move the defence deadline (its computation is specified in tests/test_challenges.py)."""
    row.defence_due_on = local_today() + timedelta(days=days_from_today)
    db.session.commit()


# --- recording ------------------------------------------------------------------------------------------

def test_a_reconsideration_recorded_over_http_is_due_in_10_days_rolled_past_the_national_day(make, team, as_user):
    case, _ = decided(make, team, today=date(2026, 9, 22))
    client = as_user(team["officer"])
    response = record(client, case)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{case.id}#challenges")
    row = db.session.scalar(select(Challenge))
    # 24 September + 10 days = 4 October, inside the National Day holiday (1–7 October 2026): the 8th.
    assert row.received_on == date(2026, 9, 24) and row.defence_due_on == date(2026, 10, 8)
    assert row.kind == "reconsideration" and row.forum == "永平县人民政府" and row.reference == "永府复〔2026〕3号"
    page = text(client.get(f"/cases/{case.id}"))
    assert "Administrative reconsideration recorded. The defence and all the evidence are due by 2026-10-08" in page
    panel = section(page, "challenges")
    assert "Administrative reconsideration" in panel and "永平县人民政府" in panel and "永府复〔2026〕3号" in panel
    assert '<time datetime="2026-09-24">' in panel and '<time datetime="2026-10-08">' in panel
    overdue = (local_today() - date(2026, 10, 8)).days
    assert f'class="badge bad">overdue by {overdue} days' in panel
    assert "pending" in panel and f'id="outcome-form-{row.id}"' in panel


def test_a_suit_is_due_in_15_days_and_the_days_left_are_in_words(make, team, as_user):
    case, _ = decided(make, team)
    client = as_user(team["head"])
    received = local_today() - timedelta(days=1)
    assert record(client, case, kind="suit", forum="永平县人民法院", received_on=received.isoformat(),
                  reference="").status_code == 302
    row = db.session.scalar(select(Challenge))
    assert row.kind == "suit" and row.defence_due_on >= received + timedelta(days=15)
    assert row.defence_due_on == add_calendar_days(received, 15)
    panel = section(text(client.get(f"/cases/{case.id}")), "challenges")
    left = (row.defence_due_on - local_today()).days
    assert "Administrative suit" in panel and f'class="badge ok">{left} days left' in panel


def test_refused_without_forum_and_with_a_future_date_each_condition_shown_nothing_saved(make, team, as_user):
    case, _ = decided(make, team)
    client = as_user(team["officer"])
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    response = record(client, case, forum="  ", received_on=tomorrow)
    assert response.status_code == 422
    refused = text(response).split('id="refused"', 1)[1].split("</div>", 1)[0]
    assert "Nothing was recorded. Unmet conditions:" in refused
    assert "Name the reconsideration body or the court." in refused
    assert "The copy cannot be received in the future." in refused
    assert count_challenges() == 0
    response = record(client, case, kind="", forum="", received_on="")
    refused = text(response).split('id="refused"', 1)[1].split("</div>", 1)[0]
    assert response.status_code == 422 and len(re.findall("<li>", refused)) == 3
    assert "Say whether it is a reconsideration or a suit." in refused
    assert "Give the day the copy was received." in refused
    response = record(client, case, received_on="not a date")
    assert response.status_code == 422 and "Not a valid date value" in text(response)
    assert count_challenges() == 0


def test_a_case_without_a_decision_offers_no_form_and_refuses_a_challenge(make, team, as_user):
    case = make.case(team, approve=True)
    client = as_user(team["officer"])
    panel = section(text(client.get(f"/cases/{case.id}")), "challenges")
    assert 'id="challenge-form"' not in panel and "this case has none yet" in panel
    response = record(client, case)
    assert response.status_code == 422 and "There is no decision in force to challenge." in text(response)
    assert count_challenges() == 0


def test_an_auditor_and_an_officer_not_on_the_case_get_403(make, team, as_user):
    case, _ = decided(make, team)
    row = challenge(case, team)
    stranger = make.user(Role.OFFICER, body=team["body"])
    for user in (team["auditor"], stranger, team["reviewer"]):
        client = as_user(user)
        panel = section(text(client.get(f"/cases/{case.id}")), "challenges")
        assert "永平县人民政府" in panel  # they read the panel …
        assert 'id="challenge-form"' not in panel and "outcome-form" not in panel  # … without its forms
        assert record(client, case).status_code == 403, user.username
        assert post_outcome(client, row, outcome="revoked").status_code == 403, user.username
    assert count_challenges() == 1 and fresh(row.id).outcome is None


def test_a_user_of_another_body_finds_nothing(make, team, as_user):
    case, _ = decided(make, team)
    row = challenge(case, team)
    other = make.team()
    for who in ("officer", "head", "auditor"):
        client = as_user(other[who])
        assert client.get(f"/challenges/cases/{case.id}").status_code == 404, who
        assert record(client, case).status_code == 404, who
        token = csrf_token(client, "/challenges")
        assert client.post(f"/challenges/{row.id}/outcome", data={"csrf_token": token}).status_code == 404, who
    assert count_challenges() == 1 and fresh(row.id).outcome is None


def test_every_screen_needs_a_login_and_every_post_the_csrf_token(client, make, team, as_user):
    case, _ = decided(make, team)
    row = challenge(case, team)
    for path in ("/challenges", f"/challenges/cases/{case.id}"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    officer = as_user(team["officer"])
    response = record(officer, case, with_token=False)
    assert response.status_code == 400 and CSRF_MESSAGE in text(response)
    response = officer.post(f"/challenges/{row.id}/outcome", data={
        f"challenge-{row.id}-version": str(row.version), f"challenge-{row.id}-outcome": "revoked",
        f"challenge-{row.id}-outcome_on": "2026-11-18"})
    assert response.status_code == 400 and CSRF_MESSAGE in text(response)
    assert count_challenges() == 1 and fresh(row.id).outcome is None


# --- the outcome ----------------------------------------------------------------------------------------

def test_a_revoking_outcome_makes_the_publication_due_for_withdrawal(make, team, as_user):
    case, _, pub = published(make, team)
    row = challenge(case, team)
    client = as_user(team["officer"])
    panel = section(text(client.get(f"/cases/{case.id}")), "challenges")
    assert "starts the withdrawal of its publication" in panel
    response = post_outcome(client, row, outcome="revoked", note="永府复决〔2026〕3号")
    assert response.status_code == 302 and response.headers["Location"].endswith("#challenges")
    db.session.expire_all()
    pub = db.session.get(Publication, pub.id)
    assert pub.status == "published" and pub.withdraw_due_on == disclosure.deadline(local_today(), 3)[0]
    assert "永平县人民政府" in pub.withdraw_cause
    row = fresh(row.id)
    assert row.outcome == "revoked" and row.outcome_on == date(2026, 11, 18) and row.outcome_note == "永府复决〔2026〕3号"
    page = text(client.get(f"/cases/{case.id}"))
    assert "Outcome recorded: Decision revoked." in page
    assert f"must now be withdrawn by {pub.withdraw_due_on.isoformat()}" in page
    panel = section(page, "challenges")
    assert "Decision revoked" in panel and f'href="/disclosure/{pub.id}"' in panel
    assert "outcome-form" not in panel and "days left" not in panel and "overdue" not in panel


def test_an_upholding_outcome_leaves_the_publication_online(make, team, as_user):
    case, _, pub = published(make, team)
    row = challenge(case, team, kind="suit", forum="永平县人民法院")
    response = post_outcome(as_user(team["head"]), row, outcome="upheld")
    assert response.status_code == 302
    db.session.expire_all()
    pub = db.session.get(Publication, pub.id)
    assert pub.status == "published" and pub.withdraw_due_on is None
    assert fresh(row.id).outcome == "upheld"


def test_an_outcome_before_the_copy_arrived_or_without_a_choice_is_refused(make, team, as_user):
    case, _ = decided(make, team)
    row = challenge(case, team)
    client = as_user(team["officer"])
    response = post_outcome(client, row, outcome="", outcome_on="2026-10-01")
    assert response.status_code == 422
    refused = text(response).split('id="refused"', 1)[1].split("</div>", 1)[0]
    assert "The outcome was not recorded" in refused and "Choose the outcome." in refused
    assert "between the day the copy was received and today" in refused
    assert fresh(row.id).outcome is None


def test_a_stale_version_is_a_conflict_and_changes_nothing(make, team, as_user):
    case, _, pub = published(make, team)
    row = challenge(case, team)
    client = as_user(team["officer"])
    old = fresh(row.id).version
    challenges.record_outcome(fresh(row.id), actor=team["officer2"], outcome="upheld", outcome_on=date(2026, 11, 10))
    db.session.commit()
    response = post_outcome(client, row, outcome="revoked", version=old)
    assert response.status_code == 409
    assert "Someone else changed this challenge in the meantime" in text(response).split('id="refused"', 1)[1]
    assert fresh(row.id).outcome == "upheld"
    db.session.expire_all()
    assert db.session.get(Publication, pub.id).withdraw_due_on is None


# --- the list -------------------------------------------------------------------------------------------

def test_the_list_shows_the_open_challenges_in_scope_overdue_first(make, team, as_user):
    rows = {}
    for name, days in (("open", 9), ("overdue", -2), ("soon", 2)):
        case, _ = decided(make, team)
        rows[name] = challenge(case, team, forum=f"{name}复议机关")
        set_defence_due(rows[name], days)
    done_case, _ = decided(make, team)
    done = challenge(done_case, team, forum="已审结机关")
    challenges.record_outcome(done, actor=team["officer"], outcome="upheld", outcome_on=date(2026, 11, 10))
    db.session.commit()
    other = make.team()
    other_case, _ = decided(make, other)
    challenge(other_case, other, forum="他镇复议机关")

    for who in ("officer", "head", "auditor"):
        page = text(as_user(team[who]).get("/challenges"))
        listed = section(page, "open-challenges")
        order = [int(i) for i in re.findall(r'data-challenge="(\d+)"', listed)]
        assert order == [rows["overdue"].id, rows["soon"].id, rows["open"].id], who
        assert "已审结机关" not in listed and "他镇复议机关" not in listed, who
        assert re.search(r'id="count-overdue">1<', page) and re.search(r'id="count-due_soon">1<', page)
        assert re.search(r'id="count-open">1<', page)
        assert 'class="badge bad">overdue by 2 days' in listed and 'class="badge warn">2 days left' in listed
        assert 'class="badge ok">9 days left' in listed
        assert f'href="/cases/{rows["overdue"].case_id}#challenges"' in listed
    assert "overdue复议机关" not in text(as_user(other["officer"]).get("/challenges"))


def test_the_list_needs_a_case_scope_and_the_nav_links_it(make, team, as_user):
    assert as_user(team["admin"]).get("/challenges").status_code == 403
    page = text(as_user(team["auditor"]).get("/challenges"))
    assert 'href="/challenges"' in page and "No reconsideration or suit is waiting for its outcome." in page
    assert 'href="/challenges"' not in text(as_user(team["admin"]).get("/home"))


def test_the_panel_offers_the_case_file_export_as_the_evidence_package(app, make, team, as_user):
    case, _ = decided(make, team)
    package = section(text(as_user(team["auditor"]).get(f"/cases/{case.id}")), "challenges") \
        .split('id="evidence-package"', 1)[1]
    if "archive.export" in app.view_functions:
        assert "Export the case file (the evidence package)" in package and "href=" in package
    else:
        assert "is not available yet" in package


def post_defence(client, row: Challenge, *, submitted_on="2026-10-30", version=None):
    prefix = f"defence-{row.id}-"
    data = {"csrf_token": csrf_token(client, f"/challenges/cases/{row.case_id}"),
            f"{prefix}version": str(fresh(row.id).version if version is None else version),
            f"{prefix}submitted_on": submitted_on}
    return client.post(f"/challenges/{row.id}/defence", data=data)


def test_the_defence_handed_in_is_recorded_and_shown_on_time_or_late(make, team, as_user):
    case, _ = decided(make, team)
    row = challenge(case, team)
    client = as_user(team["officer"])
    assert as_user(team["auditor"]).post(f"/challenges/{row.id}/defence", data={}).status_code in (400, 403)
    refused = post_defence(client, row, submitted_on="2026-10-01")
    assert refused.status_code == 422
    assert "between the day the copy was received and today" in text(refused)
    assert post_defence(client, row, version=fresh(row.id).version + 7).status_code == 409
    done = post_defence(client, row, submitted_on="2026-10-30")
    assert done.status_code == 302 and fresh(row.id).defence_submitted_on == date(2026, 10, 30)
    panel = section(text(client.get(f"/cases/{case.id}")), "challenges")
    assert "handed in on 2026-10-30" in panel and "on time" in panel
    assert f'id="defence-form-{row.id}"' not in panel
