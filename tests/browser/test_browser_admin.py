"""The administrator keeping people and certificates, and what deactivation does to a browser."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import log_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]


def _team(make):
    team = make.team()
    return {"admin": team["admin"].username, "officer": team["officer"].username,
            "officer_id": team["officer"].id, "officer_name": team["officer"].name,
            "area": team["body"].area, "body_id": team["body"].id}


def test_admin_creates_a_user_with_two_roles_and_adds_a_certificate(site, pages):
    data = site.run(_team)
    page = pages.open()
    log_in(page, data["admin"])

    page.goto("/admin/users")
    page.get_by_role("link", name="New user").click()
    page.wait_for_url(re.compile(r"/admin/users/new$"))
    page.fill("#username", "wangwu")
    page.fill("#name", "王五")
    page.select_option("#body_id", str(data["body_id"]))
    page.fill("#unit", "综合执法队")
    page.check("input[name=roles][value=officer]")
    page.check("input[name=roles][value=reviewer]")
    page.fill("#legal_qualification_no", "A20200012345")
    page.fill("#password", "Wang-wu-2026!")
    page.fill("#confirm", "Wang-wu-2026!")
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(re.compile(r"/admin/users/\d+$"))
    assert "王五" in page.locator(".flash-success").inner_text()
    facts = page.locator("main dl.facts").first.inner_text()
    assert "Officer" in facts and "Legal reviewer" in facts
    assert "No certificate in the ledger." in page.locator("main").inner_text()

    page.get_by_role("link", name="Add certificate").click()
    page.wait_for_url(re.compile(r"/certificates/new$"))
    page.fill("#number", "ZJ2026000777")
    page.fill("#issuer", "测试省人民政府")
    page.fill("#category", "城乡建设、自然资源")
    page.fill("#area", data["area"])
    page.fill("#valid_from", "2025-01-01")
    page.fill("#valid_until", "2030-12-31")
    page.get_by_role("button", name="Add to the ledger").click()

    page.wait_for_url(re.compile(r"/admin/users/\d+$"))
    assert "certificate was added" in page.locator(".flash-success").inner_text()
    ledger = page.locator("section.card", has=page.get_by_role("heading", name=re.compile("Certificate ledger")))
    row = ledger.locator("tbody tr", has_text="ZJ2026000777")
    assert row.count() == 1
    assert "valid" in row.inner_text()


def test_deactivated_user_is_logged_out_of_an_open_session_on_the_next_click(site, pages):
    data = site.run(_team)
    officer = pages.open()
    log_in(officer, data["officer"])
    assert data["officer_name"] in officer.locator("header .who").inner_text()

    admin = pages.open()
    log_in(admin, data["admin"])
    admin.goto(f"/admin/users/{data['officer_id']}")
    admin.get_by_role("link", name="Deactivate").click()
    admin.wait_for_url(re.compile(r"/deactivate$"))
    admin.get_by_role("button", name="Deactivate").click()  # without a reason: refused beside the field
    assert "reason" in admin.locator(".field.has-error .error").inner_text()
    admin.fill("#reason", "调离执法岗位")
    admin.get_by_role("button", name="Deactivate").click()
    admin.wait_for_url(re.compile(rf"/admin/users/{data['officer_id']}$"))
    assert "deactivated" in admin.locator(".flash-success").inner_text()
    assert "deactivated" in admin.locator("main .badge.bad").inner_text()

    # The officer's browser still shows the page from before; the next click ends there.
    officer.get_by_role("navigation").get_by_role("link", name="Cases").click()
    officer.wait_for_url(re.compile(r"/login"))
    assert officer.locator("main input[name=password]").is_visible()
    assert officer.locator("header .who").count() == 0
    # Logging in again is refused.
    officer.locator("main input[name=username]").fill(data["officer"])
    officer.locator("main input[name=password]").fill(PASSWORD)
    officer.locator("main form button[type=submit]").click()
    officer.wait_for_load_state()
    assert "deactivated" in officer.locator(".flash-error").inner_text()
