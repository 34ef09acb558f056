"""Publication after the decision (行政执法公示) through the real pages, in Chromium: the officer opens
a draft from the disclosure list, reads the original beside the masked copy, corrects the masked
copy, publishes it and the public page shows the corrected text without the party's data; the head
holds another case back with a reason, which the list then shows.
"""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

ID_NUMBER = "110101199001011234"
PHONE = "13800138000"
CORRECTION = "（经承办人复核，已隐去个人信息）"


def _two_decided_cases(make):
    """Two fine decisions of today (not major), each with its masked draft; no record rules in the way."""
    from datetime import timedelta

    from sqlalchemy import text

    from enforcement.extensions import db
    from enforcement.models import Stage
    from enforcement.services import disclosure, workflow
    from enforcement.services.clock import local_today

    db.session.execute(text("DELETE FROM record_requirements"))  # the completeness rules have their own tests
    db.session.commit()
    team = make.team()
    today = local_today()
    made = []
    for _ in range(2):
        matter = make.matter(team["body"], route=None, name="一般处罚事项")
        case = make.case(team, approve=True, matter=matter, filed_on=today - timedelta(days=20))
        workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=today)
        db.session.commit()
        make.notice(case, decision_type="fine", fine_amount="5000", served_on=today - timedelta(days=10), today=today)
        make.decide(case, team, today=today)
        pub = disclosure.publications_of(case)[0]
        made.append({"id": pub.id, "number": pub.document_number, "title": pub.title})
    return {"pubs": made, "officer": team["officer"].username, "head": team["head"].username}


def test_the_officer_corrects_and_publishes_and_the_head_holds_another_back(site, pages):
    from playwright.sync_api import expect

    data = site.run(_two_decided_cases)
    first, second = data["pubs"]

    officer = pages.open()
    log_in(officer, data["officer"])
    officer.get_by_role("navigation", name="Main").get_by_role("link", name="Disclosure", exact=True).click()
    officer.wait_for_url(re.compile(r"/disclosure/$"))
    row = officer.locator("tr.pub-row", has_text=first["number"]).first
    expect(row).to_contain_text("Draft")
    row.get_by_role("link", name=first["title"]).click()
    officer.wait_for_url(re.compile(rf"/disclosure/{first['id']}$"))

    # The original (restricted) on one side, the masked copy on the other.
    original = officer.locator("#original")
    expect(original).to_contain_text(ID_NUMBER)
    expect(original).to_contain_text("张三")
    box = officer.get_by_label("Text to publish (masked copy)")
    masked = box.input_value()
    assert "张某" in masked and ID_NUMBER not in masked and PHONE not in masked
    assert officer.locator("#masked").bounding_box()["x"] > original.bounding_box()["x"]  # side by side
    expect(officer.locator("#changes")).to_contain_text(ID_NUMBER)
    screenshot(officer, "disclosure-draft")

    # A slip is caught before it is saved: the check names what the typed text still holds.
    box.fill(masked + f"\n联系电话{PHONE}")
    officer.get_by_role("button", name="Check without saving").click()
    expect(officer.locator("#leaks")).to_contain_text("phone number (ending …8000)")

    # The correction, saved, then published.
    officer.get_by_label("Text to publish (masked copy)").fill(masked + "\n" + CORRECTION)
    officer.get_by_role("button", name="Save", exact=True).click()
    officer.wait_for_url(re.compile(rf"/disclosure/{first['id']}$"))
    expect(officer.locator(".flashes")).to_contain_text("The masked copy is saved")
    expect(officer.locator("#gate")).to_contain_text("Every condition is met")
    officer.get_by_role("button", name="Publish this text").click()
    officer.wait_for_url(re.compile(rf"/disclosure/{first['id']}$"))
    expect(officer.locator(".flashes")).to_contain_text("Published on")
    expect(officer.locator("h1 .pub-status")).to_have_text("Published")
    expect(officer.locator("#deadline")).to_contain_text("in time")

    # The public page of the notice shows the corrected text and none of the party's data.
    public = officer.locator("#public-link")
    if public.count():
        public.click()
        officer.wait_for_url(re.compile(rf"/public/decisions/{first['id']}$"))
        body = officer.locator("body").inner_text()
        assert CORRECTION in body and ID_NUMBER not in body and PHONE not in body and "张三" not in body

    # The head holds the other case back, with a reason and an explanation.
    head = pages.open()
    log_in(head, data["head"])
    head.goto(f"/disclosure/{second['id']}")
    form = head.locator("#hold-form")
    form.get_by_label("Why it is not published").select_option("privacy")
    form.get_by_label("Explanation (kept and shown to auditors)").fill("主要事实涉及当事人家庭隐私")
    form.get_by_role("button", name="Hold back").click()
    head.wait_for_url(re.compile(rf"/disclosure/{second['id']}$"))
    expect(head.locator("h1 .pub-status")).to_have_text("Held back")
    expect(head.locator("#hold-reason")).to_contain_text("The main facts are personal privacy")
    head.goto("/disclosure/")
    expect(head.locator("#held")).to_contain_text("主要事实涉及当事人家庭隐私")
    expect(head.locator("#published")).to_contain_text(first["number"])
    screenshot(head, "disclosure-list")
