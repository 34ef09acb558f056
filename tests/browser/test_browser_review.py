"""The legal-review loop (issue 4) through the real pages, in Chromium: the officer submits, the
reviewer returns the case, the officer adds evidence and resubmits, the reviewer passes it, the
head records the collective discussion — a record added after the pass blocks the decision — and,
once reviewed again, the head signs the decision, whose Chinese PDF is kept as a record.
"""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from enforcement import sample_files
from tests.browser.conftest import log_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser, pytest.mark.real_pdf]

NOTE = "现场照片不足以证明建筑面积，请补充测量记录"


def _major_case_in_notice(make):
    """A demolition case (route planning: major) in the notice stage, notice served and statement recorded."""
    from enforcement.extensions import db
    from enforcement.models import Stage
    from enforcement.services import workflow

    team = make.team()
    case = make.case(team, approve=True)
    make.required_records(case, actor=team["officer"])
    workflow.advance(case, Stage.NOTICE, actor=team["officer"])
    db.session.commit()
    make.required_records(case, actor=team["officer"])
    make.notice(case, actor=team["officer"], hearing_offered=False)
    return {"id": case.id, "number": case.number, "officer": team["officer"].username,
            "reviewer": team["reviewer"].username, "head": team["head"].username}


def _add(case_id: int, type_code: str, *, by: str, **kw):
    """site.run: a record added through the upload services by the user of that name."""
    def add(make):
        from sqlalchemy import select

        from enforcement.extensions import db
        from enforcement.models import Case, User

        case = db.session.get(Case, case_id)
        actor = db.session.scalar(select(User).where(User.username == by))
        return make.record(case, type_code, actor=actor, **kw).id
    return add


def _submit(page, case_id: int) -> None:
    """The officer, on the case page, follows the submit link and signs the request."""
    page.goto(f"/cases/{case_id}")
    page.locator("#review").get_by_role("link", name=re.compile(r"^Submit for legal review")).click()
    page.wait_for_url(re.compile(rf"/cases/{case_id}/review/submit$"))
    assert page.get_by_label("Proposed decision", exact=True).input_value() == "demolition"  # prefilled from the notice
    page.get_by_label("Opinion of the handling unit (承办机构意见)").fill("事实清楚，证据充分，建议责令限期拆除")
    page.get_by_role("checkbox", name=re.compile(r"^I attest")).check()
    page.get_by_label("Your password (to sign)").fill(PASSWORD)
    page.get_by_role("button", name="Sign and submit for legal review").click()
    page.wait_for_url(re.compile(rf"/cases/{case_id}(#[\w-]+)?$"))
    assert "was submitted for legal review" in page.locator("body").inner_text()


def _review(page, number: str, *, outcome: str, problem: str | None = None) -> None:
    """The reviewer opens the case from the queue and signs the nine checks with the outcome."""
    page.goto("/reviews")
    page.locator("#queue").get_by_role("link", name=number).click()
    page.wait_for_url(re.compile(r"/reviews/\d+$"))
    rows = page.locator("#check-form tbody tr")
    assert rows.count() == 9
    for n in range(9):
        row = rows.nth(n)
        if problem and problem in row.locator("td").first.inner_text():
            row.get_by_label("problem").check()
            row.get_by_role("textbox").fill(NOTE)
        else:
            row.get_by_label("pass").check()
    page.get_by_label("Overall opinion (审核意见)").fill(
        "同意" if outcome == "passed" else "证据不足，请补充测量记录后重新提交")
    page.get_by_role("radio", name=re.compile(r"Pass \(同意\)" if outcome == "passed" else r"Return for correction")).check()
    page.get_by_role("checkbox", name=re.compile(r"no conflict of interest")).check()
    page.get_by_label("Your password (to sign)").fill(PASSWORD)
    page.get_by_role("button", name="Sign the review").click()
    page.wait_for_url(re.compile(r"/reviews/\d+$"))
    page.locator("#opinion").wait_for()
    assert "The review is signed" in page.locator("body").inner_text() or "The review passed" in \
        page.locator("body").inner_text()


def _discuss(page, case_id: int) -> None:
    """The head records the collective discussion with its uploaded minutes."""
    page.goto(f"/cases/{case_id}")
    page.get_by_role("link", name="Record a collective discussion").click()
    page.wait_for_url(re.compile(rf"/cases/{case_id}/discussion$"))
    page.get_by_label("Participants").fill("镇长 张某, 副镇长 李某, 司法所长 王某")
    page.get_by_label("Conclusion").fill("同意责令限期拆除")
    minutes = page.get_by_label("Record of the discussion (集体讨论记录)")
    if not minutes.input_value():  # two minutes on the case: the latest is the newest option
        minutes.select_option(index=minutes.locator("option").count() - 1)
    page.get_by_role("button", name="Record the discussion").click()
    page.wait_for_url(re.compile(rf"/cases/{case_id}(#[\w-]+)?$"))
    assert "The collective discussion of" in page.locator("body").inner_text()


def _stage(page) -> str:
    return page.locator("header h1 .stage").inner_text().strip()


def test_the_whole_review_loop_and_a_record_after_the_pass_blocks_the_decision(site, pages, tmp_path):
    from playwright.sync_api import expect  # imported here, as the fixtures do: no Playwright, no import error

    data = site.run(_major_case_in_notice)
    case_id, number = data["id"], data["number"]

    officer = pages.open()
    log_in(officer, data["officer"])
    reviewer = pages.open()
    log_in(reviewer, data["reviewer"])
    head = pages.open()
    log_in(head, data["head"])

    # 1. The officer submits; the case waits in the reviewer's queue.
    _submit(officer, case_id)
    assert _stage(officer) == "Legal review"

    # 2. The reviewer returns it with a problem on the evidence.
    _review(reviewer, number, outcome="returned", problem="Evidence lawful and sufficient")
    assert "returned for correction" in reviewer.locator("h1").inner_text()

    # 3. The officer sees it back in investigation, with the reviewer's reasons.
    officer.goto(f"/cases/{case_id}")
    assert _stage(officer) == "Investigation"
    returned = officer.locator("#review-returned")
    assert "Returned for correction by the legal review" in returned.inner_text()
    assert NOTE in officer.locator("#returned-problems").inner_text()
    assert "Evidence lawful and sufficient" in officer.locator("#returned-problems").inner_text()

    # ... adds a measurement photo through the upload page ...
    photo = tmp_path / "测量照片.jpg"
    photo.write_bytes(sample_files.jpeg(taken=datetime(2026, 11, 4, 10, 0, 0), latitude=25.04, longitude=102.71,
                                        color=(200, 60, 60)))
    records_before = officer.locator("#record-list tbody tr").count()
    officer.get_by_role("link", name="Add records").click()
    officer.select_option("#type_code", "site_photo")
    officer.set_input_files("#files", str(photo))
    officer.get_by_role("button", name="Upload").click()
    officer.locator("#upload-list li .state.ok a").wait_for()
    officer.get_by_role("link", name="Back to the case").click()
    officer.wait_for_url(re.compile(rf"/cases/{case_id}(#[\w-]+)?$"))
    assert officer.locator("#record-list tbody tr").count() == records_before + 1
    assert officer.locator("#record-list").get_by_text("测量照片.jpg").count() == 1

    # ... moves the case to notice again and resubmits.
    officer.locator("#next-step").get_by_role("button", name="Move to Notice").click()
    expect(officer.locator("header h1 .stage")).to_have_text("Notice")
    _submit(officer, case_id)

    # 4. The reviewer passes the new request (the dossier now holds the photo).
    _review(reviewer, number, outcome="passed")
    assert "passed" in reviewer.locator("h1").inner_text()
    assert "测量照片.jpg" in reviewer.locator("#covered").inner_text()

    # 5. The head records the collective discussion (its minutes uploaded first).
    site.run(_add(case_id, "collective_discussion", by=data["head"]))
    _discuss(head, case_id)

    # 6. Before the decision the officer adds one more photo: the review no longer matches.
    site.run(_add(case_id, "site_photo", by=data["officer"], filename="补拍照片.jpg",
                  content=sample_files.jpeg(taken=datetime(2026, 11, 5, 9, 0, 0), color=(10, 10, 200))))
    head.goto(f"/cases/{case_id}")
    assert head.locator("#review-stale").is_visible()
    head.goto(f"/cases/{case_id}/decision")
    assert "no longer matches the dossier" in head.locator("#unmet-decision").inner_text()
    head.get_by_label("How and by when it is to be carried out").fill("自收到本决定书之日起十五日内自行拆除")
    head.get_by_label("Your password (to sign)").fill(PASSWORD)
    head.get_by_role("button", name="Sign the decision").click()
    refused = head.locator("#unmet-decision")
    expect(refused).to_contain_text("The decision was refused")
    assert "no longer matches the dossier" in refused.inner_text()
    head.goto(f"/cases/{case_id}")
    assert "No decision yet." in head.locator("#decision").inner_text()
    assert _stage(head) == "Legal review"

    # 7. Resubmitted, passed again, discussed again: the head signs the decision.
    _submit(officer, case_id)
    _review(reviewer, number, outcome="passed")
    site.run(_add(case_id, "collective_discussion", by=data["head"], filename="集体讨论记录2.pdf"))
    _discuss(head, case_id)
    head.goto(f"/cases/{case_id}")
    head.locator("#next-step").get_by_role("link", name="Open the decision form").click()
    head.wait_for_url(re.compile(rf"/cases/{case_id}/decision$"))
    assert "Every condition is met" in head.locator("#unmet-decision").inner_text()
    head.get_by_label("How and by when it is to be carried out").fill("自收到本决定书之日起十五日内自行拆除")
    head.get_by_label("Your password (to sign)").fill(PASSWORD)
    head.get_by_role("button", name="Sign the decision").click()
    head.wait_for_url(re.compile(rf"/cases/{case_id}#decision$"))
    assert _stage(head) == "Decision"
    in_force = head.locator("#decision-in-force")
    assert "Demolition" in in_force.inner_text() or "demolition" in in_force.inner_text().lower()
    document = in_force.get_by_role("link", name=re.compile(r"\.pdf$"))
    assert document.count() == 1
    href = document.get_attribute("href")
    record_id = int(href.rstrip("/").rsplit("/", 1)[1])

    def pdf_of(make):
        from enforcement.extensions import db
        from enforcement.models import Record

        record = db.session.get(Record, record_id)
        return record.original_filename, record.content_type, record.size

    name, mime, size = site.run(pdf_of)
    assert name.endswith(".pdf") and mime == "application/pdf"
    assert size > 10_000  # the real renderer with the CJK font, not the small stand-in
    assert head.locator("#record-list").get_by_text(name).count() == 1
    assert pages.server_errors == []
