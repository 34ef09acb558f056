"""The public page, the phone layout, the Chinese default, a tampered CSRF token and screenshots."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import PHONE, case_count, log_in, screenshot
from tests.conftest import require_component

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

CJK = re.compile(r"[\u4e00-\u9fff]")
TRANSLATIONS = Path(__file__).resolve().parents[2] / "enforcement" / "translations"


def _officer_with_cases(make, count: int = 3):
    team = make.team()
    numbers = [make.case(team, approve=bool(i % 2)).number for i in range(count)]
    return {"officer": team["officer"].username, "numbers": numbers, "body_name": team["body"].name}


def _page_overflow(page) -> tuple[int, int]:
    """(scroll width of the document, viewport width): the page must not scroll sideways."""
    return page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")


def _audit_head():
    from enforcement.extensions import db
    from enforcement.models import AuditHead

    head = db.session.get(AuditHead, 1)
    return {"seq": head.seq, "hash": head.last_hash}


def test_public_page_opens_without_login_and_shows_the_audit_head(site, pages):
    body_name = site.run(lambda make: make.team()["body"].name)
    head = site.run(lambda make: _audit_head())
    page = pages.open()

    page.goto("/")
    page.wait_for_url(re.compile(r"/public/$"))
    main = page.locator("main")
    assert body_name in main.inner_text()
    card = page.locator("section.card", has=page.get_by_role("heading", name="Audit trail head"))
    assert str(head["seq"]) in card.locator("dl.facts").inner_text()
    assert card.locator("code.hash").inner_text().strip() == head["hash"]
    assert page.get_by_role("link", name="Log in").is_visible()


def test_case_list_fits_a_phone_and_the_nav_is_usable(site, pages):
    data = site.run(_officer_with_cases)
    page = pages.open(phone=True)
    log_in(page, data["officer"])

    page.goto("/cases/")
    for number in data["numbers"]:
        assert page.get_by_role("link", name=number).is_visible()
    scroll_width, viewport = _page_overflow(page)
    assert viewport == PHONE["width"]
    assert scroll_width <= viewport + 1, f"the case list scrolls sideways: {scroll_width}px in {viewport}px"
    screenshot(page, "case-list-phone")

    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    assert links.count() >= 3
    for i in range(links.count()):
        link = links.nth(i)
        assert link.is_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport + 1, (link.inner_text(), box)
        assert box["height"] >= 20, f"{link.inner_text()!r} is too small to tap: {box}"
    page.get_by_role("navigation", name="Main").get_by_role("link", name="File a case").tap()
    page.wait_for_url(re.compile(r"/cases/new$"))
    assert page.get_by_role("button", name="File the case").is_visible()


def test_a_form_with_a_tampered_csrf_token_shows_the_friendly_message(site, pages):
    data = site.run(_officer_with_cases)
    page = pages.open()
    log_in(page, data["officer"])
    page.goto("/cases/new")

    page.evaluate("() => document.querySelectorAll('input[name=csrf_token]').forEach(i => { i.value += 'x'; })")
    page.fill("#party_name", "李四")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="File the case").click()
    assert answer.value.status == 400
    page.wait_for_load_state()
    assert page.locator("main h1").inner_text().strip() == "400"
    assert "The form expired or was not sent by this site" in page.locator("main").inner_text()
    assert "Traceback" not in page.content() and "CSRF" not in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Home").count() >= 1
    assert site.run(lambda make: case_count()) == len(data["numbers"])


def test_pages_are_in_chinese_by_default_and_render_on_desktop_and_phone(site, pages):
    """Screenshots of the case page and the filing form go to test-artifacts/ for a human to look at."""
    data = site.run(_officer_with_cases)
    overflow = {}
    for device in ("desktop", "phone"):
        page = pages.open(english=False, phone=device == "phone")
        log_in(page, data["officer"])
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("header form button.link").first.inner_text().strip() == "English"

        page.goto("/cases/")
        page.get_by_role("link", name=data["numbers"][0]).click()
        page.wait_for_url(re.compile(r"/cases/\d+$"))
        assert data["numbers"][0] in page.locator("main h1").inner_text()
        assert "张三" in page.locator("main").inner_text()
        overflow[f"case-{device}"] = _page_overflow(page)
        screenshot(page, f"case-page-{device}")

        page.goto("/cases/new")
        assert "立案" in page.locator("main h1").inner_text()
        overflow[f"filing-{device}"] = _page_overflow(page)
        screenshot(page, f"filing-form-{device}")

    wide = {name: sizes for name, sizes in overflow.items() if sizes[0] > sizes[1] + 1}
    assert not wide, f"pages scroll sideways (scroll width, viewport): {wide}"
    nav = page.get_by_role("navigation").first.get_by_role("link").all_inner_texts()
    submit = page.locator("main form button[type=submit]").last.inner_text()

    # The language switch turns the same page to English and remembers it.
    page.locator("header form button.link", has_text="English").click()
    page.wait_for_url(re.compile(r"/cases/new$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="File the case").is_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    page.wait_for_url(re.compile(r"/cases/$"))
    assert page.locator("html").get_attribute("lang") == "en"

    # The interface itself is translated: a missing catalogue silently shows English.
    require_component(any(TRANSLATIONS.glob("zh*/LC_MESSAGES/messages.mo")),
                      "compiled Chinese translations (make translations)")
    untranslated = [text for text in [*nav, submit] if not CJK.search(text)]
    assert not untranslated, f"not in Chinese by default: {untranslated}"
