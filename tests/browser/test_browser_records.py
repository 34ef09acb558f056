"""Officers uploading evidence through the real upload page; auditors viewing it."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from enforcement import sample_files
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]


def _case(make):
    team = make.team()
    case = make.case(team, approve=True)
    return {"officer": team["officer"].username, "auditor": team["auditor"].username, "id": case.id}


def test_officer_uploads_several_photos_at_once_and_the_checklist_turns_green(site, pages, tmp_path):
    data = site.run(_case)
    files = []
    for n in range(3):
        path = tmp_path / f"现场照片{n}.jpg"
        path.write_bytes(sample_files.jpeg(taken=datetime(2026, 11, 3, 9, n, 0), latitude=25.04, longitude=102.71,
                                           color=(40 * n, 120, 90)))
        files.append(str(path))
    page = pages.open()
    log_in(page, data["officer"])
    page.goto(f"/cases/{data['id']}")
    assert page.locator("#checklist tr.unmet").filter(has_text="Site photo").count() == 1
    page.get_by_role("link", name="Add records").click()
    page.select_option("#type_code", "site_photo")
    page.set_input_files("#files", files)
    page.get_by_role("button", name="Upload").click()
    rows = page.locator("#upload-list li")
    for n in range(3):
        row = rows.nth(n)
        row.locator(".state.ok a").wait_for()
        assert row.locator("progress").get_attribute("value") == row.locator("progress").get_attribute("max")
    page.get_by_role("link", name="Back to the case").click()
    assert page.locator("#checklist tr.met").filter(has_text="Site photo").count() == 1
    assert page.locator("#record-list tbody tr").count() == 3
    assert pages.server_errors == []


def test_a_disguised_program_is_refused_on_the_page_with_its_reason(site, pages, tmp_path):
    data = site.run(_case)
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"MZ\x90\x00" + bytes(4000))
    page = pages.open()
    log_in(page, data["officer"])
    page.goto(f"/cases/{data['id']}/records/new")
    page.select_option("#type_code", "site_photo")
    page.set_input_files("#files", str(fake))
    page.get_by_role("button", name="Upload").click()
    refused = page.locator("#upload-list .state.bad")
    refused.wait_for()
    assert "program" in refused.inner_text()
    page.goto(f"/cases/{data['id']}")
    assert "No records yet." in page.locator("#records").inner_text()


def test_video_type_asks_for_how_by_whom_and_what_it_proves(site, pages):
    data = site.run(_case)
    page = pages.open()
    log_in(page, data["officer"])
    page.goto(f"/cases/{data['id']}/records/new")
    assert page.locator("#av-fields").is_hidden()
    page.select_option("#type_code", "body_camera_video")
    assert page.locator("#av-fields").is_visible()
    assert page.locator("#transcript-field").is_hidden()
    page.select_option("#type_code", "audio_recording")
    assert page.locator("#transcript-field").is_visible()


def test_auditor_opens_a_record_and_sees_the_photo_and_its_facts(site, pages):
    def setup(make):
        data = _case(make)
        from enforcement.models import Case
        from enforcement.extensions import db

        case = db.session.get(Case, data["id"])
        record = make.record(case, "site_photo", content=sample_files.jpeg(taken=datetime(2026, 11, 3, 9, 41, 5)),
                             filename="东村北侧.jpg")
        return {**data, "record": record.id, "sha": record.sha256}

    data = site.run(setup)
    page = pages.open()
    log_in(page, data["auditor"])
    page.goto(f"/cases/{data['id']}")
    page.get_by_role("link", name="东村北侧.jpg").click()
    page.wait_for_url(re.compile(rf"/records/{data['record']}$"))
    image = page.locator("img.record-image")
    image.wait_for()
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) > 0
    assert data["sha"] in page.locator(".facts").inner_text()
    assert "2026-11-03 09:41:05" in page.locator(".facts").inner_text()
    assert pages.server_errors == []
