"""Service (送达) through the real case page, in Chromium: an officer records how the decision reached
the party, with its receipt (送达回证) chosen among the case's records, and sees it listed."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]


def _decided_with_receipt(make):
    """A fine decided (the rules of required records set aside) and the signed receipt uploaded."""
    from sqlalchemy import text

    from enforcement.extensions import db
    from tests.test_disclosure import decided

    db.session.execute(text("DELETE FROM record_requirements"))
    db.session.commit()
    team = make.team()
    case, _decision = decided(make, team)
    receipt = make.record(case, "service_receipt", actor=team["officer"])
    return {"id": case.id, "officer": team["officer"].username, "receipt": receipt.id}


def test_an_officer_records_the_service_of_the_decision_on_the_case_page(site, pages):
    data = site.run(_decided_with_receipt)
    page = pages.open()
    log_in(page, data["officer"])
    page.goto(f"/cases/{data['id']}")
    panel = page.locator("#service")
    assert "overdue" in panel.locator("#decision-service").inner_text()
    form = page.locator("#service-form")
    form.get_by_label("Document served").select_option(label="Decision")
    form.get_by_label("Method").select_option(label="Handed over, receipt signed (直接送达)")
    form.get_by_label("Served on").fill("2026-10-21")
    form.get_by_label("Recipient (who signed for or received it)").fill("张三")
    form.get_by_label("Proof of service (送达回证)").select_option(str(data["receipt"]))
    form.get_by_role("button", name="Record the service").click()
    page.wait_for_url(re.compile(rf"/cases/{data['id']}#service$"))
    assert "Service recorded: Decision" in page.locator("body").inner_text()
    assert "Served on 2026-10-21" in panel.locator("#decision-service").inner_text()
    row = panel.locator("#service-list tbody tr")
    assert row.count() == 1 and "张三" in row.inner_text() and "2026-10-21" in row.inner_text()
    assert row.get_by_role("link", name=f"Record {data['receipt']}").count() == 1
