"""The public disclosure pages in Chromium: readable on a phone without sideways scrolling, the search
by year, and the printed page without the navigation."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.browser.conftest import PHONE, screenshot

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]


def _publications(make):
    """Two published decisions (2025 in 西村, 2026 in 东村), a demolition notice and officers."""
    from sqlalchemy import text

    from enforcement.extensions import db
    from enforcement.services import disclosure

    db.session.execute(text("DELETE FROM record_requirements"))  # the record rules are tested elsewhere
    db.session.commit()
    team = make.team(make.body("永平镇人民政府", address="永平镇人民路1号", phone="0577-65201234",
                               complaint_channel="来信来访：永平镇人民政府信访办（工作日 8:30–17:00）"))
    made = {}
    for key, village, filed, day in (("old", "西村", date(2025, 3, 3), date(2025, 4, 21)),
                                     ("new", "东村", date(2026, 9, 1), date(2026, 10, 20))):
        case = make.case(team, approve=True, filed_on=filed, village=village,
                         matter=make.matter(team["body"], name=f"未取得乡村建设规划许可证进行建设（{village}）"),
                         summary="当事人未取得乡村建设规划许可证，擅自建设三层砖混结构住房，占地面积一百二十平方米，"
                                 "经责令停止建设后仍继续施工。")
        decision = make.decide(case, team, today=day)
        pub = next(p for p in disclosure.publications_of(case) if p.kind == "decision")
        disclosure.publish(pub, actor=team["officer"], today=day + timedelta(days=2))
        made[key] = {"id": pub.id, "number": pub.document_number}
        if key == "new":
            notice = disclosure.post_demolition_notice(decision, actor=team["officer"],
                                                       self_demolition_by=date(2027, 1, 15))
            disclosure.publish(notice, actor=team["officer"])
            made["notice"] = {"id": notice.id}
    db.session.commit()
    return made


def _overflow(page) -> tuple[int, int]:
    return page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")


def test_the_public_pages_fit_a_phone(site, pages):
    made = site.run(_publications)
    page = pages.open(phone=True)
    wide = {}
    for name, path in (("index", "/public/"), ("officers", "/public/officers"), ("powers", "/public/powers"),
                       ("decisions", "/public/decisions"), ("decision", f"/public/decisions/{made['new']['id']}"),
                       ("notices", "/public/demolition-notices"),
                       ("notice", f"/public/demolition-notices/{made['notice']['id']}"),
                       ("withdrawals", "/public/withdrawals")):
        response = page.goto(path)
        assert response.status == 200, path
        scroll_width, viewport = _overflow(page)
        assert viewport == PHONE["width"]
        if scroll_width > viewport + 1:
            wide[name] = scroll_width
        screenshot(page, f"public-{name}-phone")
    assert not wide, f"public pages scroll sideways on a {PHONE['width']}px phone: {wide}"

    # The list reads as stacked rows; the decision's text wraps inside the screen.
    page.goto("/public/decisions")
    link = page.get_by_role("link", name=made["new"]["number"])
    box = link.bounding_box()
    assert link.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1
    link.tap()
    page.wait_for_url(re.compile(rf"/public/decisions/{made['new']['id']}$"))
    text = page.locator(".published-text")
    box = text.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box
    assert "张某" in text.inner_text()
    notice = page.goto(f"/public/demolition-notices/{made['notice']['id']}")
    assert notice.status == 200
    deadline = page.locator(".deadline strong")
    assert deadline.inner_text().strip() == "2027-01-15" and deadline.is_visible()


def test_the_decisions_can_be_searched_by_year(site, pages):
    made = site.run(_publications)
    page = pages.open()
    page.goto("/public/decisions")
    assert page.get_by_role("link", name=made["old"]["number"]).is_visible()
    assert page.get_by_role("link", name=made["new"]["number"]).is_visible()

    page.get_by_label("Year").select_option("2025")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/public/decisions\?.*year=2025"))
    assert page.get_by_role("link", name=made["old"]["number"]).is_visible()
    assert page.get_by_role("link", name=made["new"]["number"]).count() == 0
    assert page.get_by_label("Year").input_value() == "2025"
    assert "1 decision" in page.locator(".result-count").inner_text()

    page.get_by_label("Place (village)").fill("东村")
    page.get_by_label("Year").select_option("")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"place="))
    assert page.get_by_role("link", name=made["new"]["number"]).is_visible()
    assert page.get_by_role("link", name=made["old"]["number"]).count() == 0


def test_printing_hides_the_navigation_and_the_search(site, pages):
    made = site.run(_publications)
    page = pages.open()
    page.goto("/public/decisions")
    nav = page.get_by_role("navigation", name="Public disclosure")
    assert nav.is_visible() and page.locator("form.search").is_visible()
    assert not page.locator(".print-source").is_visible()

    page.emulate_media(media="print")
    assert not nav.is_visible()
    assert not page.locator("header").is_visible() and not page.locator("form.search").is_visible()
    assert not page.locator("footer").is_visible()
    assert page.get_by_role("heading", name="Published decisions").is_visible()
    assert page.get_by_role("link", name=made["new"]["number"]).is_visible()
    source = page.locator(".print-source")
    assert source.is_visible() and "/public/decisions" in source.inner_text()

    page.goto(f"/public/decisions/{made['new']['id']}")
    assert not page.locator("header").is_visible() and page.locator(".published-text").is_visible()
    page.emulate_media(media="screen")
    assert page.locator("header").is_visible()
