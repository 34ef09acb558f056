"""Records over HTTP: the upload protocol (page script and API), the record page, viewing with ranges.

Pages are read in English (Accept-Language: en).
"""
from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from sqlalchemy import select

from enforcement import sample_files
from enforcement.extensions import db
from enforcement.models import AuditEvent, Record, Upload
from enforcement.services import people
from tests.conftest import csrf_token
from tests.factories import AV_FIELDS, PASSWORD


@pytest.fixture
def case(make, team):
    return make.case(team, approve=True)


@pytest.fixture
def as_user(app):
    def login(user):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302
        client.csrf = csrf_token(client, "/home")
        return client
    return login


def begin(client, case, content: bytes, filename="现场.jpg", type_code="site_photo", **fields):
    return client.post(f"/cases/{case.id}/uploads", headers={"X-CSRFToken": client.csrf},
                       json={"filename": filename, "size": len(content), "type_code": type_code, **fields})


def put(client, upload_id: str, body, offset: int = 0, **kw):
    return client.put(f"/uploads/{upload_id}?offset={offset}", data=body,
                      headers={"X-CSRFToken": client.csrf, "Content-Type": "application/octet-stream",
                               **kw.pop("headers", {})}, **kw)


def upload(client, case, content: bytes, **kw):
    started = begin(client, case, content, **kw)
    assert started.status_code == 201, started.get_json()
    return put(client, started.get_json()["id"], content)


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- the protocol ----------------------------------------------------------------------------------

def test_an_officer_uploads_a_photo_and_the_record_appears_on_the_case(as_user, team, case):
    client = as_user(team["officer"])
    photo = sample_files.jpeg()
    response = upload(client, case, photo)
    assert response.status_code == 201
    body = response.get_json()
    assert body["sha256"] == hashlib.sha256(photo).hexdigest() and body["size"] == len(photo)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "现场.jpg" in page and body["sha256"][:12] in page
    record_page = client.get(body["url"]).get_data(as_text=True)
    assert body["sha256"] in record_page and "image/jpeg" in record_page


def test_a_body_larger_than_the_form_limit_streams_through(as_user, team, case, app):
    app.config["UPLOAD_PART_BYTES"] = 1024 * 1024
    client = as_user(team["officer"])
    clip = sample_files.mp4(3 * 1024 * 1024 + 17)  # above MAX_FORM_BYTES (2 MiB)
    response = upload(client, case, clip, filename="DSJ0001.mp4", type_code="body_camera_video", **AV_FIELDS)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["sha256"] == hashlib.sha256(clip).hexdigest()


def test_a_chunked_body_without_content_length_works(as_user, team, case):
    client = as_user(team["officer"])
    photo = sample_files.jpeg()
    started = begin(client, case, photo).get_json()

    from werkzeug.test import EnvironBuilder, run_wsgi_app

    environ = EnvironBuilder(path=f"/uploads/{started['id']}", query_string={"offset": 0}, method="PUT",
                             headers={"X-CSRFToken": client.csrf, "Transfer-Encoding": "chunked",
                                      "Accept-Language": "en"},
                             input_stream=io.BytesIO(photo)).get_environ()
    environ.pop("CONTENT_LENGTH", None)  # a chunked body: the server knows no length
    environ["wsgi.input_terminated"] = True  # what gunicorn and werkzeug's server set for chunked bodies
    environ["HTTP_COOKIE"] = f"session={client.get_cookie('session').value}"
    app_iter, status, _headers = run_wsgi_app(client.application, environ, buffered=True)
    answer = json.loads(b"".join(app_iter))
    assert status.startswith("201"), answer
    assert answer["sha256"] == hashlib.sha256(photo).hexdigest()


def test_without_the_csrf_token_nothing_starts(as_user, team, case):
    client = as_user(team["officer"])
    photo = sample_files.jpeg()
    response = client.post(f"/cases/{case.id}/uploads", json={"filename": "a.jpg", "size": len(photo),
                                                                 "type_code": "site_photo"})
    assert response.status_code == 400
    assert db.session.scalar(select(Upload.id)) is None


def test_a_logged_out_client_gets_a_json_401(app, case):
    response = app.test_client().get("/uploads/abc")
    assert response.status_code == 401 and "error" in response.get_json()


def test_a_refusal_is_json_with_a_message_and_nothing_is_stored(as_user, team, case, app):
    client = as_user(team["officer"])
    exe = b"MZ" + bytes(3000)
    started = begin(client, case, exe, filename="photo.jpg").get_json()
    response = put(client, started["id"], exe)
    assert response.status_code == 400
    assert "program" in response.get_json()["error"]
    assert db.session.scalar(select(Record.id)) is None
    assert list(app.extensions["object_store"].list_keys("cases/")) == []


def test_a_reviewer_cannot_upload(as_user, team, case):
    response = begin(as_user(team["reviewer"]), case, sample_files.jpeg())
    assert response.status_code == 403 and response.get_json()["error"]


def test_another_users_upload_is_not_found(as_user, team, case):
    started = begin(as_user(team["officer"]), case, sample_files.jpeg()).get_json()
    other = as_user(team["officer2"])
    assert other.get(f"/uploads/{started['id']}").status_code == 404
    assert put(other, started["id"], b"x").status_code == 404


def test_wrong_offset_is_409_with_the_right_one_and_status_tells_where_to_resume(as_user, team, case):
    client = as_user(team["officer"])
    photo = sample_files.jpeg()
    started = begin(client, case, photo).get_json()
    assert client.get(f"/uploads/{started['id']}").get_json() == {"offset": 0, "size": len(photo)}
    response = put(client, started["id"], photo[10:], offset=10)
    assert response.status_code == 409 and response.get_json()["offset"] == 0


def test_cancel_removes_the_upload(as_user, team, case):
    client = as_user(team["officer"])
    started = begin(client, case, sample_files.jpeg()).get_json()
    response = client.delete(f"/uploads/{started['id']}", headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 204
    assert client.get(f"/uploads/{started['id']}").status_code == 404


def test_store_down_gives_503_and_the_upload_stays_resumable(as_user, team, case, app, monkeypatch):
    from storage import StorageError

    client = as_user(team["officer"])
    photo = sample_files.jpeg()
    started = begin(client, case, photo).get_json()
    store_class = type(app.extensions["object_store"])
    real = store_class.start_upload
    monkeypatch.setattr(store_class, "start_upload", lambda *a, **k: (_ for _ in ()).throw(StorageError("down")))
    response = put(client, started["id"], photo)
    assert response.status_code == 503 and "not reachable" in response.get_json()["error"]
    assert db.session.scalar(select(Record.id)) is None
    monkeypatch.setattr(store_class, "start_upload", real)
    assert put(client, started["id"], photo).status_code == 201


# --- the case page, the record page and the file -----------------------------------------------------

def test_the_case_page_shows_the_checklist_and_still_renders_with_the_store_down(as_user, team, case, app,
                                                                                    monkeypatch, make):
    from storage import StorageError

    make.record(case, "site_photo")
    client = as_user(team["officer"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="checklist"' in page and "missing" in page and "present" in page
    store_class = type(app.extensions["object_store"])
    monkeypatch.setattr(store_class, "ping", lambda self: (_ for _ in ()).throw(StorageError("down")))
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "not reachable" in text and "unavailable" in text


def test_the_next_step_names_the_missing_records_until_they_are_uploaded(as_user, team, case, make):
    client = as_user(team["officer"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Missing record before leaving Investigation: Site photo" in page
    make.required_records(case)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Missing record before leaving" not in page


def test_the_file_is_served_inline_safely_and_each_viewing_is_one_audit_event(as_user, team, case, make):
    record = make.record(case, "site_photo")
    client = as_user(team["auditor"])
    response = client.get(f"/records/{record.id}/file")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(events("record.viewed")) == 1
    part = client.get(f"/records/{record.id}/file", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and len(part.data) == 10
    assert part.headers["Content-Range"] == f"bytes 10-19/{record.size}"
    assert len(events("record.viewed")) == 1  # seeking is not a new viewing
    download = client.get(f"/records/{record.id}/file?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert len(events("record.downloaded")) == 1


def test_a_range_outside_the_file_is_416(as_user, team, case, make):
    record = make.record(case, "site_photo")
    response = as_user(team["officer"]).get(f"/records/{record.id}/file", headers={"Range": f"bytes={10**9}-"})
    assert response.status_code == 416


def test_records_of_another_body_are_not_found(as_user, make, case):
    record = make.record(case, "site_photo")
    stranger = make.team()["officer"]
    client = as_user(stranger)
    assert client.get(f"/records/{record.id}").status_code == 404
    assert client.get(f"/records/{record.id}/file").status_code == 404


def test_a_corrected_record_stays_visible_marked_with_its_correction(as_user, team, case, make):
    old = make.record(case, "site_photo", filename="旧照片.jpg")
    new = make.record(case, "site_photo", filename="新照片.jpg", supersedes_id=old.id,
                      supersede_reason="拍错了地块")
    client = as_user(team["officer"])
    old_page = client.get(f"/records/{old.id}").get_data(as_text=True)
    assert f"corrected by record {new.id}" in old_page and "拍错了地块" in old_page
    case_page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "旧照片.jpg" in case_page and "新照片.jpg" in case_page and 'class="superseded"' in case_page


def test_the_upload_page_offers_the_types_and_needs_javascript(as_user, team, case):
    page = as_user(team["officer"]).get(f"/cases/{case.id}/records/new").get_data(as_text=True)
    assert "upload.js" in page and 'value="site_photo"' in page and "<noscript>" in page


# --- the API -------------------------------------------------------------------------------------

def test_the_api_speaks_the_same_protocol_with_a_bearer_token(app, team, case):
    _, token = people.create_api_token(team["officer"], actor=team["officer"], name="执法终端")
    db.session.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    photo = sample_files.jpeg()
    started = client.post(f"/api/v1/cases/{case.id}/uploads", headers=auth,
                          json={"filename": "a.jpg", "size": len(photo), "type_code": "site_photo"})
    assert started.status_code == 201, started.get_json()
    upload_id = started.get_json()["id"]
    done = client.put(f"/api/v1/uploads/{upload_id}?offset=0", data=photo, headers=auth)
    assert done.status_code == 201
    listed = client.get(f"/api/v1/cases/{case.id}/records", headers=auth).get_json()
    assert [r["sha256"] for r in listed["items"]] == [hashlib.sha256(photo).hexdigest()]
    assert any(i["type"] == "site_photo" and i["met"] for i in listed["checklist"])
    assert re.fullmatch(r"[0-9a-f]{32}", upload_id)


def test_the_timeline_tells_a_record_in_words(as_user, team, case, make):
    record = make.record(case, "site_photo", filename="东村北侧.jpg")
    page = as_user(team["officer"]).get(f"/cases/{case.id}").get_data(as_text=True)
    timeline = page[page.index('id="timeline-title"'):]
    assert "Record added" in timeline and "东村北侧.jpg" in timeline and "Site photo" in timeline
    assert record.sha256 in timeline
    assert "content type" not in timeline and "storage key" not in timeline


def test_no_range_trick_reads_a_record_unrecorded(as_user, team, case, make):
    record = make.record(case, "site_photo")
    client = as_user(team["auditor"])
    assert client.get(f"/records/{record.id}/file", headers={"Range": "bytes=00-"}).status_code == 206
    assert len(events("record.viewed")) == 1
    other = as_user(team["head"])
    assert other.get(f"/records/{record.id}/file", headers={"Range": "bytes=1-"}).status_code == 206
    assert len(events("record.viewed")) == 2  # a first request mid-file is a viewing too
    assert other.get(f"/records/{record.id}/file", headers={"Range": "bytes=100-"}).status_code == 206
    assert len(events("record.viewed")) == 2  # the same viewing going on


def test_the_upload_details_keep_the_form_limit_only_the_file_gets_more(as_user, team, case):
    client = as_user(team["officer"])
    big = b'{"filename": "a.jpg", "size": 10, "type_code": "site_photo", "description": "' + b"a" * (
        3 * 1024 * 1024) + b'"}'  # above MAX_FORM_BYTES (2 MiB)
    response = client.post(f"/cases/{case.id}/uploads", data=big,
                           headers={"X-CSRFToken": client.csrf, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert db.session.scalar(select(Upload.id)) is None


def test_an_id_too_large_for_the_database_is_not_found(as_user, team, case):
    client = as_user(team["officer"])
    for path in (f"/records/{10 ** 12}", f"/records/{10 ** 12}/file", f"/cases/{10 ** 12}",
                 f"/cases/{10 ** 12}/records/new"):
        assert client.get(path).status_code == 404, path
