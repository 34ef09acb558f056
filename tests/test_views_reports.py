"""The annual statistics screens and the public statistics pages, over HTTP.

Staff pages are read in English (Accept-Language: en) so the assertions hold once the Chinese
translations land; the figures' labels are Chinese in every language (the report's own words).
"""
from __future__ import annotations

import html
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from enforcement.extensions import db
from enforcement.models import AnnualReport, Case, Role, Stage
from enforcement.services import annual, documents, workflow
from enforcement.services.clock import local_today
from tests.conftest import csrf_token

pytestmark = pytest.mark.usefixtures("without_record_rules")

LAST_YEAR = local_today().year - 1


@pytest.fixture(autouse=True)
def quick_statistics_pdf(request, monkeypatch):
    if request.node.get_closest_marker("real_pdf"):
        return
    monkeypatch.setattr(documents, "statistics_pdf",
                        lambda doc: b"%PDF-1.4\n" + f"{doc.title} {doc.digest}".encode() + b"\n%%EOF\n")


@pytest.fixture
def anonymous(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count_reports() -> int:
    return db.session.scalar(select(func.count(AnnualReport.id)))


@pytest.fixture
def fined(make, team):
    """Last year: a case fined 5,000 (decided through the real services)."""
    matter = make.matter(team["body"], code="CF01", name="一般处罚事项", route="")
    day = date(LAST_YEAR, 6, 2)
    case = make.case(team, approve=True, matter=matter, filed_on=date(LAST_YEAR, 5, 5))
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=day)
    db.session.commit()
    make.notice(case, served_on=day, today=day, decision_type="fine", fine_amount=Decimal("5000"))
    make.decide(case, team, today=day)
    return case


@pytest.fixture
def report(team, fined):
    row = annual.generate(team["body"], LAST_YEAR, actor=team["head"])
    db.session.commit()
    return row


@pytest.fixture
def published(team, report):
    annual.publish(report, actor=team["head"])
    db.session.commit()
    return report


def post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/disclosure/reports"), **data})


# --- the staff list and generating ---------------------------------------------------------------------

def test_the_list_shows_each_year_against_the_deadline_and_the_generate_form_to_the_head(team, as_user):
    page = text(as_user(team["head"]).get("/disclosure/reports"))
    assert team["body"].name in page and str(LAST_YEAR) in page and f"{LAST_YEAR + 1}-01-31" in page
    expected = "overdue" if local_today() > annual.due_on(LAST_YEAR) else "not generated"
    assert expected in page
    assert 'action="/disclosure/reports/generate"' in page


@pytest.mark.parametrize("who", ["officer", "reviewer", "auditor"])
def test_others_read_the_list_without_the_generate_form(team, as_user, who):
    response = as_user(team[who]).get("/disclosure/reports")
    assert response.status_code == 200 and team["body"].name in text(response)
    assert 'action="/disclosure/reports/generate"' not in text(response)


def test_the_list_needs_a_login(anonymous):
    response = anonymous.get("/disclosure/reports")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_head_generates_last_year_by_default(team, fined, as_user):
    client = as_user(team["head"])
    response = post(client, "/disclosure/reports/generate", body_id=team["body"].id)
    assert response.status_code == 302
    row = db.session.scalar(select(AnnualReport))
    assert (row.year, row.revision, row.body_id) == (LAST_YEAR, 1, team["body"].id)
    assert response.headers["Location"].endswith(f"/disclosure/reports/{row.id}")
    page = text(client.get(response.headers["Location"]))
    assert "are generated (revision 1)" in page and row.source_digest in page


def test_the_admin_generates_too(team, as_user):
    response = post(as_user(team["admin"]), "/disclosure/reports/generate", body_id=team["body"].id,
                    year=str(LAST_YEAR))
    assert response.status_code == 302 and count_reports() == 1


@pytest.mark.parametrize("who", ["officer", "reviewer", "auditor"])
def test_generating_is_refused_to_other_roles(team, as_user, who):
    response = post(as_user(team[who]), "/disclosure/reports/generate", body_id=team["body"].id)
    assert response.status_code == 403 and count_reports() == 0


def test_another_bodys_head_cannot_generate_for_this_body(make, team, as_user):
    stranger = make.user(Role.HEAD, body=make.body())
    response = post(as_user(stranger), "/disclosure/reports/generate", body_id=team["body"].id)
    assert response.status_code == 404 and count_reports() == 0


@pytest.mark.parametrize("year, words", [(str(LAST_YEAR + 1), "has not ended"), ("20x5", "four digits")])
def test_a_refused_year_is_said_on_the_list(team, as_user, year, words):
    client = as_user(team["head"])
    response = post(client, "/disclosure/reports/generate", body_id=team["body"].id, year=year)
    assert response.status_code == 302 and response.headers["Location"].endswith("/disclosure/reports")
    assert words in text(client.get("/disclosure/reports")) and count_reports() == 0


@pytest.mark.parametrize("token", [None, "forged"])
def test_every_post_refuses_a_missing_or_forged_csrf_token(team, report, as_user, token):
    client = as_user(team["head"])
    data = {} if token is None else {"csrf_token": token}
    for path, extra in (("/disclosure/reports/generate", {"body_id": team["body"].id}),
                        (f"/disclosure/reports/{report.id}/publish", {}),
                        (f"/disclosure/reports/{report.id}/verify", {})):
        response = client.post(path, data={**data, **extra})
        assert response.status_code == 400, path
    db.session.expire_all()
    assert count_reports() == 1 and db.session.get(AnnualReport, report.id).published_at is None


# --- the report, its figures and their cases --------------------------------------------------------------

def test_each_figure_links_to_the_cases_it_counts(team, fined, report, as_user):
    client = as_user(team["officer"])
    page = text(client.get(f"/disclosure/reports/{report.id}"))
    assert "罚款金额（元）" in page and "5,000.00" in page
    link = f"/disclosure/reports/{report.id}/figures/penalties.fines"
    assert f'href="{link}"' in page
    assert f'href="/disclosure/reports/{report.id}/figures/reviews.failed"' not in page  # zero: nothing to list
    listing = text(client.get(link))
    assert fined.number in listing and f'href="/cases/{fined.id}"' in listing


def test_a_county_auditor_reads_the_report_and_its_cases_but_changes_nothing(make, team, fined, report, as_user):
    county = make.body(name="测试县司法局")
    team["body"].parent_id = county.id
    db.session.commit()
    auditor = make.user(Role.AUDITOR, body=county)
    client = as_user(auditor)
    page = text(client.get(f"/disclosure/reports/{report.id}"))
    assert "Publish this revision" not in page and "Generate again" not in page
    assert fined.number in text(client.get(f"/disclosure/reports/{report.id}/figures/cases.total"))
    assert post(client, f"/disclosure/reports/{report.id}/publish").status_code == 403
    assert post(client, "/disclosure/reports/generate", body_id=team["body"].id).status_code == 403
    db.session.expire_all()
    assert db.session.get(AnnualReport, report.id).published_at is None and count_reports() == 1


def test_the_admin_sees_the_figures_but_not_the_cases(team, fined, report, as_user):
    client = as_user(team["admin"])
    assert client.get(f"/disclosure/reports/{report.id}").status_code == 200
    listing = text(client.get(f"/disclosure/reports/{report.id}/figures/cases.total"))
    assert fined.number not in listing and "1 counted cases are outside what you may see" in listing


def test_another_bodys_staff_find_no_report(make, team, report, as_user):
    client = as_user(make.user(Role.OFFICER, body=make.body()))
    for path in (f"/disclosure/reports/{report.id}", f"/disclosure/reports/{report.id}/figures/cases.total",
                 f"/disclosure/reports/{report.id}.xlsx", f"/disclosure/reports/{report.id}.pdf",
                 f"/disclosure/reports/{report.id}/verify"):
        assert client.get(path).status_code == 404, path
    assert team["body"].name not in text(client.get("/disclosure/reports"))


def test_an_unknown_figure_is_not_found(team, report, as_user):
    assert as_user(team["head"]).get(f"/disclosure/reports/{report.id}/figures/nothing.here").status_code == 404


# --- publishing and verifying ---------------------------------------------------------------------------------

def test_the_head_publishes_and_the_public_page_shows_it(team, report, as_user, anonymous):
    client = as_user(team["head"])
    assert "Publish this revision" in text(client.get(f"/disclosure/reports/{report.id}"))
    response = post(client, f"/disclosure/reports/{report.id}/publish")
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "is published on the public pages" in page and "Publish this revision" not in page
    assert f"/public/statistics/{report.id}" in text(anonymous.get("/public/statistics"))


@pytest.mark.parametrize("who", ["officer", "reviewer", "auditor", "admin"])
def test_publishing_is_refused_to_other_roles(team, report, as_user, who):
    client = as_user(team[who])
    assert "Publish this revision" not in text(client.get(f"/disclosure/reports/{report.id}"))
    assert post(client, f"/disclosure/reports/{report.id}/publish").status_code == 403
    db.session.expire_all()
    assert db.session.get(AnnualReport, report.id).published_at is None


def test_an_older_revision_is_refused_with_a_message(team, report, as_user):
    newer = annual.generate(team["body"], LAST_YEAR, actor=team["head"])
    db.session.commit()
    client = as_user(team["head"])
    page = text(client.get(f"/disclosure/reports/{report.id}"))
    assert "only the latest revision can be published" in page and "Publish this revision" not in page
    response = post(client, f"/disclosure/reports/{report.id}/publish")
    assert response.status_code == 302
    assert f"publish revision {newer.revision} of {LAST_YEAR} instead" in text(client.get(response.headers["Location"]))
    db.session.expire_all()
    assert annual.latest_published(team["body"].id, LAST_YEAR) is None


def test_verify_says_whether_the_data_changed(team, fined, report, as_user):
    client = as_user(team["auditor"])
    assert "Unchanged" in text(client.get(f"/disclosure/reports/{report.id}/verify"))
    db.session.get(Case, fined.id).source = "complaint"
    db.session.commit()
    page = text(post(client, f"/disclosure/reports/{report.id}/verify"))
    assert "Changed" in page and "changed since it was generated" in page


# --- exports ---------------------------------------------------------------------------------------------------

def test_the_staff_excel_lists_the_case_numbers_and_the_pdf_is_a_pdf(team, fined, report, as_user):
    from openpyxl import load_workbook

    client = as_user(team["officer"])
    response = client.get(f"/disclosure/reports/{report.id}.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    fines = next(r for r in rows if r[0] == "罚款（件）")
    assert fines[1] == 1 and fines[2] == fined.number
    response = client.get(f"/disclosure/reports/{report.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")


# --- the public pages --------------------------------------------------------------------------------------------

def assert_nothing_of_the_case(body: bytes | str, case: Case) -> None:
    words = body if isinstance(body, str) else body.decode("utf-8", "replace")
    assert case.number not in words and case.party_name not in words
    assert f"/cases/{case.id}" not in words and "case_ids" not in words


def test_the_public_pages_need_no_login_and_show_no_case(fined, published, anonymous):
    listing = anonymous.get("/public/statistics")
    assert listing.status_code == 200
    assert f"/public/statistics/{published.id}" in text(listing)
    page = anonymous.get(f"/public/statistics/{published.id}")
    assert page.status_code == 200
    words = text(page)
    assert "罚款金额（元）" in words and "5,000.00" in words and published.source_digest in words
    assert "/disclosure/reports" not in words
    assert_nothing_of_the_case(words, fined)
    assert page.headers["Cache-Control"].startswith("public")


def test_the_public_exports_carry_no_case(fined, published, anonymous):
    from openpyxl import load_workbook

    response = anonymous.get(f"/public/statistics/{published.id}.xlsx")
    assert response.status_code == 200
    cells = [str(c) for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
             for c in row if c is not None]
    assert "罚款（件）" in cells
    assert_nothing_of_the_case(" ".join(cells), fined)
    response = anonymous.get(f"/public/statistics/{published.id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


def test_an_unpublished_report_is_not_public(report, anonymous):
    assert f"/public/statistics/{report.id}" not in text(anonymous.get("/public/statistics"))
    for path in (f"/public/statistics/{report.id}", f"/public/statistics/{report.id}.xlsx",
                 f"/public/statistics/{report.id}.pdf"):
        assert anonymous.get(path).status_code == 404, path


def test_a_corrected_revision_replaces_the_older_on_the_public_pages(team, published, anonymous):
    newer = annual.generate(team["body"], LAST_YEAR, actor=team["head"])
    db.session.commit()
    assert f"/public/statistics/{published.id}" in text(anonymous.get("/public/statistics"))
    annual.publish(newer, actor=team["head"])
    db.session.commit()
    listing = text(anonymous.get("/public/statistics"))
    assert f"/public/statistics/{newer.id}" in listing and f'/public/statistics/{published.id}"' not in listing
    old = text(anonymous.get(f"/public/statistics/{published.id}"))
    assert "replaced by a corrected one" in old and f"/public/statistics/{newer.id}" in old


@pytest.mark.real_pdf("statistics_pdf")
def test_the_public_pdf_is_rendered_with_the_cjk_font(fined, published, anonymous):
    from pypdf import PdfReader

    try:
        documents.font_path()
    except documents.FontMissing:
        pytest.skip("no CJK font")
    response = anonymous.get(f"/public/statistics/{published.id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    words = re.sub(r"\s", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
                   .replace("\x00", ""))
    assert "行政执法数据" in words and fined.number not in words and fined.party_name not in words
