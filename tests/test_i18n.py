"""The Simplified Chinese interface (zh_CN, the default) and English (the msgids).

The catalogue must stay complete: every string the code and templates mark for translation has a
reviewed Chinese translation (not empty, not fuzzy) whose placeholders match the English. Pages
are read as a clerk reads them: Chinese without any language header, English on request or after
the language switch, and refusals from the services (gates) in Chinese too.

To add translations after adding strings:
    .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o enforcement/translations/messages.pot .
    .venv/bin/pybabel update -i enforcement/translations/messages.pot -d enforcement/translations \
        -l zh_Hans_CN --no-fuzzy-matching
    (write the msgstr of each new entry in enforcement/translations/zh_Hans_CN/LC_MESSAGES/messages.po)
    .venv/bin/pybabel compile -d enforcement/translations

The app's locale is "zh_CN", but Flask-Babel parses it (babel.Locale.parse) into zh_Hans_CN and
looks the catalogue up under that name (gettext also tries "zh", never "zh_CN"): the folder is
zh_Hans_CN, and test_chinese_catalogue_is_where_flask_babel_looks keeps it so.
"""
from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from enforcement.extensions import db
from enforcement.models import Stage
from enforcement.services import workflow
from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "enforcement" / "translations"
ZH_FOLDER = "zh_Hans_CN"  # str(babel.Locale.parse("zh_CN")), see the module docstring
ZH_PO = TRANSLATIONS / ZH_FOLDER / "LC_MESSAGES" / "messages.po"

# printf-style placeholders as Python's % operator reads them (`%(name)s`, `%(num)d`, …) and the
# brace fields that some messages show literally to the user (`{year}`, `{seq:03d}`).
PERCENT_FIELD = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")
BRACE_FIELD = re.compile(r"\{\w+(?::[^{}]*)?\}")
CJK = re.compile(r"[\u3400-\u9fff]")
# msgids whose right translation contains no Chinese character: the list separator is "；".
SAME_IN_CHINESE: set[str] = {"; "}


# --- the compiled catalogue -------------------------------------------------------------------------

def compile_catalogues(folder: Path = TRANSLATIONS) -> list[Path]:
    """Compile every .po under `folder` whose .mo is missing or older than it; the compiled paths.

    Written to a temporary file and renamed, so a parallel test process never reads half a file.
    """
    compiled = []
    for po_path in sorted(folder.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=po_path.parent.parent.name)
        tmp = mo_path.with_name(f".{mo_path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        os.replace(tmp, mo_path)
        compiled.append(mo_path)
    return compiled


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """`pytest` alone works: the .mo files are build output (git-ignored), compiled here when stale."""
    compile_catalogues()


def zh_catalogue():
    with ZH_PO.open("rb") as f:
        return read_po(f, locale=ZH_FOLDER)


def extracted_template(tmp_path: Path):
    """The messages the code and templates mark today, extracted with the project's babel.cfg."""
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    command = [str(pybabel)] if pybabel.exists() else [sys.executable, "-m", "babel.messages.frontend"]
    result = subprocess.run(
        [*command, "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "."],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stdout}\n{result.stderr}"
    with pot.open("rb") as f:
        return read_po(f)


def forms(message) -> list[str]:
    """The msgstr of a message as a list (one form, or every plural form)."""
    if isinstance(message.string, (tuple, list)):
        return list(message.string)
    return [message.string]


def where(message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations[:3]) or "(no location)"


# --- (a) the catalogue is complete ------------------------------------------------------------------

def test_every_extracted_msgid_has_a_reviewed_chinese_translation(tmp_path):
    template = extracted_template(tmp_path)
    catalogue = zh_catalogue()
    assert len([m for m in template if m.id]) > 100, "extraction found almost nothing: check babel.cfg"
    missing = []
    for message in template:
        if not message.id:
            continue
        entry = catalogue.get(message.id)
        if entry is None:
            problem = "not in messages.po"
        elif entry.fuzzy:
            problem = "fuzzy"
        elif not all(s.strip() for s in forms(entry)):
            problem = "empty msgstr"
        elif not any(CJK.search(s) for s in forms(entry)) and message.id not in SAME_IN_CHINESE:
            problem = "msgstr has no Chinese (left in English?)"
        else:
            continue
        missing.append(f"  {message.id!r} [{where(message)}]: {problem}")
    assert not missing, (f"{len(missing)} message(s) lack a zh_CN translation "
                         f"(see the module docstring for the commands):\n" + "\n".join(missing))


def test_chinese_catalogue_header_is_usable():
    catalogue = zh_catalogue()
    # A fuzzy header makes `pybabel compile` skip the whole catalogue: the interface falls back to English.
    assert not catalogue.fuzzy, "the header of messages.po is marked fuzzy"
    assert catalogue.num_plurals == 1, "Chinese has one plural form (Plural-Forms: nplurals=1; plural=0;)"
    assert str(catalogue.locale) == ZH_FOLDER


def test_chinese_catalogue_compiles_into_the_translations_folder():
    assert ZH_PO.with_suffix(".mo").exists()
    assert ZH_PO.with_suffix(".mo").stat().st_mtime >= ZH_PO.stat().st_mtime


def test_chinese_catalogue_is_where_flask_babel_looks():
    """Flask-Babel loads `Translations.load(folder, [Locale.parse(locale)])`: a zh_CN folder is never read."""
    from babel import Locale
    from babel.support import Translations

    from config import Config
    from enforcement.i18n import normalise

    for tag in (Config.BABEL_DEFAULT_LOCALE, normalise("zh-CN"), normalise("zh")):
        locale = Locale.parse(tag)
        assert str(locale) == ZH_FOLDER
        translations = Translations.load(str(TRANSLATIONS), [locale])
        assert translations.gettext("Log in") == "登录", f"no catalogue found for {tag} ({locale})"


# --- (b) placeholders match -----------------------------------------------------------------------

def _sample_values(msgid: str) -> dict:
    return {name: 1 if spec.endswith("d") else "x"
            for name, spec in ((m.group(1), m.group(0)) for m in PERCENT_FIELD.finditer(msgid))}


def test_translations_keep_every_placeholder_of_the_english():
    problems = []
    for message in zh_catalogue():
        if not message.id:
            continue
        msgids = list(message.id) if isinstance(message.id, (tuple, list)) else [message.id]
        expected_percent = {m.group(0) for m in PERCENT_FIELD.finditer(msgids[0])}
        expected_brace = set(BRACE_FIELD.findall(msgids[0]))
        for msgstr in forms(message):
            if not msgstr:
                continue  # the completeness test reports it
            percent = {m.group(0) for m in PERCENT_FIELD.finditer(msgstr)}
            brace = set(BRACE_FIELD.findall(msgstr))
            if percent != expected_percent:
                problems.append(f"  {msgids[0]!r}: placeholders {sorted(percent)} != {sorted(expected_percent)}")
            if brace != expected_brace:
                problems.append(f"  {msgids[0]!r}: fields {sorted(brace)} != {sorted(expected_brace)}")
    assert not problems, "placeholders differ between msgid and msgstr:\n" + "\n".join(problems)


def test_translations_format_like_their_english():
    """Templates always apply `%` (Jinja's new-style gettext), so a stray % in a translation breaks a page."""
    problems = []
    for message in zh_catalogue():
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
        values = _sample_values(msgid)
        try:
            msgid % values
        except (ValueError, TypeError, KeyError):
            continue  # the English does not format either: a literal string used from Python only
        for msgstr in forms(message):
            try:
                msgstr % values
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"  {msgid!r} -> {msgstr!r}: {exc}")
    assert not problems, "translations that fail `%` formatting:\n" + "\n".join(problems)


# --- (c) the language of a page ----------------------------------------------------------------------

def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def login_heading(response) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page_text(response), re.DOTALL)
    assert match, "the login page has no heading"
    return match.group(1).strip()


def test_login_page_is_in_chinese_without_any_language_header(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert login_heading(response) == "登录"
    page = page_text(response)
    assert '<html lang="zh-CN">' in page
    assert "用户名" in page and "密码" in page and "Log in" not in page


def test_login_page_is_in_chinese_for_a_chinese_browser(client):
    response = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert login_heading(response) == "登录"
    assert "Log in" not in page_text(response)


def test_login_page_is_in_english_for_an_english_browser(client):
    response = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert login_heading(response) == "Log in"
    page = page_text(response)
    assert '<html lang="en">' in page and "Username" in page and "登录" not in page


def test_language_switch_changes_the_pages_and_outweighs_the_browser(client):
    token = csrf_token(client, "/login")
    response = client.post("/language/en", data={"csrf_token": token, "next": "/login"})
    assert response.status_code == 302
    assert login_heading(client.get("/login")) == "Log in"
    assert login_heading(client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})) == "Log in"

    token = csrf_token(client, "/login")
    client.post("/language/zh_CN", data={"csrf_token": token, "next": "/login"})
    assert login_heading(client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})) == "登录"


def test_language_switch_without_the_csrf_token_changes_nothing(client):
    response = client.post("/language/en", data={"next": "/login"})
    assert response.status_code in (302, 400)
    assert login_heading(client.get("/login")) == "登录"


# --- (d) a logged-in page ------------------------------------------------------------------------------

def test_case_list_shows_chinese_stage_names(client, make, login):
    team = make.team()
    filed = make.case(team)
    approved = make.case(team, approve=True)
    assert login(team["officer"]).status_code == 302
    response = client.get("/cases/")
    assert response.status_code == 200
    page = page_text(response)
    assert f'<span class="stage stage-{Stage.FILING.value}">立案</span>' in page, filed.number
    assert f'<span class="stage stage-{Stage.INVESTIGATION.value}">调查取证</span>' in page, approved.number
    for label in ("案件", "案件编号", "当事人", "全部阶段", "法制审核", "归档"):
        assert label in page, label
    for english in ("Investigation", "Case number", "All stages", "Legal review"):
        assert english not in page, english


# --- (e) a refusal from a service, in Chinese -------------------------------------------------------

def test_gate_refusal_of_a_major_decision_is_shown_in_chinese(without_record_rules, client, make, login):
    team = make.team()
    matter = make.matter(team["body"], in_major_catalogue=True)
    case = make.case(team, approve=True, matter=matter)
    workflow.advance(case, Stage.NOTICE, actor=team["officer"])
    db.session.commit()
    make.notice(case, actor=team["officer"], decision_type="warning")  # the party heard: the review is what is missing

    assert login(team["officer"]).status_code == 302
    page = page_text(client.get(f"/cases/{case.id}"))
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    response = client.post(f"/cases/{case.id}/advance", data={
        "csrf_token": csrf_token(client, f"/cases/{case.id}"), "version": version, "target": "decision"})
    assert response.status_code == 302

    after = page_text(client.get(response.headers["Location"]))
    flashes = after.split('<div class="flashes"', 1)[1].split("</main>", 1)[0]
    assert "操作未获通过。尚未满足的条件：" in flashes
    assert "本案属于重大执法决定" in flashes
    assert "该事项已列入重大执法决定法制审核目录" in flashes
    assert "作出决定前须经法制审核（《行政处罚法》第五十八条）" in flashes
    assert "must pass legal review" not in after and "Unmet conditions" not in after
    assert "负责人" in flashes  # the head signs decisions on the decision form, said in Chinese too
    assert "The head has not signed" not in after and "decision form" not in after
    db.session.expire_all()
    assert db.session.get(type(case), case.id).stage == Stage.NOTICE.value


def test_filing_refusal_for_one_officer_is_shown_in_chinese(client, make, login):
    team = make.team()
    matter = make.matter(team["body"])
    assert login(team["officer"]).status_code == 302
    today = date.today()
    data = {
        "csrf_token": csrf_token(client, "/cases/new"),
        "source": "grid_patrol", "matter": str(matter.id), "route": "planning", "party_kind": "person",
        "party_name": "李四", "village": "东村", "summary": "未取得乡村建设规划许可证建设住房",
        "act_began_on": (today - timedelta(days=30)).isoformat(),
        "discovered_on": (today - timedelta(days=2)).isoformat(), "filed_on": today.isoformat(),
        "officers": [str(team["officer"].id)], "lead_officer": str(team["officer"].id),
    }
    response = client.post("/cases/new", data=data)
    page = page_text(response)
    assert response.status_code == 422, page[:2000]
    assert "无法立案。尚未满足的条件：" in page
    assert "案件应由两名以上持有效执法证的执法人员办理（《行政处罚法》第四十二条）" in page
    assert "At least two officers" not in page
