"""Browser tests: the real pages in Debian's Chromium, served by a live server on a fresh database.

- `browser` (session): one headless Chromium for the whole run, launched from /usr/bin/chromium
  with the flags of ECOSYSTEM.md (no `playwright install`). Missing Chromium skips these tests,
  except in CI (CI=true), where it fails them.
- `site` (per test): the app on a fresh migrated SQLite database, served by werkzeug from a
  thread on 127.0.0.1, port 0. Tests create their data with `site.run(fn)` — fn gets a
  tests.factories.Factory inside an app context and should return plain values (ids, names), not
  ORM objects: the server answers requests in its own threads and sessions.
- `pages`: opens browser pages (each in its own context: its own cookies) in English or in the
  default language, on a desktop or a phone viewport.

Screenshots go to test-artifacts/ (git-ignored) at the root of the repository.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from tests.conftest import make_app, require_component
from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    require_component(os.path.exists(CHROMIUM), "Chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Site:
    """The app served over HTTP, plus a way to prepare data before browsing."""

    def __init__(self, app, base_url: str):
        self.app = app
        self.base_url = base_url

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def run(self, fn):
        """Call fn(factory) in an app context of the served app and commit; return its result."""
        from enforcement.extensions import db
        from tests.factories import Factory

        with self.app.app_context():
            try:
                result = fn(Factory())
                db.session.commit()
                return result
            finally:
                db.session.remove()


@pytest.fixture
def site(database_url, tmp_path):
    from werkzeug.serving import make_server

    from enforcement.extensions import db, limiter

    app = make_app(database_url, tmp_path)
    with app.app_context():
        limiter.reset()  # the login rate limit is counted per process: start each test afresh
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield Site(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


class Pages:
    """Opens pages, each in a context of its own (separate cookies: separate users)."""

    def __init__(self, browser, site: Site):
        self.browser = browser
        self.site = site
        self.contexts = []
        self.server_errors: list[str] = []

    def open(self, *, english: bool = True, phone: bool = False):
        options = {"viewport": PHONE if phone else DESKTOP, "base_url": self.site.base_url}
        if english:
            options["locale"] = "en-US"  # Accept-Language: en-US, en
        else:
            options["locale"] = "zh-CN"  # what a browser in China sends; the app's default too
        if phone:
            options.update(is_mobile=True, has_touch=True)
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("response", self._watch)
        self.contexts.append(context)
        return context.new_page()

    def _watch(self, response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, site):
    opened = Pages(browser, site)
    yield opened
    opened.close()
    assert not opened.server_errors, f"the server failed: {opened.server_errors}"


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the real form and wait for the home page."""
    page.goto("/login")
    page.locator("main input[name=username]").fill(username)
    page.locator("main input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/home$"))


def case_count() -> int:
    """How many cases the database holds (call through site.run)."""
    from sqlalchemy import func, select

    from enforcement.extensions import db
    from enforcement.models import Case

    return db.session.scalar(select(func.count()).select_from(Case))


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
