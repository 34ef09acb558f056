"""Officers, the head and the auditor working on cases through the real pages."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.browser.conftest import case_count, log_in

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

CASE_NUMBER = re.compile(r"\S+罚〔\d{4}〕\d+号")


def _filing_team(make):
    """A body with its team and one matter of the planning route; plain values for the browser."""
    team = make.team()
    matter = make.matter(team["body"])
    return {
        "body_short": team["body"].short_name,
        "officer": team["officer"].username, "officer_name": team["officer"].name,
        "officer2_id": team["officer2"].id, "officer2_name": team["officer2"].name,
        "officer_id": team["officer"].id,
        "head": team["head"].username, "auditor": team["auditor"].username,
        "matter_id": matter.id,
    }


def _fill_filing_form(page, data, *, officers: list[int]) -> None:
    page.goto("/cases/new")
    page.select_option("#source", "grid_patrol")
    page.fill("#source_detail", "网格员巡查发现")
    page.select_option("#matter", str(data["matter_id"]))
    page.check("input[name=route][value=planning]")
    page.fill("#party_name", "李四")
    page.fill("#party_id_number", "110101199001011234")
    page.fill("#party_phone", "13800138000")
    page.fill("#party_address", "永平镇西村2号")
    page.fill("#village", "西村")
    page.fill("#place_detail", "西村小学东侧")
    page.fill("#summary", "未取得乡村建设规划许可证建设住房两层")
    today = date.today()
    page.fill("#act_began_on", (today - timedelta(days=30)).isoformat())
    page.fill("#discovered_on", (today - timedelta(days=2)).isoformat())
    page.fill("#filed_on", today.isoformat())
    # The officers are checkboxes: tick exactly the ones given (the filing officer is ticked by default).
    wanted = {str(i) for i in officers}
    boxes = page.locator("#officers input[type=checkbox][name=officers]")
    for i in range(boxes.count()):
        box = boxes.nth(i)
        box.set_checked(box.get_attribute("value") in wanted)


def test_officer_files_a_case_with_two_officers_and_lands_on_its_page(site, pages):
    data = site.run(_filing_team)
    page = pages.open()
    log_in(page, data["officer"])

    page.get_by_role("navigation").get_by_role("link", name="File a case").click()
    page.wait_for_url(re.compile(r"/cases/new$"))
    _fill_filing_form(page, data, officers=[data["officer_id"], data["officer2_id"]])
    # Each box is labelled by the officer's name, within the group named by the field.
    group = page.get_by_role("group", name="Officers (承办人)")
    assert group.get_by_role("checkbox", name=data["officer_name"]).is_checked()
    assert group.get_by_role("checkbox", name=data["officer2_name"]).is_checked()
    page.get_by_role("button", name="File the case").click()

    page.wait_for_url(re.compile(r"/cases/\d+$"))
    heading = page.locator("main h1").inner_text()
    number = CASE_NUMBER.search(heading)
    assert number, heading
    assert number.group(0).startswith(data["body_short"] + "罚〔")
    assert f"〔{date.today().year}〕" in number.group(0)
    assert "Filing" in page.locator("main h1 .stage").inner_text()
    assert number.group(0) in page.locator(".flash-success").inner_text()
    officers = page.locator("section[aria-labelledby=officers-title]").inner_text()
    assert data["officer_name"] in officers and data["officer2_name"] in officers
    assert "西村" in page.locator("main").inner_text()


def test_filing_with_one_officer_lists_the_unmet_conditions_and_keeps_the_input(site, pages):
    data = site.run(_filing_team)
    page = pages.open()
    log_in(page, data["officer"])

    _fill_filing_form(page, data, officers=[data["officer_id"]])
    page.get_by_role("button", name="File the case").click()
    page.wait_for_load_state()

    assert re.search(r"/cases/new$", page.url)
    unmet = page.locator("#unmet")
    assert "cannot be filed" in unmet.inner_text()
    items = unmet.locator("ul.unmet li")
    assert items.count() >= 1
    assert any("At least two officers" in item for item in items.all_inner_texts()), items.all_inner_texts()
    # Nothing the officer typed is lost.
    assert page.input_value("#party_name") == "李四"
    assert page.input_value("#village") == "西村"
    assert page.input_value("#summary") == "未取得乡村建设规划许可证建设住房两层"
    assert page.input_value("#matter") == str(data["matter_id"])
    assert page.is_checked("input[name=route][value=planning]")
    chosen = page.eval_on_selector_all("#officers input[name=officers]:checked", "boxes => boxes.map(b => b.value)")
    assert chosen == [str(data["officer_id"])]
    # And no case was filed.
    assert site.run(lambda make: case_count()) == 0


def test_on_a_phone_officers_are_chosen_by_tapping_their_names(site, pages):
    data = site.run(_filing_team)
    page = pages.open(phone=True)
    log_in(page, data["officer"])
    page.goto("/cases/new")

    group = page.get_by_role("group", name="Officers (承办人)")
    second = group.get_by_role("checkbox", name=data["officer2_name"])
    assert group.get_by_role("checkbox", name=data["officer_name"]).is_checked()  # the filing officer
    assert not second.is_checked()
    group.locator("label", has_text=data["officer2_name"]).tap()  # the whole label is the target
    assert second.is_checked()
    checklist = page.locator("#officers").bounding_box()
    viewport = page.evaluate("() => window.innerWidth")
    assert checklist["x"] >= 0 and checklist["x"] + checklist["width"] <= viewport + 1, checklist


def test_head_approves_a_filing_awaiting_on_the_home_page(site, pages):
    def setup(make):
        team = make.team()
        case = make.case(team, approve=False)
        return {"head": team["head"].username, "number": case.number, "id": case.id}

    data = site.run(setup)
    page = pages.open()
    log_in(page, data["head"])

    panel = page.locator("section.card", has=page.get_by_role("heading", name="Filings awaiting your approval"))
    panel.get_by_role("link", name=data["number"]).click()
    page.wait_for_url(re.compile(rf"/cases/{data['id']}$"))
    assert "Filing" in page.locator("main h1 .stage").inner_text()
    assert "Every condition of filing is met" in page.locator("#next-step").inner_text()

    page.get_by_role("button", name="Approve the filing").click()
    page.wait_for_url(re.compile(rf"/cases/{data['id']}$"))
    assert "approved" in page.locator(".flash-success").inner_text()
    assert page.locator("main h1 .stage").inner_text().strip() == "Investigation"
    # The home page no longer lists it as awaiting approval.
    page.get_by_role("navigation").get_by_role("link", name="Home").click()
    panel = page.locator("section.card", has=page.get_by_role("heading", name="Filings awaiting your approval"))
    assert data["number"] not in panel.inner_text()


def test_major_case_at_notice_shows_decision_disabled_with_the_unmet_reason(site, pages):
    def setup(make):
        from enforcement.services import workflow

        team = make.team()
        case = make.case(team, approve=True)  # the planning route: a demolition order is major
        make.required_records(case)
        workflow.advance(case, "notice", actor=team["officer"])
        make.required_records(case)  # the notice of the intended decision: only the legal review is missing
        return {"officer": team["officer"].username, "id": case.id}

    data = site.run(setup)
    page = pages.open()
    log_in(page, data["officer"])
    page.goto(f"/cases/{data['id']}")

    assert page.locator("main h1 .stage").inner_text().strip() == "Notice"
    # No plain move to review or decision: the proper forms are linked, with what is missing.
    assert page.get_by_role("button", name="Move to Decision").count() == 0
    assert page.get_by_role("button", name="Move to Legal review").count() == 0
    assert page.locator("#next-step").get_by_role("link", name="Submit for legal review").count() == 1
    reasons = page.locator("#unmet-decision").inner_text()
    assert "legal review" in reasons and "major" in reasons


def test_auditor_reads_the_case_without_changing_anything_and_verifies_the_chain(site, pages):
    def setup(make):
        team = make.team()
        case = make.case(team, approve=True)
        return {"auditor": team["auditor"].username, "id": case.id, "number": case.number}

    data = site.run(setup)
    page = pages.open()
    log_in(page, data["auditor"])
    page.goto(f"/cases/{data['id']}")

    assert data["number"] in page.locator("main h1").inner_text()
    main = page.locator("main")
    # Read-only: no form that changes state, no button, no field to type in.
    assert main.locator("form[method=post]").count() == 0
    assert main.locator("button, textarea, select, input:not([type=hidden])").count() == 0
    assert page.locator("#next-step h3").count() >= 1  # the next step is named, without a button
    assert main.locator(".timeline li").count() >= 2  # filed and approved

    page.get_by_role("navigation").get_by_role("link", name="Audit trail").click()
    page.wait_for_url(re.compile(r"/admin/audit"))
    assert page.locator("main table tbody tr").count() >= 2
    page.get_by_role("button", name="Verify the chain now").click()
    page.wait_for_url(re.compile(r"/admin/audit/verify$"))
    result = page.locator("main .flash-success")
    assert result.inner_text().startswith("OK")
    assert page.locator("main .flash-error").count() == 0
