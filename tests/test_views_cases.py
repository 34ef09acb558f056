"""The case screens: list, filing, the case page and the actions on a case, for every role.

Pages are read in English (Accept-Language: en) so the assertions hold once the Chinese
translations land.
"""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from flask import g
from sqlalchemy import event, select

from enforcement.extensions import db
from enforcement.models import AuditEvent, Case, CertificateStatus, Role, Stage, User
from enforcement.services import cases as case_service
from enforcement.services import people
from enforcement.services.cases import CaseFilter, PartyData
from tests.conftest import csrf_token
from tests.factories import PASSWORD

TODAY = date.today()


# --- helpers --------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def fresh_globals_per_request(app):
    """Start every request with an empty `g`, as in production.

    The `app` fixture keeps one app context open for the whole test, and Flask reuses it for
    each request, so `g` would carry Flask-Login's current user, Flask-WTF's CSRF token and
    Flask-Babel's locale from one request (and one client) to the next.
    """
    def clear_g():
        g._get_current_object().__dict__.clear()
    app.before_request_funcs.setdefault(None, []).insert(0, clear_g)


@pytest.fixture
def as_user(app):
    """as_user(user) -> a test client logged in as that user (through the real login form)."""
    def login(user):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        token = token_for(client, "/login")
        response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302, response.status_code
        return client
    return login


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def token_for(client, path: str = "/cases/") -> str:
    return csrf_token(client, path)


def refreshed(case: Case) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case.id)


def filing_data(team, matter, **overrides) -> dict:
    data = {
        "source": "grid_patrol", "source_detail": "网格员王某报告", "matter": str(matter.id), "route": "planning",
        "party_kind": "person", "party_name": "李四", "party_id_number": "110101199001011234",
        "party_phone": "13800138000", "party_address": "永平镇东村2号", "village": "东村",
        "place_detail": "村委会北侧", "summary": "未取得乡村建设规划许可证建设住房",
        "act_began_on": (TODAY - timedelta(days=30)).isoformat(), "act_ended_on": "",
        "discovered_on": (TODAY - timedelta(days=2)).isoformat(), "filed_on": TODAY.isoformat(),
        "officers": [str(team["officer"].id), str(team["officer2"].id)], "lead_officer": str(team["officer"].id),
    }
    data.update(overrides)
    return data


def officer_boxes(page: str) -> dict[str, tuple[str, bool]]:
    """The officer checkboxes of the filing form: value -> (label, ticked)."""
    checklist = re.search(r'<ul class="checklist" id="officers">(.*?)</ul>', page, re.S)
    assert checklist, "the officers are a list of checkboxes with the id officers"
    boxes = {}
    for attrs, label in re.findall(r'<label class="choice"><input ([^>]*)>\s*([^<]*)</label>', checklist.group(1)):
        assert 'type="checkbox"' in attrs and 'name="officers"' in attrs, attrs
        value = re.search(r'value="(\d+)"', attrs).group(1)
        boxes[value] = (label.strip(), re.search(r"\bchecked\b", attrs) is not None)
    return boxes


def post_filing(client, data: dict):
    data = {**data, "csrf_token": token_for(client, "/cases/new")}
    return client.post("/cases/new", data=data)


def action(client, case: Case, endpoint: str, **data):
    """POST an action on a case with the CSRF token and the version shown on its page."""
    page = client.get(f"/cases/{case.id}")
    version = re.search(r'name="version" value="(\d+)"', page.get_data(as_text=True))
    payload = {"csrf_token": token_for(client, f"/cases/{case.id}"),
               "version": version.group(1) if version else str(case.version), **data}
    return client.post(f"/cases/{case.id}/{endpoint}", data=payload)


def unmet_under(page: str, target: str) -> str:
    match = re.search(rf'<ul class="unmet" id="unmet-{target}">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


# --- the list: who sees what ------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["officer", "head", "reviewer", "auditor"])
def test_case_list_shows_the_cases_of_the_users_body_for_each_case_role(make, team, as_user, role):
    own = make.case(team)
    other_team = make.team()
    other = make.case(other_team, party=PartyData(kind="person", name="王五"))
    page = text(as_user(team[role]).get("/cases/"))
    assert own.number in page
    assert other.number not in page and "王五" not in page


def test_county_auditor_sees_the_cases_of_its_towns(make, as_user):
    county = make.body(kind="county")
    town = make.body(parent_id=county.id)
    case = make.case(make.team(town))
    auditor = make.user(Role.AUDITOR, body=county)
    assert case.number in text(as_user(auditor).get("/cases/"))


def test_case_of_another_body_is_not_found_and_leaks_nothing(make, team, as_user):
    other = make.case(make.team(), party=PartyData(kind="person", name="王五", id_number="110101198001011111"))
    response = as_user(team["officer"]).get(f"/cases/{other.id}")
    assert response.status_code == 404
    page = text(response)
    for secret in (other.number, "王五", "110101198001011111", other.village + other.place_detail):
        assert secret not in page


def test_actions_on_a_case_of_another_body_answer_404(make, team, as_user):
    other_team = make.team()
    other = make.case(other_team)
    client = as_user(team["head"])
    token = token_for(client)
    for endpoint, data in (("approve", {}), ("advance", {"target": "investigation"}),
                           ("officers", {"user_id": other_team["officer"].id}),
                           ("officers/remove", {"user_id": other_team["officer"].id, "reason": "x"}),
                           ("complex", {"reason": "x"})):
        response = client.post(f"/cases/{other.id}/{endpoint}",
                               data={"csrf_token": token, "version": other.version, **data})
        assert response.status_code == 404, endpoint
        assert other.number not in text(response)
    assert refreshed(other).stage == Stage.FILING.value


def test_admin_only_user_cannot_reach_cases(team, make, as_user):
    case = make.case(team)
    client = as_user(team["admin"])
    assert client.get("/cases/").status_code == 403
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert client.get("/cases/new").status_code == 403


def test_case_pages_need_a_login(client, team, make):
    case = make.case(team)
    for path in ("/cases/", "/cases/new", f"/cases/{case.id}"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_auditor_reads_the_case_page_without_any_form(team, make, as_user):
    case = make.case(team)
    page = text(as_user(team["auditor"]).get(f"/cases/{case.id}"))
    assert case.number in page and "Timeline" in page
    assert f'action="/cases/{case.id}/' not in page
    assert "<button" not in page.split('<main class="page">', 1)[1]


def test_auditor_cannot_change_a_case(team, make, as_user):
    case = make.case(team)
    client = as_user(team["auditor"])
    token = token_for(client)
    for endpoint, data in (("approve", {}), ("advance", {"target": "investigation"}),
                           ("officers", {"user_id": team["officer"].id}),
                           ("officers/remove", {"user_id": team["officer"].id, "reason": "x"}),
                           ("complex", {"reason": "x"})):
        response = client.post(f"/cases/{case.id}/{endpoint}",
                               data={"csrf_token": token, "version": case.version, **data})
        assert response.status_code == 403, endpoint
    assert refreshed(case).stage == Stage.FILING.value and refreshed(case).complex_reason is None


# --- the list: filters and pages -----------------------------------------------------------------------

@pytest.fixture
def spread(make, team):
    """Cases differing in stage, matter, officer and deadline."""
    officer3 = make.user(Role.OFFICER, body=team["body"], name="赵六")
    matter = make.matter(team["body"])
    return {
        "filing": make.case(team, matter=matter),
        "investigating": make.case(team, approve=True),
        "with_officer3": make.case(team, officer_ids=[team["officer"].id, officer3.id],
                                   party=PartyData(kind="organisation", name="永平建材有限公司")),
        "overdue": make.case(team, filed_on=TODAY - timedelta(days=100)),
        "matter": matter, "officer3": officer3,
    }


def listed(client, **params) -> set[str]:
    response = client.get("/cases/", query_string=params)
    assert response.status_code == 200
    return set(re.findall(r'<a href="/cases/(\d+)">', response.get_data(as_text=True)))


def ids(*cases) -> set[str]:
    return {str(c.id) for c in cases}


def test_case_list_without_filters_lists_every_case_newest_first(spread, team, as_user):
    response = as_user(team["officer"]).get("/cases/")
    found = re.findall(r'<a href="/cases/(\d+)">', response.get_data(as_text=True))
    assert found == sorted(found, key=int, reverse=True)
    assert set(found) == ids(spread["filing"], spread["investigating"], spread["with_officer3"], spread["overdue"])


def test_case_list_filters_by_stage(spread, team, as_user):
    assert listed(as_user(team["officer"]), stage="investigation") == ids(spread["investigating"])


def test_case_list_filters_by_matter(spread, team, as_user):
    assert listed(as_user(team["officer"]), matter=spread["matter"].id) == ids(spread["filing"])


def test_case_list_filters_by_officer(spread, team, as_user):
    assert listed(as_user(team["head"]), officer=spread["officer3"].id) == ids(spread["with_officer3"])


def test_case_list_filters_overdue_and_highlights_it(spread, team, as_user):
    client = as_user(team["officer"])
    assert listed(client, overdue="y") == ids(spread["overdue"])
    page = client.get("/cases/").get_data(as_text=True)
    row = re.search(rf'<a href="/cases/{spread["overdue"].id}">.*?</tr>', page, re.S).group(0)
    assert 'class="badge bad"' in row
    fresh = re.search(rf'<a href="/cases/{spread["filing"].id}">.*?</tr>', page, re.S).group(0)
    assert 'class="badge bad"' not in fresh


def test_case_list_searches_number_party_and_village(spread, team, as_user):
    client = as_user(team["officer"])
    assert listed(client, q="建材") == ids(spread["with_officer3"])
    assert listed(client, q=spread["investigating"].number) == ids(spread["investigating"])
    assert listed(client, q="东村") == ids(spread["filing"], spread["investigating"], spread["with_officer3"],
                                          spread["overdue"])


def test_case_list_ignores_an_unknown_filter_value_and_says_so(spread, team, as_user):
    response = as_user(team["officer"]).get("/cases/?stage=nonsense")
    assert response.status_code == 200
    assert 'class="error"' in response.get_data(as_text=True)
    assert len(listed(as_user(team["officer"]), stage="nonsense")) == 4


def test_case_list_pages_with_previous_and_next(app, make, team, as_user):
    app.config["CASES_PER_PAGE"] = 2
    matter = make.matter(team["body"])
    made = [make.case(team, matter=matter) for _ in range(5)]
    client = as_user(team["officer"])
    first = client.get("/cases/").get_data(as_text=True)
    assert listed(client) == ids(made[4], made[3])
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert listed(client, page=2) == ids(made[2], made[1])
    last = client.get("/cases/?page=3").get_data(as_text=True)
    assert listed(client, page=3) == ids(made[0])
    assert 'rel="prev"' in last and 'rel="next"' not in last
    # the filters survive paging
    filtered = client.get(f"/cases/?matter={matter.id}").get_data(as_text=True)
    assert f"matter={matter.id}" in html.unescape(re.search(r'href="([^"]+)" rel="next"', filtered).group(1))


def test_case_list_rows_load_without_a_query_per_row(make):
    """No N+1 at 100,000 cases: a page's matters, officers and lead officers come in a fixed number of queries."""
    small, large = make.team(), make.team()
    make.case(small)  # each case of the factory has its own matter
    for _ in range(7):
        make.case(large)
    officer_ids = small["officer"].id, large["officer"].id

    def queries_for_one_page(officer_id: int) -> int:
        db.session.expunge_all()  # nothing cached: every object a row shows must be loaded by the list
        user = db.session.get(User, officer_id)
        assert user.roles
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows, _more = case_service.list_cases(user, CaseFilter(), per_page=50)
            for row in rows:  # everything the list shows of a row
                assert row.matter.name and row.number
                assert case_service.lead_officer(row).name
                case_service.is_overdue(row)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    # the cases; their matters (with each matter's discretion bands, loaded with it); officers and users
    assert queries_for_one_page(officer_ids[0]) == queries_for_one_page(officer_ids[1]) <= 3


# --- filing ----------------------------------------------------------------------------------------------

def test_filing_form_lists_the_bodys_active_matters_and_officers_only(make, team, as_user):
    mine = make.matter(team["body"])
    retired = make.matter(team["body"], active=False)
    foreign = make.matter(make.body())
    gone = make.user(Role.OFFICER, body=team["body"], name="离职人员")
    people.deactivate_user(gone, actor=None, reason="调离")
    db.session.commit()
    page = text(as_user(team["officer"]).get("/cases/new"))
    options = set(re.findall(r"<option[^>]*>([^<]*)</option>", page))
    assert f"{mine.code} {mine.name}" in options
    assert f"{retired.code} {retired.name}" not in options and f"{foreign.code} {foreign.name}" not in options
    assert team["officer2"].name in options  # the lead officer is still a select
    assert "离职人员" not in options and team["head"].name not in options
    # The officers are checkboxes (no Ctrl-click on a phone), the filing officer ticked by default.
    boxes = officer_boxes(page)
    labels = {label for label, _ in boxes.values()}
    assert team["officer2"].name in labels and team["officer"].name in labels
    assert "离职人员" not in labels and team["head"].name not in labels
    assert boxes[str(team["officer"].id)][1] and not boxes[str(team["officer2"].id)][1]
    assert "<select multiple" not in page and "Hold Ctrl" not in page
    assert not re.search(r'<input[^>]*name="officers"[^>]*required', page)  # one box needed, not every box
    assert "城乡规划法 art. 65" in page and "土地管理法 art. 78" in page
    assert f'value="{TODAY.isoformat()}"' in page  # filed on: today by default


def test_filing_a_case_redirects_to_it_with_its_number(make, team, as_user):
    matter = make.matter(team["body"])
    client = as_user(team["officer"])
    response = post_filing(client, filing_data(team, matter))
    assert response.status_code == 302
    case = db.session.scalar(select(Case).where(Case.party_name == "李四"))
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    assert case.stage == Stage.FILING.value and case.route == "planning"
    assert {o.user_id for o in case.active_officers} == {team["officer"].id, team["officer2"].id}
    page = text(client.get(response.headers["Location"]))
    assert f"Case {case.number} was filed" in page
    assert case.number.startswith(team["body"].short_name)


@pytest.mark.parametrize("refusal", ["one_certified_officer", "expired_certificate", "limitation_passed",
                                     "land_route_without_delegation"])
def test_filing_refusal_lists_the_unmet_condition_on_the_form(make, team, as_user, refusal):
    matter = make.matter(team["body"])
    data = filing_data(team, matter)
    if refusal == "one_certified_officer":
        uncertified = make.user(Role.OFFICER, body=team["body"], certificate=False, name="无证人员")
        data["officers"] = [str(team["officer"].id), str(uncertified.id)]
        expected = ["无证人员 has no enforcement certificate", "At least two officers with valid enforcement "
                                                               "certificates", "1 qualified"]
    elif refusal == "expired_certificate":
        expired = make.user(Role.OFFICER, body=team["body"], name="过期人员",
                            certificate={"valid_until": date(2025, 6, 30)})
        data["officers"] = [str(team["officer"].id), str(expired.id)]
        expected = ["过期人员's certificate", "expired on 2025-06-30"]
    elif refusal == "limitation_passed":
        data.update(act_began_on=(TODAY - timedelta(days=1200)).isoformat(),
                    act_ended_on=(TODAY - timedelta(days=1100)).isoformat())
        expected = ["The limitation period has run", "行政处罚法 art. 36"]
    else:
        land = make.matter(team["body"], route="land", name="农村村民未经批准占用土地建住宅",
                           legal_basis="《中华人民共和国土地管理法》第七十八条")
        data.update(matter=str(land.id), route="land")
        expected = ["On the land route a town acts only under a delegated power"]
    client = as_user(team["officer"])
    response = post_filing(client, data)
    assert response.status_code == 422
    page = text(response)
    unmet = re.search(r'<div class="flash flash-error" role="alert" id="unmet">(.*?)</div>', page, re.S)
    assert unmet, "the unmet conditions are listed at the top of the form"
    for words in expected:
        assert words in unmet.group(1)
    assert 'value="李四"' in page  # what was typed is kept
    ticked = {value for value, (_, checked) in officer_boxes(page).items() if checked}
    assert ticked == set(data["officers"])  # and so are the officers ticked, no more, no fewer
    assert db.session.scalar(select(Case.id)) is None


def test_filing_field_errors_appear_beside_the_fields(make, team, as_user):
    matter = make.matter(team["body"])
    client = as_user(team["officer"])
    response = post_filing(client, filing_data(team, matter, party_name="", summary="", officers=[],
                                               party_id_number="12345"))
    assert response.status_code == 422
    page = text(response)
    for field_id, message in (("party_name", "The party's name is required."),
                              ("summary", "Describe the facts in the summary."),
                              ("officers", "Choose the officers who handle the case."),
                              ("party_id_number", "An ID number (身份证号码) has 18 characters")):
        # A field's label, or a group's heading (the officer checkboxes), then the error beside it.
        block = re.search(rf'<div class="field\s+has-error"[^>]*>\s*'
                          rf'(?:<label for="{field_id}">|<span class="label" id="{field_id}-label">).*?</div>',
                          page, re.S)
        assert block and message in block.group(0), field_id
    # No officer was ticked, so none is ticked again (not even the filing officer, the default of a new form).
    assert not any(checked for _, checked in officer_boxes(page).values())
    assert db.session.scalar(select(Case.id)) is None


def test_filing_refuses_a_matter_of_another_body(make, team, as_user):
    foreign = make.matter(make.body())
    response = post_filing(as_user(team["officer"]), filing_data(team, foreign))
    assert response.status_code == 422
    assert db.session.scalar(select(Case.id)) is None


@pytest.mark.parametrize("role", ["head", "reviewer", "auditor"])
def test_only_officers_may_file(team, as_user, make, role):
    matter = make.matter(team["body"])
    client = as_user(team[role])
    assert client.get("/cases/new").status_code == 403
    response = client.post("/cases/new", data={**filing_data(team, matter), "csrf_token": token_for(client)})
    assert response.status_code == 403
    assert db.session.scalar(select(Case.id)) is None


# --- the case page ---------------------------------------------------------------------------------------

def test_case_page_shows_facts_matter_officers_and_deadline(make, team, as_user):
    case = make.case(team)
    page = text(as_user(team["officer"]).get(f"/cases/{case.id}"))
    assert case.summary in page and case.matter.legal_basis in page
    assert "planning (城乡规划法 art. 65)" in page
    for user in (team["officer"], team["officer2"]):
        assert user.name in page and user.certificates[0].number in page
    assert case.decision_due_on.isoformat() in page
    assert "days left" in page
    assert "a demolition order is treated as major" in page  # the major-decision reasons


def test_case_page_counts_overdue_days(make, team, as_user):
    case = make.case(team, filed_on=TODAY - timedelta(days=100))
    page = text(as_user(team["officer"]).get(f"/cases/{case.id}"))
    late = (TODAY - case.decision_due_on).days
    assert f"overdue by {late} day" in page


def test_case_page_shows_every_stage_with_the_current_one_marked(make, team, as_user):
    case = make.case(team, approve=True)
    page = text(as_user(team["officer"]).get(f"/cases/{case.id}"))
    for label in ("Filing", "Investigation", "Notice", "Legal review", "Decision", "Service", "Execution",
                  "Closed", "Archived"):
        assert label in page
    current = re.findall(r'aria-current="step">([^<]+)<', page)
    assert current == ["2. Investigation"]


def test_personal_data_is_masked_for_those_who_may_not_see_it(make, team, as_user):
    case = make.case(team)
    outsider = make.user(Role.OFFICER, body=team["body"])  # same body, not on the case
    for user in (team["auditor"], outsider):
        page = text(as_user(user).get(f"/cases/{case.id}"))
        assert "1101**********1234" in page and "138****8000" in page
        assert "110101199001011234" not in page and "13800138000" not in page
        assert "永平镇东村1号" not in page


@pytest.mark.parametrize("role", ["officer", "head", "reviewer"])
def test_personal_data_is_shown_to_those_who_need_it(make, team, as_user, role):
    case = make.case(team)
    page = text(as_user(team[role]).get(f"/cases/{case.id}"))
    assert "110101199001011234" in page and "13800138000" in page and "永平镇东村1号" in page


def test_timeline_lists_the_events_newest_first_in_words(make, team, as_user):
    case = make.case(team, approve=True)
    page = text(as_user(team["auditor"]).get(f"/cases/{case.id}"))
    timeline = page.split('id="timeline-title"', 1)[1]
    labels = re.findall(r"<strong>([^<]+)</strong>", timeline)
    assert labels == ["Stage changed", "Filing approved (立案审批)", "Case filed (立案)"]
    assert "Filing → Investigation" in timeline
    assert team["head"].name in timeline and team["officer"].name in timeline
    assert "ID number" in timeline  # personal data is named as recorded ...
    assert "110101199001011234" not in timeline and "13800138000" not in timeline  # ... never shown
    assert "{" not in timeline  # no raw JSON
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)).all()
    assert len(events) == 3


def test_timeline_time_is_shown_in_shanghai_time(make, team, as_user):
    case = make.case(team)
    event_at = db.session.scalar(select(AuditEvent.at).where(AuditEvent.case_id == case.id))
    local = (event_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert local in text(as_user(team["officer"]).get(f"/cases/{case.id}"))


# --- filing approval ----------------------------------------------------------------------------------------

def test_head_approves_the_filing_and_the_case_moves_to_investigation(make, team, as_user):
    case = make.case(team)
    client = as_user(team["head"])
    page = text(client.get(f"/cases/{case.id}"))
    assert "Approve the filing" in page and "Every condition of filing is met." in page
    response = action(client, case, "approve")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.id}")
    assert refreshed(case).stage == Stage.INVESTIGATION.value
    assert f"Filing of {case.number} approved" in text(client.get(f"/cases/{case.id}"))


def test_officer_may_not_approve_a_filing(make, team, as_user):
    case = make.case(team)
    client = as_user(team["officer"])
    page = text(client.get(f"/cases/{case.id}"))
    assert "Approve the filing" not in page
    assert f"Waiting for the head of {team['body'].name}" in page
    assert action(client, case, "approve").status_code == 403
    assert refreshed(case).stage == Stage.FILING.value


def test_approval_shows_why_it_would_be_refused_and_refuses(make, team, as_user):
    case = make.case(team)
    cert = team["officer2"].certificates[0]
    people.set_certificate_status(cert, actor=None, status=CertificateStatus.REVOKED.value, reason="调离")
    db.session.commit()
    client = as_user(team["head"])
    page = text(client.get(f"/cases/{case.id}"))
    unmet = unmet_under(page, "approval")
    assert "At least two officers" in unmet and "has not approved" not in unmet
    assert re.search(r'<button type="submit" class="button primary" disabled[^>]*>Approve the filing', page)
    response = action(client, case, "approve")
    assert response.status_code == 302
    after = text(client.get(f"/cases/{case.id}"))
    assert "The step was refused. Unmet conditions:" in after
    assert refreshed(case).stage == Stage.FILING.value and refreshed(case).filing_approved_by_id is None


# --- moving on ------------------------------------------------------------------------------------------------

def test_advance_moves_the_case_when_nothing_is_unmet(make, team, as_user):
    case = make.case(team, approve=True)
    make.required_records(case)
    client = as_user(team["officer"])
    page = text(client.get(f"/cases/{case.id}"))
    assert "Move to Notice" in page and "No unmet conditions." in page
    response = action(client, case, "advance", target="notice")
    assert response.status_code == 302
    assert refreshed(case).stage == Stage.NOTICE.value
    assert f"{case.number} moved to Notice." in text(client.get(f"/cases/{case.id}"))


def test_advance_refused_shows_the_unmet_conditions_before_and_after_clicking(make, team, as_user):
    case = make.case(team, approve=True)
    case_service.remove_officer(case, team["officer2"], actor=team["head"], reason="回避")
    db.session.commit()
    client = as_user(team["officer"])
    page = text(client.get(f"/cases/{case.id}"))
    assert "At least two officers" in unmet_under(page, "notice")
    assert re.search(r'<button type="submit" class="button primary" disabled[^>]*>\s*Move to Notice', page)
    response = action(client, case, "advance", target="notice")
    assert response.status_code == 302
    after = text(client.get(response.headers["Location"]))
    flashes = after.split('<div class="flashes"', 1)[1].split("</div>\n", 2)[0]
    assert "The step was refused. Unmet conditions:" in flashes and "At least two officers" in flashes
    assert refreshed(case).stage == Stage.INVESTIGATION.value


def test_major_case_cannot_skip_legal_review(without_record_rules, make, team, as_user):
    """NOTICE→REVIEW and →DECISION are no plain moves: the page links to their forms with what is unmet."""
    case = make.case(team, approve=True)
    client = as_user(team["officer"])
    action(client, case, "advance", target="notice")
    make.notice(refreshed(case), actor=team["officer"])
    page = text(client.get(f"/cases/{case.id}"))
    assert "must pass legal review before the decision" in unmet_under(page, "decision")
    assert unmet_under(page, "review") == ""
    assert f'href="/cases/{case.id}/review/submit"' in page  # the officer submits on the review form
    assert 'name="target" value="review"' not in page and 'name="target" value="decision"' not in page
    for target in ("review", "decision"):  # the plain move is refused
        action(client, case, "advance", target=target)
        assert refreshed(case).stage == Stage.NOTICE.value
    head_page = text(as_user(team["head"]).get(f"/cases/{case.id}"))
    assert f'href="/cases/{case.id}/decision"' in head_page
    assert "must pass legal review before the decision" in unmet_under(head_page, "decision")


def test_returning_a_case_from_review_takes_a_reason(without_record_rules, make, team, as_user):
    """Only the reviewer's return sends a case back, and its reasons are shown to the officer."""
    case = make.case(team, approve=True)
    client = as_user(team["officer"])
    action(client, case, "advance", target="notice")
    make.notice(refreshed(case), actor=team["officer"])
    request = make.submit_review(refreshed(case), actor=team["officer"])
    assert refreshed(case).stage == Stage.REVIEW.value
    page = text(client.get(f"/cases/{case.id}"))
    assert "Return to Investigation" not in page and 'name="target" value="investigation"' not in page
    assert "Only the reviewer's return for correction" in page
    action(client, case, "advance", target="investigation", reason="证据不足，补充调查")
    assert refreshed(case).stage == Stage.REVIEW.value  # an officer cannot send it back
    make.sign_review(request, team["reviewer"], outcome="returned")
    assert refreshed(case).stage == Stage.INVESTIGATION.value
    page = text(client.get(f"/cases/{case.id}"))
    returned = page.split('id="review-returned"', 1)[1].split("</section>", 1)[0]
    assert "Returned for correction by the legal review" in returned
    assert "请补充证据后重新提交" in returned  # the opinion
    assert "Evidence lawful and sufficient" in returned and "现场照片不足以证明建筑面积" in returned
    assert "请补充证据后重新提交" in page.split('id="timeline-title"', 1)[1]  # the reason of the stage change


def test_a_stale_page_does_not_change_the_case(make, team, as_user):
    case = make.case(team, approve=True)
    client = as_user(team["officer"])
    old_version = refreshed(case).version
    case_service.mark_complex(refreshed(case), actor=team["head"], reason="涉及多个法律关系")
    db.session.commit()
    response = client.post(f"/cases/{case.id}/advance", data={
        "csrf_token": token_for(client), "version": old_version, "target": "notice"})
    assert response.status_code == 302
    assert "Someone else changed this case" in text(client.get(f"/cases/{case.id}"))
    assert refreshed(case).stage == Stage.INVESTIGATION.value


# --- officers and complexity ---------------------------------------------------------------------------------

def test_officer_assigned_and_removed_with_reason(make, team, as_user):
    case = make.case(team, approve=True)
    officer3 = make.user(Role.OFFICER, body=team["body"], name="赵六")
    client = as_user(team["head"])
    assert action(client, case, "officers", user_id=officer3.id).status_code == 302
    assert officer3.id in {o.user_id for o in refreshed(case).active_officers}
    assert action(client, case, "officers/remove", user_id=officer3.id, reason="").status_code == 302
    assert "Give the reason" in text(client.get(f"/cases/{case.id}"))
    assert officer3.id in {o.user_id for o in refreshed(case).active_officers}
    action(client, case, "officers/remove", user_id=officer3.id, reason="与当事人有亲属关系，回避")
    assert officer3.id not in {o.user_id for o in refreshed(case).active_officers}
    timeline = text(client.get(f"/cases/{case.id}")).split('id="timeline-title"', 1)[1]
    assert "Officer assigned" in timeline and "Officer taken off the case" in timeline
    assert "与当事人有亲属关系，回避" in timeline


def test_assigning_an_officer_with_an_expired_certificate_is_refused(make, team, as_user):
    case = make.case(team, approve=True)
    expired = make.user(Role.OFFICER, body=team["body"], name="过期人员",
                        certificate={"valid_until": date(2025, 6, 30)})
    client = as_user(team["officer"])
    action(client, case, "officers", user_id=expired.id)
    page = text(client.get(f"/cases/{case.id}"))
    assert "The step was refused" in page and "expired on 2025-06-30" in page
    assert expired.id not in {o.user_id for o in refreshed(case).active_officers}


def test_officers_of_another_body_cannot_be_assigned(make, team, as_user):
    case = make.case(team, approve=True)
    stranger = make.user(Role.OFFICER, body=make.body(), name="外单位人员")
    client = as_user(team["officer"])
    action(client, case, "officers", user_id=stranger.id)
    assert stranger.id not in {o.user_id for o in refreshed(case).active_officers}
    assert "外单位人员" not in text(client.get(f"/cases/{case.id}"))


def test_marking_complex_makes_the_decision_major(make, team, as_user):
    matter = make.matter(team["body"], route=None)
    case = make.case(team, approve=True, matter=matter, route=None)
    client = as_user(team["officer"])
    assert "not major on what is known now" in text(client.get(f"/cases/{case.id}"))
    action(client, case, "complex", reason="涉及多个法律关系")
    page = text(client.get(f"/cases/{case.id}"))
    assert "marked complex: 涉及多个法律关系" in page and "Marked complex" in page
    assert refreshed(case).complex_reason == "涉及多个法律关系"


def test_officer_not_on_the_case_sees_no_forms(make, team, as_user):
    case = make.case(team, approve=True)
    outsider = make.user(Role.OFFICER, body=team["body"])
    client = as_user(outsider)
    page = text(client.get(f"/cases/{case.id}"))
    assert f'action="/cases/{case.id}/' not in page
    assert action(client, case, "advance", target="notice").status_code == 403


# --- CSRF -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "forged-token"])
def test_every_case_post_refuses_a_missing_or_forged_csrf_token(make, team, as_user, token):
    case = make.case(team)
    matter = make.matter(team["body"])
    head = as_user(team["head"])
    officer = as_user(team["officer"])
    posts = [
        (officer, "/cases/new", filing_data(team, matter)),
        (head, f"/cases/{case.id}/approve", {"version": case.version}),
        (head, f"/cases/{case.id}/advance", {"version": case.version, "target": "investigation"}),
        (head, f"/cases/{case.id}/officers", {"version": case.version, "user_id": team["officer"].id}),
        (head, f"/cases/{case.id}/officers/remove", {"version": case.version, "user_id": team["officer2"].id,
                                                     "reason": "回避"}),
        (head, f"/cases/{case.id}/complex", {"version": case.version, "reason": "复杂"}),
    ]
    for client, path, data in posts:
        if token:
            data = {**data, "csrf_token": token}
        response = client.post(path, data=data)
        assert response.status_code == 400, path
    after = refreshed(case)
    assert after.stage == Stage.FILING.value and after.complex_reason is None
    assert len(after.active_officers) == 2
    assert db.session.scalar(select(Case.id).where(Case.party_name == "李四")) is None
