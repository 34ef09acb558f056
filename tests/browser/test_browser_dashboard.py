"""The auditors' dashboard through the real pages, in Chromium: the county auditor groups the totals by
matter, sorts the table, opens a case's scorecard (the service item says the decision was served late)
and runs the audit-chain check, whose result is kept on the screen."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]


def _two_decided_cases(make):
    """Two fine decisions of 20 October 2026; the first served late (30 October, due by the 29th)."""
    from datetime import date

    from sqlalchemy import text

    from enforcement.extensions import db
    from tests.test_disclosure import decided

    db.session.execute(text("DELETE FROM record_requirements"))  # the completeness rules have their own tests
    db.session.commit()
    team = make.team()
    late, _ = decided(make, team)
    make.serve(late, served_on=date(2026, 10, 30), today=date(2026, 10, 30))
    other, _ = decided(make, team)
    return {"late": late.id, "late_number": late.number, "other_number": other.number,
            "auditor": team["auditor"].username, "officer": team["officer"].username}


def test_the_auditor_groups_sorts_reads_a_scorecard_and_runs_the_chain_check(site, pages):
    data = site.run(_two_decided_cases)
    page = pages.open()
    log_in(page, data["auditor"])
    page.goto("/dashboard/")
    form = page.locator("#dashboard-filters")
    form.locator("select[name=group]").select_option("matter")
    form.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"group=matter"))
    assert page.locator("#totals tbody tr").count() >= 1
    table = page.locator("#dashboard-cases")
    table.locator("thead a").first.click()  # sort by the first column
    page.wait_for_url(re.compile(r"sort="))
    numbers = page.locator("#dashboard-cases tbody tr td:first-child a").all_inner_texts()
    assert data["late_number"] in numbers and data["other_number"] in numbers
    page.locator("#dashboard-cases").get_by_role("link", name=data["late_number"]).click()
    page.wait_for_url(re.compile(rf"/dashboard/cases/{data['late']}$"))
    service = page.locator("#item-service")
    assert "state-late" in service.get_attribute("class")
    assert "Served on 2026-10-30, due by 2026-10-29" in service.inner_text()
    page.goto("/dashboard/")
    page.get_by_role("button", name="Check the audit chain").click()
    page.wait_for_load_state()
    runs = page.locator("#check-runs tbody tr")
    assert runs.count() >= 1 and "audit" in runs.first.inner_text().lower()


def test_an_officer_is_refused_the_dashboard(site, pages):
    data = site.run(_two_decided_cases)
    page = pages.open()
    log_in(page, data["officer"])
    response = page.goto("/dashboard/")
    assert response.status == 403
