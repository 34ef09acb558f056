"""Specification of login security, over HTTP through the test client.

A login starts a new session; logout, deactivation and a password change end sessions on the
server (a copied cookie stops working); sessions expire; login attempts are rate-limited; a wrong
password is refused and recorded; every state-changing route outside the token-only API refuses a
missing or forged CSRF token and changes nothing; the API ignores session cookies.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.routing import AnyConverter, IntegerConverter, UUIDConverter

from enforcement.extensions import csrf, db
from enforcement.models import AuditEvent, AuditHead, Role
from enforcement.services import people
from tests.conftest import csrf_token, make_app
from tests.factories import PASSWORD

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_MESSAGE = b"The form expired or was not sent by this site"


# --- helpers ---------------------------------------------------------------------------------------

class RequestClient(FlaskClient):
    """A client whose every request runs in its own application context, as in production.

    The `app` fixture keeps an application context pushed for the whole test, and Flask reuses
    it for requests: `g` (where Flask-Login caches the current user) and the database session
    would then carry over from one request, and one client, to the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def separate_requests(app):
    app.test_client_class = RequestClient


def english(client):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def log_in(client, user, password: str = PASSWORD, **extra):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": user.username, "password": password, "csrf_token": token},
                       **extra)


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def with_cookie(app, value: str):
    """A fresh client (another browser) carrying a copied session cookie."""
    other = english(app.test_client())
    other.set_cookie("session", value)
    return other


def is_sent_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def head_seq() -> int:
    db.session.rollback()  # see what the requests committed
    return db.session.get(AuditHead, 1, populate_existing=True).seq


def events(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture
def client(app):
    return english(app.test_client())


@pytest.fixture
def officer(make):
    return make.user(Role.OFFICER)


# --- login ---------------------------------------------------------------------------------------------

def test_login_with_the_right_password_reaches_home(client, officer):
    response = log_in(client, officer)
    assert response.status_code == 302 and response.headers["Location"] == "/home"
    assert client.get("/home").status_code == 200
    assert events("auth.login")[-1].actor_id == officer.id


def test_login_starts_a_new_session(app, client, officer):
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "set before login"
    before = session_cookie(client)
    old_token = csrf_token(client, "/login")

    assert log_in(client, officer).status_code == 302

    after = session_cookie(client)
    assert after and after != before
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == officer.get_id()
    # The session fixed before login did not become a logged-in one ...
    assert is_sent_to_login(with_cookie(app, before).get("/home"))
    # ... and its CSRF token is worthless in the new session.
    response = client.post("/logout", data={"csrf_token": old_token})
    assert response.status_code == 400
    assert client.get("/home").status_code == 200


def test_session_cookie_is_http_only_and_same_site(client, officer):
    response = log_in(client, officer)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_is_refused_with_a_message_and_recorded(client, officer):
    response = log_in(client, officer, password="wrong-password-1")
    assert response.status_code == 401
    assert b"Wrong username or password" in response.data
    failed = events("auth.login_failed")
    assert len(failed) == 1 and failed[0].object_id == str(officer.id)
    assert is_sent_to_login(client.get("/home"))
    assert "wrong-password-1" not in (failed[0].object_label + (failed[0].after or ""))


def test_unknown_username_gets_the_same_answer_and_is_recorded(client, make):
    make.body()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "nobody", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 401 and b"Wrong username or password" in response.data
    assert events("auth.login_failed")[-1].object_label == "nobody"


def test_deactivated_user_cannot_log_in_with_the_right_password(client, make, officer):
    people.deactivate_user(officer, actor=make.user(Role.ADMIN), reason="调离")
    db.session.commit()
    response = log_in(client, officer)
    assert response.status_code == 401
    assert is_sent_to_login(client.get("/home"))


def test_username_is_matched_case_insensitively(client, make):
    user = make.user(Role.OFFICER, username="WangWu")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "wangwu", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and client.get("/home").status_code == 200
    assert events("auth.login")[-1].actor_id == user.id


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example/x", "https://evil.example/x",
                                    "/\t/evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, officer, target):
    token = csrf_token(client, "/login")
    response = client.post("/login", query_string={"next": target},
                           data={"username": officer.username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"


def test_login_follows_a_local_next(client, officer):
    token = csrf_token(client, "/login")
    response = client.post("/login", query_string={"next": "/cases/?stage=filing"},
                           data={"username": officer.username, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/cases/?stage=filing"


def test_the_eleventh_login_attempt_in_a_minute_is_refused(client, officer):
    token = csrf_token(client, "/login")
    for _ in range(10):
        response = client.post("/login", data={"username": officer.username, "password": "wrong-password-1",
                                               "csrf_token": token})
        assert response.status_code == 401
    response = client.post("/login", data={"username": officer.username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429
    assert is_sent_to_login(client.get("/home"))
    assert len(events("auth.login_failed")) == 10


def test_the_rate_limit_applies_to_posts_only(client, officer):
    token = csrf_token(client, "/login")
    for _ in range(10):
        client.post("/login", data={"username": officer.username, "password": "x-wrong-123", "csrf_token": token})
    assert client.get("/login").status_code == 200


def _eleven_attempts_from(client, officer, first: str, last: str) -> int:
    token = csrf_token(client, "/login")
    for _ in range(10):
        client.post("/login", data={"username": officer.username, "password": "x-wrong-123", "csrf_token": token},
                    headers={"X-Forwarded-For": first})
    return client.post("/login", data={"username": officer.username, "password": PASSWORD, "csrf_token": token},
                       headers={"X-Forwarded-For": last}).status_code


def test_behind_a_proxy_the_rate_limit_counts_each_client_address(database_url, tmp_path, officer):
    db.session.commit()
    proxied = make_app(database_url, tmp_path, PROXY_COUNT=1)
    with proxied.app_context():
        assert _eleven_attempts_from(proxied.test_client(), officer, "10.0.0.1", "10.0.0.2") == 302
        db.session.remove()


def test_without_a_proxy_a_forged_forwarded_for_does_not_escape_the_limit(client, officer):
    assert _eleven_attempts_from(client, officer, "10.0.0.1", "10.0.0.2") == 429


# --- sessions end on the server ------------------------------------------------------------------------

def test_logout_ends_the_session_on_the_server(app, client, officer):
    log_in(client, officer)
    copied = session_cookie(client)
    assert with_cookie(app, copied).get("/home").status_code == 200

    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/home")})
    assert is_sent_to_login(response)

    assert is_sent_to_login(client.get("/home"))
    assert is_sent_to_login(with_cookie(app, copied).get("/home"))
    assert events("user.logout")[-1].object_id == str(officer.id)


def test_logout_needs_a_post_with_a_csrf_token(app, client, officer):
    log_in(client, officer)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/home").status_code == 200


def test_deactivation_ends_every_session_at_once(app, client, make, officer):
    log_in(client, officer)
    copied = session_cookie(client)
    phone = english(app.test_client())
    log_in(phone, officer)

    people.deactivate_user(officer, actor=make.user(Role.ADMIN), reason="调离本镇")
    db.session.commit()

    assert is_sent_to_login(client.get("/home"))
    assert is_sent_to_login(phone.get("/home"))
    assert is_sent_to_login(with_cookie(app, copied).get("/home"))


def test_password_change_ends_other_sessions_but_keeps_this_one(app, client, officer):
    log_in(client, officer)
    copied = session_cookie(client)
    other_browser = english(app.test_client())
    log_in(other_browser, officer)
    assert other_browser.get("/home").status_code == 200

    token = csrf_token(client, "/account/password")
    response = client.post("/account/password", data={"current": PASSWORD, "new": "new-horse-battery-7",
                                                      "confirm": "new-horse-battery-7", "csrf_token": token})
    assert response.status_code == 302

    assert client.get("/home").status_code == 200
    assert is_sent_to_login(other_browser.get("/home"))
    assert is_sent_to_login(with_cookie(app, copied).get("/home"))
    # The new password works, the old one no longer does.
    fresh = english(app.test_client())
    assert log_in(fresh, officer).status_code == 401
    assert log_in(fresh, officer, password="new-horse-battery-7").status_code == 302


def test_password_change_with_a_wrong_current_password_changes_nothing(app, client, officer):
    log_in(client, officer)
    other_browser = english(app.test_client())
    log_in(other_browser, officer)
    token = csrf_token(client, "/account/password")
    response = client.post("/account/password", data={"current": "not-my-password-1", "new": "new-horse-battery-7",
                                                      "confirm": "new-horse-battery-7", "csrf_token": token})
    assert response.status_code == 200 and b"current password is wrong" in response.data
    assert other_browser.get("/home").status_code == 200


def test_password_change_refuses_a_weak_password_beside_the_field(client, officer):
    log_in(client, officer)
    token = csrf_token(client, "/account/password")
    response = client.post("/account/password", data={"current": PASSWORD, "new": "abcdefghijkl",
                                                      "confirm": "abcdefghijkl", "csrf_token": token})
    assert response.status_code == 200 and b"mix letters with digits" in response.data
    assert client.get("/home").status_code == 200


def test_an_old_session_cookie_expires(database_url, tmp_path, make, officer):
    short = make_app(database_url, tmp_path, PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    try:
        browser = english(short.test_client())
        assert log_in(browser, officer).status_code == 302
        copied = session_cookie(browser)
        assert browser.get("/home").status_code == 200
        time.sleep(2.2)
        # Sent again by a client that ignores the cookie's expiry: the server refuses it.
        assert is_sent_to_login(with_cookie(short, copied).get("/home"))
    finally:
        with short.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_tampered_session_cookie_is_refused(app, client, officer):
    log_in(client, officer)
    forged = URLSafeTimedSerializer("not-the-secret", salt="cookie-session", signer_kwargs={
        "key_derivation": "hmac", "digest_method": __import__("hashlib").sha1}).dumps(
        {"_user_id": officer.get_id(), "_fresh": True})
    assert is_sent_to_login(with_cookie(app, forged).get("/home"))


# --- CSRF on every state-changing route ------------------------------------------------------------------

def _placeholder(converter) -> object:
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, AnyConverter):
        return next(iter(converter.items)) if hasattr(converter, "items") else "1"
    if isinstance(converter, UUIDConverter):
        return "00000000-0000-0000-0000-000000000001"
    return "1"


def state_changing_routes(app, *, api: bool) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule accepting POST/PUT/PATCH/DELETE, ids filled with 1."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or (rule.endpoint.split(".")[0] == "api") != api:
            continue
        values = {name: _placeholder(conv) for name, conv in rule._converters.items()}
        _domain, path = rule.build(values, append_unknown=False)
        for method in sorted((rule.methods or set()) & STATE_CHANGING):
            found.append((rule.endpoint, method, path))
    return found


@pytest.fixture
def everyone(make):
    """A user with every role and data whose ids are 1, so an unprotected route would act."""
    team = make.team()
    make.case(team, approve=True)
    make.case(team)
    people.create_api_token(team["officer"], actor=team["officer"], name="手机")
    db.session.commit()
    return make.user(Role.ADMIN, Role.HEAD, Role.OFFICER, Role.AUDITOR, Role.REVIEWER, body=team["body"])


def _forged_tokens(app) -> dict[str, dict]:
    """Ways an attacker's page might fill the token: none, garbage, signed with another key,
    a real token of another session."""
    other_session = english(app.test_client())
    foreign = csrf_token(other_session, "/login")
    wrong_key = URLSafeTimedSerializer("attacker-key", salt="wtf-csrf-token").dumps("0" * 40)
    return {
        "missing": {},
        "garbage": {"csrf_token": "forged"},
        "wrong key": {"csrf_token": wrong_key},
        "another session": {"csrf_token": foreign},
        "header": {"_headers": {"X-CSRFToken": foreign}},
    }


# The upload protocol's views check the X-CSRFToken header themselves, after lifting the form-size
# limit for the streamed body (enforcement/views/records.py); the walk below proves they refuse.
SELF_CHECKED = {f"enforcement.views.records.{name}" for name in
                ("upload_begin", "upload_status", "upload_send", "upload_cancel", "keepalive")}


def test_no_route_outside_the_api_is_exempt_from_csrf(app):
    assert csrf._exempt_views == SELF_CHECKED, "a view was exempted from CSRF protection"
    assert {getattr(bp, "name", bp) for bp in csrf._exempt_blueprints} <= {"api"}
    assert app.config["WTF_CSRF_ENABLED"] is True


def test_the_walk_finds_the_known_state_changing_routes(app):
    endpoints = {endpoint for endpoint, _m, _u in state_changing_routes(app, api=False)}
    assert {"auth.login", "auth.logout", "auth.change_password", "auth.set_language"} <= endpoints


def test_every_state_changing_route_refuses_a_missing_or_forged_csrf_token(app, client, everyone):
    assert log_in(client, everyone).status_code == 302
    routes = state_changing_routes(app, api=False)
    variants = _forged_tokens(app)
    failures = []
    for endpoint, method, url in routes:
        for name, variant in variants.items():
            before = head_seq()
            variant = dict(variant)
            headers = variant.pop("_headers", {})
            data = {"reason": "x", "name": "x", "stage": "investigation", "user_id": "1", "next": "/home", **variant}
            response = client.open(url, method=method, data=data, headers=headers)
            after = head_seq()
            if response.status_code != 400 or CSRF_MESSAGE not in response.data or after != before:
                failures.append(f"{method} {url} ({endpoint}) with {name} token: {response.status_code}, "
                                f"audit head {before}->{after}")
    assert failures == []
    # Still logged in: the refusals did not end the session either.
    assert client.get("/home").status_code == 200


def test_the_recorded_reads_write_only_their_audit_event(app, make, everyone):
    from enforcement.extensions import db as database
    from tests.factories import AV_FIELDS, add_record

    team = make.team()
    case = make.case(team, approve=True)
    record = add_record(case, "audio_recording", **AV_FIELDS)
    client = app.test_client()
    assert log_in(client, team["auditor"]).status_code == 302
    for path in (f"/records/{record.id}", f"/records/{record.id}/file"):
        before = head_seq()
        assert client.get(path).status_code == 200
        assert head_seq() == before + 1, path
        database.session.rollback()
        last = database.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert last.action == "record.viewed" and last.actor_id == team["auditor"].id


def test_the_api_ignores_session_cookies(app, client, everyone):
    """The API is exempt from CSRF only because a cookie alone never authenticates there."""
    assert log_in(client, everyone).status_code == 302
    token = csrf_token(client, "/home")
    failures = []
    for endpoint, method, url in state_changing_routes(app, api=True):
        before = head_seq()
        response = client.open(url, method=method, json={"reason": "x"}, headers={"X-CSRFToken": token})
        if response.status_code != 401 or head_seq() != before:
            failures.append(f"{method} {url} ({endpoint}): {response.status_code}")
    assert failures == []


# Reads that are themselves recorded. A GET is not CSRF-protected, so it must never change state;
# a read logged on purpose is listed here by name: viewing or downloading a record (全过程记录),
# and its page when it shows an audio transcript. Only an audit event is written.
# Reads that are logged on purpose: record views, views of a party's personal data, case-file exports.
READS_THAT_RECORD: set[str] = {"records.file", "records.show", "cases.show", "api.case_detail", "disclosure.show",
                               "archive.export"}


def test_reading_pages_changes_nothing(app, client, everyone):
    """GET is safe: no page or API read writes to the audit trail (a state change would)."""
    assert log_in(client, everyone).status_code == 302
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in {"static", *READS_THAT_RECORD} or "GET" not in (rule.methods or set()):
            continue
        values = {name: _placeholder(conv) for name, conv in rule._converters.items()}
        _domain, path = rule.build(values, append_unknown=False)
        before = head_seq()
        response = client.get(path)
        if response.status_code >= 500 or head_seq() != before:
            failures.append(f"GET {path} ({rule.endpoint}): {response.status_code}")
    assert failures == []
