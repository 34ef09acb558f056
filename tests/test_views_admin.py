"""Specification of the master-data screens (/admin): bodies, users and roles, the certificate
ledger, the powers catalogue, one's own API tokens and the audit trail.

Every logged-in user reads the master data of their own body; auditors and admins also of the
bodies below theirs; only admins change it. Another body's objects answer 404, a change by a
non-admin answers 403 and changes nothing, and every POST needs a valid CSRF token.
"""
from __future__ import annotations

import re
from datetime import date, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from flask import g, request_started
from sqlalchemy import func, select, text

from enforcement.extensions import db
from enforcement.models import ApiToken, AuditEvent, AuditHead, Body, Certificate, DiscretionBand, Matter, Role, User
from enforcement.services import people
from tests.conftest import csrf_token
from tests.factories import PASSWORD

NEW_PASSWORD = "another-horse-77"


# --- helpers -------------------------------------------------------------------------------

def sign_in(app, user, password: str = PASSWORD):
    """A fresh browser (test client) logged in as `user`, reading English pages."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": user.username, "password": password, "csrf_token": token})
    assert response.status_code == 302, f"login of {user.username} failed"
    return client


def post_form(client, path: str, data: dict | None = None, *, token_from: str | None = None, **kw):
    """POST like a browser: the CSRF token is read from the form page (or another page of the user)."""
    payload = {"csrf_token": csrf_token(client, token_from or path), **(data or {})}
    return client.post(path, data=payload, **kw)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def audit_seq() -> int:
    db.session.expire_all()
    return db.session.get(AuditHead, 1).seq


def fresh(model, object_id):
    db.session.expire_all()
    return db.session.get(model, object_id)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture(autouse=True)
def fresh_user_per_request(app):
    """The test's app context outlives each request, so `g` would carry Flask-Login's user and
    Flask-WTF's CSRF token from one client's request to the next: start each request with an
    empty `g`, as a real server does, so each client is judged by its own session cookie."""
    def forget(_sender, **_extra):
        g.__dict__.clear()
    request_started.connect(forget, app)
    yield
    request_started.disconnect(forget, app)


@pytest.fixture
def admin_client(app, team):
    return sign_in(app, team["admin"])


# --- reading -------------------------------------------------------------------------------

def test_every_master_data_screen_opens_for_an_admin(app, make, team, admin_client):
    user, matter = team["officer"], make.matter(team["body"])
    cert = user.certificates[0]
    paths = ["/admin/", "/admin/bodies", "/admin/bodies/new", f"/admin/bodies/{team['body'].id}/edit",
             "/admin/users", "/admin/users/new", f"/admin/users/{user.id}", f"/admin/users/{user.id}/edit",
             f"/admin/users/{user.id}/deactivate", f"/admin/users/{user.id}/password",
             f"/admin/users/{user.id}/certificates/new", "/admin/certificates", f"/admin/certificates/{cert.id}/status",
             "/admin/matters", "/admin/matters/new", f"/admin/matters/{matter.id}", f"/admin/matters/{matter.id}/edit",
             "/admin/tokens", "/admin/audit"]
    for state in ("expired", "expiring", "valid", "suspended", "revoked"):
        paths.append(f"/admin/certificates?state={state}")
    for path in paths:
        response = admin_client.get(path)
        assert response.status_code == 200, path


def test_master_data_needs_a_login(client, team):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["officer", "head", "reviewer", "auditor"])
def test_every_role_reads_the_master_data_of_its_own_body(app, make, team, role):
    matter = make.matter(team["body"])
    client = sign_in(app, team[role])
    for path in ("/admin/", "/admin/bodies", "/admin/users", "/admin/certificates", "/admin/matters",
                 f"/admin/users/{team['officer'].id}", f"/admin/matters/{matter.id}", "/admin/tokens"):
        assert client.get(path).status_code == 200, path
    assert team["officer"].name in page_text(client.get("/admin/users"))
    assert matter.name in page_text(client.get("/admin/matters"))


def test_another_bodys_people_and_matters_are_invisible(app, make, team):
    other = make.team()
    other_matter = make.matter(other["body"])
    for role in ("officer", "head", "reviewer", "admin"):
        client = sign_in(app, team[role])
        users_page = page_text(client.get("/admin/users"))
        assert other["officer"].name not in users_page
        assert other_matter.name not in page_text(client.get("/admin/matters"))
        assert other["officer"].certificates[0].number not in page_text(client.get("/admin/certificates"))
        for path in (f"/admin/users/{other['officer'].id}", f"/admin/matters/{other_matter.id}",
                     f"/admin/users/{other['officer'].id}/edit", f"/admin/matters/{other_matter.id}/edit",
                     f"/admin/bodies/{other['body'].id}/edit",
                     f"/admin/certificates/{other['officer'].certificates[0].id}/status"):
            response = client.get(path)
            assert response.status_code == 404, (role, path)
            assert other["officer"].name not in page_text(response)


def test_a_county_auditor_reads_the_towns_below_but_a_town_does_not_read_the_county(app, make):
    county = make.body("测试县司法局", kind="county", short_name="测县", area="测试县")
    town = make.body("测试县青山镇人民政府", parent_id=county.id, short_name="青山", area="青山镇")
    auditor = make.user(Role.AUDITOR, body=county)
    town_officer = make.user(Role.OFFICER, body=town, certificate={"area": "青山镇"})
    county_officer = make.user(Role.OFFICER, body=county, certificate={"area": "测试县"})

    auditor_client = sign_in(app, auditor)
    assert auditor_client.get(f"/admin/users/{town_officer.id}").status_code == 200
    assert town_officer.name in page_text(auditor_client.get("/admin/users"))
    assert "青山" in page_text(auditor_client.get("/admin/bodies"))

    town_client = sign_in(app, town_officer)
    assert town_client.get(f"/admin/users/{county_officer.id}").status_code == 404
    assert county_officer.name not in page_text(town_client.get("/admin/users"))


def test_user_list_filters_by_body_role_and_status(app, make, team, admin_client):
    people.deactivate_user(team["officer2"], actor=None, reason="调离")
    db.session.commit()
    page = page_text(admin_client.get("/admin/users?role=reviewer"))
    assert team["reviewer"].name in page and team["officer"].name not in page
    page = page_text(admin_client.get("/admin/users?active=0"))
    assert team["officer2"].name in page and team["officer"].name not in page
    page = page_text(admin_client.get(f"/admin/users?body={team['body'].id}&active=1"))
    assert team["officer"].name in page and team["officer2"].name not in page
    # Nonsense filters are ignored, not an error.
    assert admin_client.get("/admin/users?body=abc&role=king&active=x&page=-3").status_code == 200


# --- bodies --------------------------------------------------------------------------------

def test_body_form_shows_a_live_example_of_the_case_number(app, team, admin_client):
    page = page_text(admin_client.get(f"/admin/bodies/{team['body'].id}/edit"))
    assert f"{team['body'].short_name}罚〔{date.today().year}〕1号" in page

    response = post_form(admin_client, f"/admin/bodies/{team['body'].id}/edit", {
        "name": team["body"].name, "short_name": "永平", "kind": "town", "area": team["body"].area,
        "parent_id": "0", "case_number_pattern": "{short}综罚〔{year}〕{seq:03d}号", "preview": "1"})
    assert response.status_code == 200
    assert f"永平综罚〔{date.today().year}〕001号" in page_text(response)
    assert fresh(Body, team["body"].id).short_name != "永平"  # a preview saves nothing


def test_admin_creates_a_body_under_their_own(app, team, admin_client):
    before = audit_seq()
    response = post_form(admin_client, "/admin/bodies/new", {
        "name": "永平镇综合行政执法队", "short_name": "永综", "kind": "other", "area": team["body"].area,
        "parent_id": str(team["body"].id), "address": "永平镇政府路1号", "phone": "0871-1234567",
        "complaint_channel": "12345", "remedy_info": "可在六十日内申请行政复议",
        "case_number_pattern": "{short}罚〔{year}〕{seq}号"})
    assert response.status_code == 302
    body = db.session.scalar(select(Body).where(Body.name == "永平镇综合行政执法队"))
    assert body.parent_id == team["body"].id and body.phone == "0871-1234567"
    assert audit_seq() == before + 1
    assert "永平镇综合行政执法队" in page_text(admin_client.get("/admin/bodies"))


def test_a_case_number_pattern_without_the_sequence_is_refused_beside_the_field(app, team, admin_client):
    response = post_form(admin_client, "/admin/bodies/new", {
        "name": "无号镇人民政府", "short_name": "无号", "kind": "town", "area": "无号镇",
        "parent_id": str(team["body"].id), "case_number_pattern": "{short}罚〔{year}〕号"})
    assert response.status_code == 400
    assert "must contain {short}, {year} and {seq}" in page_text(response)
    assert db.session.scalar(select(Body).where(Body.name == "无号镇人民政府")) is None


def test_a_body_cannot_take_the_name_of_another(app, make, team, admin_client):
    sibling = make.body("同名镇人民政府", parent_id=team["body"].id)
    response = post_form(admin_client, f"/admin/bodies/{team['body'].id}/edit", {
        "name": sibling.name, "short_name": "测", "kind": "town", "area": team["body"].area, "parent_id": "0",
        "case_number_pattern": "{short}罚〔{year}〕{seq}号", "active": "y"})
    assert response.status_code == 400
    assert "exists already" in page_text(response)
    assert fresh(Body, team["body"].id).name != sibling.name


# --- users ---------------------------------------------------------------------------------

def test_admin_creates_a_user_with_several_roles_and_qualifications(app, team, admin_client):
    before = audit_seq()
    response = post_form(admin_client, "/admin/users/new", {
        "username": "lisi", "name": "李四", "body_id": str(team["body"].id), "unit": "综合执法办",
        "roles": ["officer", "reviewer"], "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "legal_qualification_no": "A20190001", "legal_adviser_appointment": "", "auxiliary": ""})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "lisi"))
    assert user.roles == {"officer", "reviewer"}
    assert user.legal_qualification_no == "A20190001" and user.unit == "综合执法办" and not user.auxiliary
    assert people.verify_password(user, NEW_PASSWORD)
    assert audit_seq() == before + 1
    page = page_text(admin_client.get("/admin/users"))
    assert "李四" in page and "A20190001" in page


def test_new_user_form_says_what_is_wrong_beside_the_field(app, team, admin_client):
    response = post_form(admin_client, "/admin/users/new", {
        "username": team["officer"].username.upper(), "name": "重名", "body_id": str(team["body"].id),
        "roles": ["officer"], "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert "is taken" in page_text(response)

    response = post_form(admin_client, "/admin/users/new", {
        "username": "weak", "name": "弱", "body_id": str(team["body"].id), "roles": [],
        "password": "abcdefghijk", "confirm": "abcdefghijk"})
    assert response.status_code == 400
    text_ = page_text(response)
    assert "Choose at least one role." in text_
    assert "must mix letters with digits or symbols" in text_
    assert db.session.scalar(select(User).where(User.username == "weak")) is None


def test_admin_edits_roles_and_the_user_must_log_in_again(app, team, admin_client):
    officer = team["officer"]
    officer_client = sign_in(app, officer)
    response = post_form(admin_client, f"/admin/users/{officer.id}/edit", {
        "name": officer.name, "body_id": str(team["body"].id), "unit": "执法中队", "roles": ["officer", "head"],
        "legal_qualification_no": "", "legal_adviser_appointment": "任命〔2026〕3号"})
    assert response.status_code == 302
    user = fresh(User, officer.id)
    assert user.roles == {"officer", "head"} and user.unit == "执法中队"
    assert user.legal_adviser_appointment == "任命〔2026〕3号"
    # The new rights come with a new session.
    assert "/login" in officer_client.get("/home").headers["Location"]


def test_an_admin_cannot_remove_their_own_admin_role(app, team, admin_client):
    admin = team["admin"]
    response = post_form(admin_client, f"/admin/users/{admin.id}/edit", {
        "name": admin.name, "body_id": str(team["body"].id), "roles": ["officer"]})
    assert response.status_code == 400
    assert "cannot remove your own admin role" in page_text(response)
    assert fresh(User, admin.id).roles == {"admin"}


def test_deactivation_ends_the_users_session_at_once(app, team, admin_client):
    officer = team["officer"]
    officer_client = sign_in(app, officer)
    assert officer_client.get("/home").status_code == 200

    response = post_form(admin_client, f"/admin/users/{officer.id}/deactivate", {"reason": "调离执法岗位"})
    assert response.status_code == 302

    bounced = officer_client.get("/home")
    assert bounced.status_code == 302 and "/login" in bounced.headers["Location"]
    user = fresh(User, officer.id)
    assert not user.active and user.deactivated_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deactivated"))
    assert "调离执法岗位" in event.after and event.actor_id == team["admin"].id


def test_a_deactivated_user_cannot_log_in_and_stays_listed_greyed_with_the_date(app, team, admin_client):
    officer = team["officer"]
    post_form(admin_client, f"/admin/users/{officer.id}/deactivate", {"reason": "退休"})
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": officer.username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 401
    assert client.get("/home").status_code == 302

    page = page_text(admin_client.get("/admin/users"))
    row = re.search(r'<tr class="muted">.*?</tr>', page, re.S).group(0)
    assert officer.name in row
    local = fresh(User, officer.id).deactivated_at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"deactivated {local:%Y-%m-%d %H:%M}" in row
    assert count(User) == 6  # never deleted


def test_deactivation_needs_a_reason_and_never_applies_to_oneself(app, team, admin_client):
    response = post_form(admin_client, f"/admin/users/{team['officer'].id}/deactivate", {"reason": "  "})
    assert response.status_code == 400
    assert "Give the reason" in page_text(response)
    response = post_form(admin_client, f"/admin/users/{team['admin'].id}/deactivate", {"reason": "test"})
    assert response.status_code == 400
    assert "cannot deactivate yourself" in page_text(response)
    assert fresh(User, team["officer"].id).active and fresh(User, team["admin"].id).active


def test_a_deactivated_user_can_be_reactivated(app, team, admin_client):
    officer = team["officer"]
    post_form(admin_client, f"/admin/users/{officer.id}/deactivate", {"reason": "借调"})
    response = post_form(admin_client, f"/admin/users/{officer.id}/reactivate", token_from=f"/admin/users/{officer.id}")
    assert response.status_code == 302
    assert fresh(User, officer.id).active
    sign_in(app, officer)


def test_admin_sets_a_password_which_ends_the_users_sessions(app, team, admin_client):
    officer = team["officer"]
    officer_client = sign_in(app, officer)
    response = post_form(admin_client, f"/admin/users/{officer.id}/password",
                         {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert "/login" in officer_client.get("/home").headers["Location"]
    sign_in(app, officer, NEW_PASSWORD)

    response = post_form(admin_client, f"/admin/users/{officer.id}/password",
                         {"password": "1234567890", "confirm": "1234567890"})
    assert response.status_code == 400
    assert "must mix letters" in page_text(response)


def test_an_admin_changing_their_own_password_stays_logged_in(app, team, admin_client):
    admin = team["admin"]
    response = post_form(admin_client, f"/admin/users/{admin.id}/password",
                         {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert admin_client.get("/admin/users").status_code == 200


def test_user_page_shows_the_certificate_ledger_and_the_history(app, team, admin_client):
    officer = team["officer"]
    post_form(admin_client, f"/admin/users/{officer.id}/edit", {
        "name": officer.name, "body_id": str(team["body"].id), "unit": "二中队", "roles": ["officer"]})
    page = page_text(admin_client.get(f"/admin/users/{officer.id}"))
    assert officer.certificates[0].number in page
    assert "user.created" in page and "user.updated" in page and "certificate.added" in page


def test_the_history_is_for_auditors_and_admins_only(app, team):
    page = page_text(sign_in(app, team["officer2"]).get(f"/admin/users/{team['officer'].id}"))
    assert team["officer"].certificates[0].number in page
    assert "user.created" not in page


# --- certificate ledger --------------------------------------------------------------------

def test_an_expired_certificate_is_shown_as_expired_everywhere(app, make, team, admin_client):
    expired_on = date.today() - timedelta(days=10)
    lapsed = make.user(Role.OFFICER, body=team["body"], name="王过期",
                       certificate={"valid_from": date(2020, 1, 1), "valid_until": expired_on})
    listed = page_text(admin_client.get("/admin/certificates?state=expired"))
    assert lapsed.certificates[0].number in listed and team["officer"].certificates[0].number not in listed
    assert "expired" in listed

    users_page = page_text(admin_client.get("/admin/users"))
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*王过期.*?</tr>", users_page, re.S).group(0)
    assert 'class="badge bad"' in row and ">expired<" in row
    assert f"expired on {expired_on.isoformat()}" in row  # the words of certificate_problem

    page = page_text(admin_client.get(f"/admin/users/{lapsed.id}"))
    assert f"expired on {expired_on.isoformat()}" in page


def test_the_ledger_flags_certificates_expiring_within_60_days(app, make, team, admin_client):
    soon = make.user(Role.OFFICER, body=team["body"], certificate={"valid_until": date.today() + timedelta(days=30)})
    page = page_text(admin_client.get("/admin/certificates?state=expiring"))
    assert soon.certificates[0].number in page and team["officer"].certificates[0].number not in page
    assert "expires within 60 days" in page
    assert "Expiring within 60 days: 1" in page_text(admin_client.get("/admin/"))


def test_admin_adds_a_certificate_and_suspends_it(app, make, team, admin_client):
    newcomer = make.user(Role.OFFICER, body=team["body"], certificate=False)
    assert ">no certificate<" in page_text(admin_client.get(f"/admin/users/{newcomer.id}"))
    response = post_form(admin_client, f"/admin/users/{newcomer.id}/certificates/new", {
        "number": "滇执01234567", "issuer": "云南省人民政府", "category": "城乡建设、自然资源",
        "area": team["body"].area, "valid_from": "2025-01-01", "valid_until": "2029-12-31"})
    assert response.status_code == 302
    cert = db.session.scalar(select(Certificate).where(Certificate.number == "滇执01234567"))
    assert cert.user_id == newcomer.id and cert.valid_until == date(2029, 12, 31)

    response = post_form(admin_client, f"/admin/certificates/{cert.id}/status",
                         {"status": "suspended", "reason": "涉嫌违纪，暂扣"})
    assert response.status_code == 302
    assert fresh(Certificate, cert.id).status == "suspended"
    page = page_text(admin_client.get(f"/admin/users/{newcomer.id}"))
    assert "suspended (暂扣)" in page and "涉嫌违纪，暂扣" in page
    assert "滇执01234567" in page_text(admin_client.get("/admin/certificates?state=suspended"))


def test_a_certificate_form_refuses_a_period_that_ends_before_it_starts_and_a_taken_number(app, team, admin_client):
    officer = team["officer"]
    response = post_form(admin_client, f"/admin/users/{officer.id}/certificates/new", {
        "number": "X1", "issuer": "省政府", "category": "城乡建设", "area": "测试",
        "valid_from": "2026-05-01", "valid_until": "2026-01-01"})
    assert response.status_code == 400
    assert "cannot expire before it becomes valid" in page_text(response)
    response = post_form(admin_client, f"/admin/users/{officer.id}/certificates/new", {
        "number": team["officer2"].certificates[0].number, "issuer": "省政府", "category": "城乡建设", "area": "测试",
        "valid_from": "2026-01-01", "valid_until": "2027-01-01"})
    assert response.status_code == 400
    assert "in the ledger already" in page_text(response)
    assert len(fresh(User, officer.id).certificates) == 1


def test_a_status_change_needs_a_reason(app, team, admin_client):
    cert = team["officer"].certificates[0]
    response = post_form(admin_client, f"/admin/certificates/{cert.id}/status", {"status": "revoked", "reason": ""})
    assert response.status_code == 400
    assert fresh(Certificate, cert.id).status == "valid"


# --- powers catalogue ----------------------------------------------------------------------

MATTER = {"code": "330217001", "name": "对未取得乡村建设规划许可证进行建设的处罚", "category": "penalty",
          "enforcement_category": "城乡建设", "legal_basis": "《中华人民共和国城乡规划法》第六十五条",
          "procedure": "立案、调查、告知、决定", "route": "planning", "power_source": "own",
          "delegation_document": "", "delegation_published_on": "", "in_major_catalogue": "y",
          "major_fine_person": "10000", "major_fine_org": "100000"}


def test_admin_adds_a_matter_to_the_catalogue(app, team, admin_client):
    response = post_form(admin_client, "/admin/matters/new", {**MATTER, "body_id": str(team["body"].id)})
    assert response.status_code == 302
    matter = db.session.scalar(select(Matter).where(Matter.code == "330217001"))
    assert matter.active and matter.in_major_catalogue and matter.route == "planning"
    assert str(matter.major_fine_person) == "10000.00"
    page = page_text(admin_client.get("/admin/matters"))
    assert "330217001" in page and "城乡规划法" in page and "person ≥ ¥10000.00" in page


def test_a_delegated_power_without_a_published_delegation_is_refused_with_the_message(app, team, admin_client):
    response = post_form(admin_client, "/admin/matters/new", {
        **MATTER, "body_id": str(team["body"].id), "route": "land", "power_source": "delegated"})
    assert response.status_code == 400
    assert "A delegated power needs the published delegation document" in page_text(response)
    assert count(Matter) == 0

    response = post_form(admin_client, "/admin/matters/new", {
        **MATTER, "body_id": str(team["body"].id), "route": "land", "power_source": "delegated",
        "delegation_document": "省政府令第12号"})
    assert response.status_code == 400
    assert "行政处罚法 art. 24" in page_text(response)
    assert count(Matter) == 0

    response = post_form(admin_client, "/admin/matters/new", {
        **MATTER, "body_id": str(team["body"].id), "route": "land", "power_source": "delegated",
        "delegation_document": "省政府令第12号", "delegation_published_on": "2025-03-01"})
    assert response.status_code == 302
    page = page_text(admin_client.get("/admin/matters"))
    assert "省政府令第12号" in page and "published 2025-03-01" in page


def test_missing_matter_fields_are_named(app, team, admin_client):
    response = post_form(admin_client, "/admin/matters/new", {
        **MATTER, "body_id": str(team["body"].id), "code": "", "legal_basis": ""})
    assert response.status_code == 400
    assert "The code is required." in page_text(response) and "The legal basis is required." in page_text(response)


def test_a_matter_is_deactivated_never_deleted(app, make, team, admin_client):
    matter = make.matter(team["body"])
    data = {**MATTER, "code": matter.code, "name": matter.name, "in_major_catalogue": ""}
    response = post_form(admin_client, f"/admin/matters/{matter.id}/edit", data)  # "active" unticked
    assert response.status_code == 302
    assert fresh(Matter, matter.id).active is False
    assert matter.name in page_text(admin_client.get("/admin/matters?active=0"))
    assert matter.name not in page_text(admin_client.get("/admin/matters?active=1"))
    response = post_form(admin_client, f"/admin/matters/{matter.id}/edit", {**data, "active": "y"})
    assert fresh(Matter, matter.id).active is True


def test_a_matter_keeps_the_confiscation_threshold_that_makes_a_decision_major(app, make, team, admin_client):
    response = post_form(admin_client, "/admin/matters/new", {**MATTER, "body_id": str(team["body"].id),
                                                             "major_confiscation_value": "50000"})
    assert response.status_code == 302
    matter = db.session.scalar(select(Matter).where(Matter.code == "330217001"))
    assert str(matter.major_confiscation_value) == "50000.00"
    page = page_text(admin_client.get(f"/admin/matters/{matter.id}"))
    assert "Value confiscated that makes a decision major (¥)" in page and "50000.00" in page
    assert 'value="50000.00"' in page_text(admin_client.get(f"/admin/matters/{matter.id}/edit"))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "matter.created"))
    assert "major_confiscation_value" in event.after

    response = post_form(admin_client, f"/admin/matters/{matter.id}/edit", {
        **MATTER, "major_confiscation_value": "-1", "active": "y"})
    assert response.status_code == 400 and "Cannot be negative." in page_text(response)
    response = post_form(admin_client, f"/admin/matters/{matter.id}/edit", {
        **MATTER, "major_confiscation_value": "", "active": "y"})
    assert response.status_code == 302
    assert fresh(Matter, matter.id).major_confiscation_value is None


def band(matter, circumstance: str = "情节较轻", **values):
    from enforcement.services import catalogue

    made = catalogue.add_band(matter, actor=None, circumstance=circumstance, **values)
    db.session.commit()
    return made


BAND = {"circumstance": "情节较轻", "measures": "责令限期改正，并处罚款", "fine_min": "1000", "fine_max": "10000",
        "sort": "1"}


def test_admin_adds_a_discretion_band_and_takes_it_out_of_use(app, make, team, admin_client):
    matter = make.matter(team["body"])
    path = f"/admin/matters/{matter.id}"
    page = page_text(admin_client.get(path))
    assert "Discretion standard (裁量基准)" in page and "No discretion standard yet" in page
    response = post_form(admin_client, f"{path}/bands", BAND, token_from=path)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{path}#bands")
    row = db.session.scalar(select(DiscretionBand).where(DiscretionBand.matter_id == matter.id))
    assert row.active and str(row.fine_min) == "1000.00" and str(row.fine_max) == "10000.00" and row.sort == 1
    page = page_text(admin_client.get(path))
    assert "情节较轻" in page and "¥1,000.00 – ¥10,000.00" in page and "责令限期改正，并处罚款" in page
    assert "in use" in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "matter.band_added"))
    assert event.object_id == str(matter.id) and "情节较轻" in event.after

    response = post_form(admin_client, f"/admin/bands/{row.id}/deactivate", token_from=path)
    assert response.status_code == 302
    assert fresh(DiscretionBand, row.id).active is False
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "matter.band_deactivated")) is not None
    page = page_text(admin_client.get(path))
    assert "no longer in use" in page and "情节较轻" in page  # kept, never deleted
    response = post_form(admin_client, f"/admin/bands/{row.id}/deactivate", token_from=path)
    assert response.status_code == 302
    assert "no longer in use already" in page_text(admin_client.get(path))
    # A new band for the same circumstance may replace the old one.
    assert post_form(admin_client, f"{path}/bands", BAND, token_from=path).status_code == 302
    assert count(DiscretionBand) == 2


@pytest.mark.parametrize("change, message", [
    ({"circumstance": ""}, "Name the circumstance"),
    ({"fine_min": "5000", "fine_max": "100"}, "The highest fine cannot be lower than the lowest."),
    ({"fine_min": "-5"}, "Cannot be negative."),
    ({"fine_min": "", "fine_max": "", "measures": ""}, "Say what the band provides"),
])
def test_a_wrong_band_is_refused_beside_its_field(app, make, team, admin_client, change, message):
    matter = make.matter(team["body"])
    path = f"/admin/matters/{matter.id}"
    response = post_form(admin_client, f"{path}/bands", {**BAND, **change}, token_from=path)
    assert response.status_code == 400
    assert re.search(r'class="field[^"]*has-error".*?' + re.escape(message), page_text(response), re.S)
    assert count(DiscretionBand) == 0


def test_a_circumstance_has_one_band_in_use(app, make, team, admin_client):
    matter = make.matter(team["body"])
    band(matter, fine_min="1", fine_max="2")
    path = f"/admin/matters/{matter.id}"
    response = post_form(admin_client, f"{path}/bands", BAND, token_from=path)
    assert response.status_code == 400
    assert "The matter has a band for 情节较轻 already" in page_text(response)
    assert count(DiscretionBand) == 1


@pytest.mark.parametrize("role", ["officer", "head", "reviewer", "auditor"])
def test_every_role_reads_the_discretion_standard_but_only_admins_change_it(app, make, team, role):
    matter = make.matter(team["body"])
    band(matter, measures="责令限期拆除")
    page = page_text(sign_in(app, team[role]).get(f"/admin/matters/{matter.id}"))
    assert "责令限期拆除" in page
    assert "Add a band" not in page and "/deactivate" not in page


def test_a_matter_code_is_unique_within_the_body(app, make, team, admin_client):
    first = make.matter(team["body"])
    response = post_form(admin_client, "/admin/matters/new", {**MATTER, "code": first.code,
                                                             "body_id": str(team["body"].id)})
    assert response.status_code == 400
    assert "exists already" in page_text(response)


# --- API tokens ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["officer", "auditor", "admin"])
def test_a_token_is_shown_once_works_as_bearer_and_stops_when_revoked(app, team, role):
    user = team[role]
    client = sign_in(app, user)
    response = post_form(client, "/admin/tokens", {"name": "执法记录仪-03"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    plain = re.search(r'id="new-token">(etk_[^<]+)<', page_text(response)).group(1)
    assert "shown only this once" in page_text(response)
    assert people.user_for_token(plain).id == user.id

    listing = page_text(client.get("/admin/tokens"))
    assert plain not in listing and plain[:10] in listing and "执法记录仪-03" in listing

    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    response = post_form(client, f"/admin/tokens/{token.id}/revoke", token_from="/admin/tokens")
    assert response.status_code == 302
    db.session.expire_all()
    assert people.user_for_token(plain) is None
    assert "revoked" in page_text(client.get("/admin/tokens"))


def test_nobody_revokes_another_users_token(app, team):
    token, plain = people.create_api_token(team["officer"], actor=team["officer"], name="手机")
    db.session.commit()
    client = sign_in(app, team["admin"])
    response = post_form(client, f"/admin/tokens/{token.id}/revoke", token_from="/admin/tokens")
    assert response.status_code == 404
    db.session.expire_all()
    assert people.user_for_token(plain).id == team["officer"].id


def test_a_token_needs_a_name_not_used_before(app, team):
    client = sign_in(app, team["officer"])
    assert post_form(client, "/admin/tokens", {"name": ""}).status_code == 400
    post_form(client, "/admin/tokens", {"name": "平板"})
    response = post_form(client, "/admin/tokens", {"name": "平板"})
    assert response.status_code == 400 and "already" in page_text(response)
    assert count(ApiToken) == 1


# --- audit trail ---------------------------------------------------------------------------

def test_the_audit_trail_is_for_auditors_and_admins(app, team):
    for role in ("officer", "head", "reviewer"):
        client = sign_in(app, team[role])
        assert client.get("/admin/audit").status_code == 403
        assert post_form(client, "/admin/audit/verify", token_from="/admin/tokens").status_code == 403
    for role in ("auditor", "admin"):
        page = page_text(sign_in(app, team[role]).get("/admin/audit"))
        assert "user.created" in page


def test_the_audit_list_filters_and_pages_newest_first(app, make, team):
    client = sign_in(app, team["auditor"])
    for n in range(60):
        make.matter(team["body"], code=f"P{n:03d}")
    first = page_text(client.get("/admin/audit?action=matter."))
    ids = [int(i) for i in re.findall(r"<tr>\s*<td>(\d+)</td>", first)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    assert "user.created" not in first
    older = page_text(client.get(f"/admin/audit?action=matter.&before={ids[-1]}"))
    older_ids = [int(i) for i in re.findall(r"<tr>\s*<td>(\d+)</td>", older)]
    assert len(older_ids) == 10 and max(older_ids) < min(ids)
    newer = page_text(client.get(f"/admin/audit?action=matter.&after={older_ids[0]}"))
    assert [int(i) for i in re.findall(r"<tr>\s*<td>(\d+)</td>", newer)] == ids

    only_admin = page_text(client.get(f"/admin/audit?actor={team['admin'].id}"))
    assert "matter.created" not in only_admin
    assert client.get("/admin/audit?case_id=abc&object_type=user").status_code == 200


def test_the_audit_list_leaves_out_other_bodies(app, make, team):
    other = make.team()
    page = page_text(sign_in(app, team["auditor"]).get("/admin/audit?object_type=user"))
    assert other["officer"].name not in page and team["officer"].name in page


def test_verify_the_chain_shows_ok_then_the_first_broken_event_after_tampering(app, team):
    client = sign_in(app, team["auditor"])
    response = post_form(client, "/admin/audit/verify", token_from="/admin/audit")
    assert response.status_code == 200
    page = page_text(response)
    head = db.session.get(AuditHead, 1)
    assert "OK" in page and head.last_hash in page and f"all {head.seq} events are intact" in page

    # The test shares the request's session: end its read transaction as the request's teardown would
    # (verify_chain streams with a server-side cursor on PostgreSQL).
    db.session.rollback()
    victim = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.created").order_by(AuditEvent.id))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("DROP TRIGGER audit_events_no_update ON audit_events"))
    else:
        db.session.execute(text("DROP TRIGGER audit_events_no_update"))
    db.session.execute(text("UPDATE audit_events SET object_label = '篡改' WHERE id = :id"), {"id": victim.id})
    db.session.commit()

    response = post_form(client, "/admin/audit/verify", token_from="/admin/audit")
    assert response.status_code == 200
    page = page_text(response)
    assert "BROKEN" in page
    assert f"the first broken event is {victim.id}." in page
    assert f"event {victim.id} was altered" in page


# --- refusals: wrong role, CSRF ------------------------------------------------------------

def _change_requests(team, matter) -> list[tuple[str, dict]]:
    """Every change route of the blueprint with data that an admin's POST would accept."""
    officer, body = team["officer"], team["body"]
    existing = matter.discretion_bands[0]
    cert = officer.certificates[0]
    return [
        ("/admin/bodies/new", {"name": "越权镇人民政府", "short_name": "越", "kind": "town", "area": "越权镇",
                               "parent_id": str(body.id), "case_number_pattern": "{short}罚〔{year}〕{seq}号"}),
        (f"/admin/bodies/{body.id}/edit", {"name": "改名镇人民政府", "short_name": "改", "kind": "town",
                                           "area": body.area, "parent_id": "0",
                                           "case_number_pattern": "{short}罚〔{year}〕{seq}号", "active": "y"}),
        ("/admin/users/new", {"username": "intruder", "name": "闯入者", "body_id": str(body.id), "roles": ["admin"],
                              "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        (f"/admin/users/{officer.id}/edit", {"name": "改名", "body_id": str(body.id), "roles": ["admin"]}),
        (f"/admin/users/{officer.id}/deactivate", {"reason": "越权"}),
        (f"/admin/users/{team['officer2'].id}/reactivate", {}),
        (f"/admin/users/{officer.id}/password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        (f"/admin/users/{officer.id}/certificates/new", {
            "number": "FAKE-1", "issuer": "省政府", "category": "城乡建设", "area": body.area,
            "valid_from": "2026-01-01", "valid_until": "2028-01-01"}),
        (f"/admin/certificates/{cert.id}/status", {"status": "revoked", "reason": "越权"}),
        ("/admin/matters/new", {**MATTER, "body_id": str(body.id)}),
        (f"/admin/matters/{matter.id}/edit", {**MATTER, "code": matter.code, "name": "改名的事项"}),
        (f"/admin/matters/{matter.id}/bands", {**BAND, "circumstance": "越权的情节"}),
        (f"/admin/bands/{existing.id}/deactivate", {}),
    ]


def _master_data_state():
    db.session.expire_all()
    return (audit_seq(), count(Body), count(User), count(Certificate), count(Matter),
            db.session.scalars(select(User.name).order_by(User.id)).all(),
            db.session.scalars(select(User.active).order_by(User.id)).all(),
            db.session.scalars(select(User.password_hash).order_by(User.id)).all(),
            db.session.scalars(select(Certificate.status).order_by(Certificate.id)).all(),
            db.session.scalars(select(Matter.name).order_by(Matter.id)).all(),
            db.session.execute(select(DiscretionBand.circumstance, DiscretionBand.active)
                               .order_by(DiscretionBand.id)).all(),
            db.session.scalars(select(Body.name).order_by(Body.id)).all())


@pytest.mark.parametrize("role", ["officer", "head", "reviewer", "auditor"])
def test_every_change_is_refused_to_non_admins_and_changes_nothing(app, make, team, role):
    matter = make.matter(team["body"])
    band(matter, fine_min="1000", fine_max="10000")
    people.deactivate_user(team["officer2"], actor=None, reason="for the reactivate route")
    db.session.commit()
    client = sign_in(app, team[role])
    state = _master_data_state()
    for path, data in _change_requests(team, matter):
        assert client.get(path).status_code in (403, 405), path
        response = post_form(client, path, data, token_from="/admin/tokens")
        assert response.status_code == 403, path
    after_login = _master_data_state()
    assert after_login == state


def test_an_admin_of_another_body_gets_404_and_changes_nothing(app, make, team):
    matter = make.matter(team["body"])
    band(matter, fine_min="1000", fine_max="10000")
    outsider = make.team()["admin"]
    client = sign_in(app, outsider)
    state = _master_data_state()
    for path, data in _change_requests(team, matter)[1:]:  # [0] creates a body under one the admin picks
        response = post_form(client, path, data, token_from="/admin/tokens")
        assert response.status_code in (400, 404), path  # 400: the other body is not a choice on their form
    assert _master_data_state() == state


def _admin_post_paths(app, team, matter, token_id) -> list[str]:
    """Every POST route of the admin blueprint, with real ids filled in."""
    ids = {"body_id": team["body"].id, "user_id": team["officer"].id, "cert_id": team["officer"].certificates[0].id,
           "matter_id": matter.id, "token_id": token_id, "day": "2026-03-04",
           "band_id": matter.discretion_bands[0].id}
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and "POST" in rule.methods:
            paths.append(rule.build({arg: ids[arg] for arg in rule.arguments})[1])
    return paths


def test_every_post_here_refuses_a_missing_or_forged_csrf_token(app, make, team, admin_client):
    matter = make.matter(team["body"])
    band(matter, fine_min="1000", fine_max="10000")
    token, _plain = people.create_api_token(team["admin"], actor=team["admin"], name="csrf")
    db.session.commit()
    paths = _admin_post_paths(app, team, matter, token.id)
    assert len(paths) == 18, paths
    stolen = csrf_token(sign_in(app, team["head"]), "/admin/tokens")  # a real token, but of another session
    valid = {path: data for path, data in _change_requests(team, matter)}
    state = _master_data_state()
    for path in paths:
        data = valid.get(path, {"name": "x", "reason": "x"})
        assert admin_client.post(path, data=data).status_code == 400, path
        assert admin_client.post(path, data={**data, "csrf_token": "forged-token"}).status_code == 400, path
        assert admin_client.post(path, data={**data, "csrf_token": stolen}).status_code == 400, path
    assert _master_data_state() == state
    assert count(ApiToken) == 1
    from enforcement.models import CalendarOverride
    assert count(CalendarOverride) == 0


def test_names_are_escaped_on_every_page(app, make, team, admin_client):
    evil = make.user(Role.OFFICER, body=team["body"], name="<script>x()</script>")
    people.deactivate_user(evil, actor=None, reason="<img src=x>")
    db.session.commit()
    for path in ("/admin/users", f"/admin/users/{evil.id}", "/admin/certificates", f"/admin/users/{evil.id}/edit",
                 f"/admin/users/{evil.id}/password", "/admin/audit"):
        page = page_text(admin_client.get(path))
        assert "<script>x()" not in page and "<img src=x>" not in page, path
        assert "&lt;script&gt;x()" in page, path


# --- the working-day calendar -----------------------------------------------------------------------

def test_admin_adds_and_removes_a_local_day_off(app, team, admin_client):
    from datetime import date

    from enforcement.services import calendar

    response = post_form(admin_client, "/admin/calendar", {"day": "2026-03-04", "workday": "0",
                                                          "reason": "县政府通知：防汛停工一日"})
    assert response.status_code == 302
    assert calendar.is_workday(date(2026, 3, 4)) is False
    page = page_text(admin_client.get("/admin/calendar"))
    assert "2026-03-04" in page and "防汛停工" in page
    response = post_form(admin_client, "/admin/calendar/2026-03-04/remove", token_from="/admin/calendar")
    assert response.status_code == 302
    assert calendar.is_workday(date(2026, 3, 4)) is True


def test_a_local_change_without_a_reason_is_refused_beside_the_field(app, team, admin_client):
    response = post_form(admin_client, "/admin/calendar", {"day": "2026-03-04", "workday": "0", "reason": ""})
    assert response.status_code == 400
    assert "Give the reason" in page_text(response)


def test_only_an_admin_of_the_top_level_body_changes_the_calendar(app, make, team):
    from enforcement.models import Role

    town = make.body(parent_id=team["body"].id)
    for user in (team["officer"], make.user(Role.ADMIN, body=town)):
        client = sign_in(app, user)
        assert client.get("/admin/calendar").status_code == 200  # everyone may read it
        response = post_form(client, "/admin/calendar", {"day": "2026-03-04", "workday": "0", "reason": "x"},
                             token_from="/admin/calendar")
        assert response.status_code == 403
