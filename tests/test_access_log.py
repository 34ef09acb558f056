"""Who looked: every view of a party's personal data and of audio/video evidence is logged, and the
auditors list them at /oversight/access.

Pages are read in English (Accept-Language: en).
"""
from __future__ import annotations

import html
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from enforcement.extensions import db
from enforcement.models import AuditEvent, Role
from enforcement.services import access, people, review
from enforcement.services.cases import PartyData
from enforcement.services.clock import local_today

ID_NUMBER = "110101199001011234"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def views(case=None) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).where(AuditEvent.action == access.PERSONAL_DATA_VIEWED).order_by(AuditEvent.id)
    if case is not None:
        query = query.where(AuditEvent.case_id == case.id)
    return list(db.session.scalars(query))


def log_table(page: str) -> str:
    return page.split('id="access-log"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]


@pytest.fixture
def case(make, team):
    return make.case(team, approve=True)


# --- what is logged -----------------------------------------------------------------------------

def test_the_officers_case_page_view_is_one_event_naming_the_screen(as_user, team, case):
    page = text(as_user(team["officer"]).get(f"/cases/{case.id}"))
    assert ID_NUMBER in page
    [event] = views(case)
    assert event.actor_id == team["officer"].id and event.object_type == "case" and event.object_id == str(case.id)
    assert json.loads(event.after) == {"where": "case page"} and event.body_id == case.body_id
    as_user(team["head"]).get(f"/cases/{case.id}")
    assert [e.actor_id for e in views(case)] == [team["officer"].id, team["head"].id]  # each view, each viewer


def test_a_masked_view_logs_nothing(make, as_user, team, case):
    county = make.body("青山县人民政府")
    team["body"].parent_id = county.id
    db.session.commit()
    bystander = make.user(Role.OFFICER, body=team["body"])  # of the body, not on the case
    for who in (team["auditor"], make.user(Role.AUDITOR, body=county), bystander):
        page = text(as_user(who).get(f"/cases/{case.id}"))
        assert case.number in page and ID_NUMBER not in page
    assert views() == []


def test_a_case_without_contact_data_shows_none_and_logs_none(make, as_user, team):
    bare = make.case(team, party=PartyData(kind="person", name="李四", id_number="", phone="", address=""))
    assert as_user(team["officer"]).get(f"/cases/{bare.id}").status_code == 200
    assert views() == []


def test_the_original_of_a_publication_is_logged_when_shown(make, team, as_user, without_record_rules):
    from tests.test_views_disclosure import decided

    pub = decided(make, team)
    before = len(views())
    assert ID_NUMBER not in text(as_user(team["auditor"]).get(f"/disclosure/{pub.id}"))
    assert len(views()) == before
    assert ID_NUMBER in text(as_user(team["reviewer"]).get(f"/disclosure/{pub.id}"))
    event = views()[-1]
    assert event.actor_id == team["reviewer"].id and json.loads(event.after) == {"where": "disclosure page"}
    assert len(views()) == before + 1


def test_an_api_read_is_logged_when_it_returns_the_data_unmasked(make, client, team, case):
    def read(user):
        _token, plain = people.create_api_token(user, actor=user, name="phone")
        db.session.commit()
        return client.get(f"/api/v1/cases/{case.id}", headers={"Authorization": f"Bearer {plain}"}).get_json()

    assert read(make.user(Role.OFFICER, body=team["body"]))["party"]["personal_data_visible"] is False
    assert views() == []
    assert read(team["officer"])["party"]["id_number"] == ID_NUMBER
    [event] = views()
    assert event.actor_id == team["officer"].id and json.loads(event.after) == {"where": "API case detail"}


def test_an_api_step_that_answers_with_the_data_unmasked_is_logged_too(make, client, team):
    """Approving a filing (or advancing, or filing) over the API answers with the case detail."""
    case = make.case(team)  # awaiting the head's approval
    _token, plain = people.create_api_token(team["head"], actor=team["head"], name="tablet")
    db.session.commit()
    response = client.post(f"/api/v1/cases/{case.id}/approve", json={"version": case.version},
                           headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200 and response.get_json()["party"]["id_number"] == ID_NUMBER
    [event] = views()
    assert event.actor_id == team["head"].id and json.loads(event.after) == {"where": "API case detail"}


def test_a_reviewer_who_read_the_case_page_may_still_review_it(as_user, team, case):
    as_user(team["reviewer"]).get(f"/cases/{case.id}")
    assert len(views(case)) == 1
    assert review.reviewer_problems(team["reviewer"], case) == []


def test_the_timeline_names_the_view_and_the_screen(as_user, team, case):
    as_user(team["officer"]).get(f"/cases/{case.id}")
    page = text(as_user(team["head"]).get(f"/cases/{case.id}"))
    timeline = page.split('id="timeline-title"', 1)[1]
    assert "Personal data viewed" in timeline and "the case page" in timeline


# --- the list -----------------------------------------------------------------------------------

def view_file(client, record):
    response = client.get(f"/records/{record.id}/file")
    assert response.status_code == 200
    response.close()


def test_a_video_view_is_listed_and_a_photo_view_only_under_all_record_views(make, as_user, team, case):
    video = make.record(case, "body_camera_video", filename="执法记录仪0815.mp4")
    audio = make.record(case, "audio_recording", filename="询问录音.mp3")
    photo = make.record(case, "site_photo", filename="东侧照片.jpg")
    officer = as_user(team["officer"])
    for record in (video, audio, photo):
        view_file(officer, record)
    officer.get(f"/records/{photo.id}/file?download=1").close()
    auditor = as_user(team["auditor"])
    listed = log_table(text(auditor.get("/oversight/access")))
    assert "执法记录仪0815.mp4" in listed and "Body camera video" in listed and "询问录音.mp3" in listed
    assert "东侧照片.jpg" not in listed
    assert team["officer"].name in listed and case.number in listed and f'href="/cases/{case.id}"' in listed
    everything = log_table(text(auditor.get("/oversight/access?kind=records")))
    assert "东侧照片.jpg" in everything and "Site photo" in everything and "downloaded" in everything
    assert "Personal data on" not in everything
    only_av = log_table(text(auditor.get("/oversight/access?kind=av")))
    assert "执法记录仪0815.mp4" in only_av and "东侧照片.jpg" not in only_av


def test_the_list_shows_who_saw_personal_data_on_which_screen(as_user, team, case):
    as_user(team["officer"]).get(f"/cases/{case.id}")
    listed = log_table(text(as_user(team["auditor"]).get("/oversight/access?kind=personal")))
    assert "Personal data on the case page" in listed and team["officer"].name in listed
    assert ID_NUMBER not in listed


def test_an_auditor_of_another_county_does_not_see_this_towns_events(make, as_user, team, case):
    county = make.body("青山县人民政府")
    team["body"].parent_id = county.id
    db.session.commit()
    as_user(team["officer"]).get(f"/cases/{case.id}")
    elsewhere = make.body("白水县人民政府")
    stranger = as_user(make.user(Role.AUDITOR, body=elsewhere))
    page = text(stranger.get("/oversight/access"))
    assert case.number not in log_table(page) and team["officer"].name not in log_table(page)
    assert case.number not in text(stranger.get(f"/oversight/access?case_id={case.id}"))
    above = text(as_user(make.user(Role.AUDITOR, body=county)).get("/oversight/access"))
    assert case.number in log_table(above)


def test_only_auditors_admins_and_the_head_read_it(make, as_user, team, case):
    as_user(team["officer"]).get(f"/cases/{case.id}")
    for who in ("officer", "reviewer"):
        client = as_user(team[who])
        assert client.get("/oversight/access").status_code == 403, who
        assert "/oversight/access" not in text(client.get("/home")), who
        assert 'id="who-looked"' not in text(client.get(f"/cases/{case.id}")), who
    for who in ("auditor", "admin", "head"):
        response = as_user(team[who]).get("/oversight/access")
        assert response.status_code == 200 and case.number in log_table(text(response)), who
    assert f'href="/oversight/access?case_id={case.id}"' in text(as_user(team["auditor"]).get(f"/cases/{case.id}"))
    other = make.team()  # a head sees the own body's cases only
    assert case.number not in log_table(text(as_user(other["head"]).get("/oversight/access")))


def test_anonymous_readers_are_sent_to_the_login(client):
    response = client.get("/oversight/access")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_filters_narrow_by_case_user_kind_and_dates(make, as_user, team, case):
    second = make.case(team, approve=True)
    video = make.record(second, "body_camera_video", filename="第二案视频.mp4")
    as_user(team["officer"]).get(f"/cases/{case.id}")
    as_user(team["head"]).get(f"/cases/{second.id}")
    view_file(as_user(team["officer2"]), video)
    auditor = as_user(team["auditor"])

    def rows(**args):
        return log_table(text(auditor.get("/oversight/access", query_string=args)))

    everything = rows()
    assert case.number in everything and second.number in everything and "第二案视频.mp4" in everything
    by_case = rows(case=second.number)
    assert case.number not in by_case and second.number in by_case
    by_id = rows(case_id=case.id)
    assert case.number in by_id and second.number not in by_id
    by_user = rows(user=team["officer2"].id)
    assert "第二案视频.mp4" in by_user and "Personal data" not in by_user
    personal = rows(kind="personal")
    assert "第二案视频.mp4" not in personal and "Personal data on the case page" in personal
    today = local_today()
    assert case.number in rows(since=today.isoformat(), until=today.isoformat())
    assert 'id="nothing"' in rows(since=(today + timedelta(days=1)).isoformat())
    assert 'id="nothing"' in rows(until=(today - timedelta(days=1)).isoformat())
    reversed_dates = auditor.get("/oversight/access", query_string={"since": today.isoformat(),
                                                                   "until": (today - timedelta(days=3)).isoformat()})
    assert reversed_dates.status_code == 200 and "comes before its start" in text(reversed_dates)
    assert auditor.get("/oversight/access?kind=nonsense&user=abc&since=yesterday").status_code == 200


def test_the_page_renders_with_no_events(as_user, team):
    response = as_user(team["auditor"]).get("/oversight/access")
    assert response.status_code == 200
    page = text(response)
    assert 'id="nothing"' in page and "Nobody has looked" in page and "Who looked" in page
    assert 'role="alert"' not in page  # no filter is wrong when none is given


def test_the_service_pages_newest_first(make, team, case):
    for _ in range(3):
        assert access.log_personal_data_view(team["officer"], case, access.CASE_PAGE)
    assert not access.log_personal_data_view(team["auditor"], case, access.CASE_PAGE)
    db.session.commit()
    scope = access.audit_scope(team["auditor"])
    first = access.access_events(scope, page=1, per_page=2)
    second = access.access_events(scope, page=2, per_page=2)
    assert first.has_next and not first.has_prev and not second.has_next and second.has_prev
    ids = [r.id for r in first.rows + second.rows]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    assert access.access_events(set()).rows == []
    assert access.audit_scope(team["officer"]) == set() and access.audit_scope(team["head"]) == {team["body"].id}
