"""The notice, hearing and decision screens and the case page's panels, over HTTP, for every role.

Pages are read in English (Accept-Language: en) so the assertions hold once the Chinese
translations land. The record-completeness rules are emptied (they have their own tests): the
gates under test here are the notice, the review, the band, the notice's ceiling and the 90 days.
"""
from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from enforcement.extensions import db
from enforcement.models import Case, Decision, DiscretionBand, Notice, Role, Stage
from enforcement.services import calendar, workflow
from tests.conftest import csrf_token
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("without_record_rules")

TODAY = date.today()
CONTENT = "责令当事人于十五日内自行拆除违法建设的住房"
BASIS = "《中华人民共和国城乡规划法》第六十五条"
PERFORMANCE = "自收到本决定书之日起十五日内自行拆除"


# --- helpers --------------------------------------------------------------------------------------------

def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def refreshed(case: Case) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case.id)


def post(client, case: Case, path: str, **data):
    """POST with the CSRF token and the case's current version, as the pages send them."""
    payload = {"csrf_token": csrf_token(client, f"/cases/{case.id}"), "version": str(refreshed(case).version), **data}
    return client.post(path, data=payload)


def section(page: str, anchor: str) -> str:
    """The case page's panel with that id."""
    return page.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


def flashes(client, case: Case) -> str:
    page = text(client.get(f"/cases/{case.id}"))
    return page.split('<div class="flashes"', 1)[1].split("</div>\n", 2)[0] if '<div class="flashes"' in page else ""


def in_notice(make, team, *, matter=None, **kw) -> Case:
    """A case filed, approved and moved to the notice stage."""
    case = make.case(team, approve=True, matter=matter, **kw)
    workflow.advance(case, Stage.NOTICE, actor=team["officer"])
    db.session.commit()
    return case


def minor_case(make, team, **kw) -> Case:
    """A case whose decision is not major: no route, not in the catalogue, no threshold."""
    matter = make.matter(team["body"], route=None)
    return in_notice(make, team, matter=matter, route=None, **kw)


def notice_data(**overrides) -> dict:
    data = {"decision_type": "demolition", "fine_amount": "", "confiscation_value": "", "content": CONTENT,
            "legal_basis": BASIS, "served_on": TODAY.isoformat(), "service_method": "直接送达", "hearing_offered": "y"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def decision_data(**overrides) -> dict:
    data = {"decision_type": "demolition", "fine_amount": "", "confiscation_value": "", "content": CONTENT,
            "legal_basis": BASIS, "discretion_band": "", "outside_band_reason": "", "performance": PERFORMANCE,
            "password": PASSWORD}
    data.update(overrides)
    return data


def reviewed(make, team, **kw) -> Case:
    """A major case with its notice, a passed review of the dossier as it is, and the collective discussion."""
    case = in_notice(make, team, **kw)
    make.notice(case, actor=team["officer"])
    request = make.submit_review(case, actor=team["officer"])
    make.sign_review(request, team["reviewer"])
    make.discussion(case, team["head"])
    return case


# --- the notice (告知) ----------------------------------------------------------------------------------

def test_officer_records_the_notice_and_the_hearing_deadline_is_computed(make, team, as_user):
    case = in_notice(make, team)
    client = as_user(team["officer"])
    form = text(client.get(f"/cases/{case.id}/notice"))
    assert "Record the notice of the intended decision (告知)" in form
    assert case.matter.legal_basis in form  # prefilled from the matter
    assert 'name="hearing_deadline"' not in form  # never typed
    response = post(client, case, f"/cases/{case.id}/notice", **notice_data())
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.id}#notice")
    notice = db.session.scalar(select(Notice).where(Notice.case_id == case.id))
    assert notice.hearing_deadline == calendar.add_working_days(TODAY, 5)
    page = text(client.get(f"/cases/{case.id}"))
    assert f"The party may ask for a hearing until {notice.hearing_deadline.isoformat()}" in page
    panel = section(page, "notice")
    assert CONTENT in panel and "直接送达" in panel and notice.hearing_deadline.isoformat() in panel
    assert "the period is running" in panel
    problems = panel.split('id="notice-problems"', 1)[1]
    assert "statement and defence (陈述申辩) is not recorded" in problems
    assert "may still ask for a hearing until" in problems


def test_notice_field_errors_appear_beside_the_fields(make, team, as_user):
    case = in_notice(make, team)
    client = as_user(team["officer"])
    response = post(client, case, f"/cases/{case.id}/notice",
                    **notice_data(decision_type="", fine_amount="abc", content="", served_on=""))
    assert response.status_code == 422
    page = text(response)
    for message in ("Choose the kind of decision.", "The fine must be an amount in yuan.",
                    "Write out the decision: what is ordered and by when.", "Enter the date the notice was served."):
        assert re.search(rf'<div class="field[^"]*has-error">.*?{re.escape(message)}', page, re.S), message
    negative = text(post(client, case, f"/cases/{case.id}/notice", **notice_data(fine_amount="-5")))
    assert "The fine cannot be negative." in negative
    assert db.session.scalar(select(Notice).where(Notice.case_id == case.id)) is None


def test_notice_served_in_the_future_is_refused(make, team, as_user):
    case = in_notice(make, team)
    client = as_user(team["officer"])
    response = post(client, case, f"/cases/{case.id}/notice",
                    **notice_data(served_on=(TODAY + timedelta(days=2)).isoformat()))
    assert response.status_code == 422
    refused = text(response).split('id="refused"', 1)[1]
    assert "The notice was not recorded" in text(response)
    assert "The notice cannot be served in the future." in refused
    before = text(post(client, case, f"/cases/{case.id}/notice",
                       **notice_data(served_on=(case.filed_on - timedelta(days=1)).isoformat())))
    assert "The notice cannot be served before the case was filed." in before
    assert db.session.scalar(select(Notice).where(Notice.case_id == case.id)) is None


def test_notice_outside_the_notice_stage_is_refused(make, team, as_user):
    case = make.case(team, approve=True)  # investigation
    client = as_user(team["officer"])
    assert "This case is in Investigation: the notice is recorded in the notice stage." in text(
        client.get(f"/cases/{case.id}/notice"))
    response = post(client, case, f"/cases/{case.id}/notice", **notice_data())
    assert response.status_code == 422
    assert "recorded in the notice stage" in text(response)


@pytest.mark.parametrize("role", ["reviewer", "auditor"])
def test_only_the_officers_and_the_head_record_the_notice(make, team, as_user, role):
    case = in_notice(make, team)
    client = as_user(team[role])
    assert client.get(f"/cases/{case.id}/notice").status_code == 403
    assert post(client, case, f"/cases/{case.id}/notice", **notice_data()).status_code == 403
    page = text(client.get(f"/cases/{case.id}"))
    assert f'href="/cases/{case.id}/notice"' not in page
    assert as_user(team["head"]).get(f"/cases/{case.id}/notice").status_code == 200


def test_the_screens_of_another_bodys_case_are_not_found(make, team, as_user):
    case = in_notice(make, team)
    stranger = make.team()
    for user in (stranger["officer"], stranger["head"]):
        client = as_user(user)
        for path in ("notice", "decision"):
            assert client.get(f"/cases/{case.id}/{path}").status_code == 404
        token = csrf_token(client, "/cases/")
        for path in ("notice", "notice/statement", "notice/hearing-request", "notice/hearing", "decision",
                     "extension"):
            response = client.post(f"/cases/{case.id}/{path}", data={"csrf_token": token, "version": case.version})
            assert response.status_code == 404, path


# --- statement and hearing ---------------------------------------------------------------------------------

def test_statement_is_recorded_or_its_waiver(make, team, as_user):
    case = in_notice(make, team)
    client = as_user(team["officer"])
    post(client, case, f"/cases/{case.id}/notice", **notice_data(hearing_offered=None))
    page = text(client.get(f"/cases/{case.id}"))
    assert 'id="statement-form"' in page and 'id="hearing-request-form"' not in page  # no hearing offered
    assert "not offered in the notice" in section(page, "notice")

    post(client, case, f"/cases/{case.id}/notice/statement", statement="", waived="")
    assert "Write down the party's statement and defence, or record that the party waived it." in flashes(client, case)
    post(client, case, f"/cases/{case.id}/notice/statement", statement="我不同意", waived="y")
    assert "Either record the statement or that the party waived it, not both." in flashes(client, case)

    response = post(client, case, f"/cases/{case.id}/notice/statement", statement="当事人称房屋系自住，请求从轻处理")
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "The party's statement and defence is recorded." in page
    assert "当事人称房屋系自住，请求从轻处理" in section(page, "notice")
    assert 'id="notice-problems"' not in page  # nothing left: no hearing offered, statement recorded

    post(client, case, f"/cases/{case.id}/notice/statement", statement="", waived="y")
    assert "the party waived it" in section(text(client.get(f"/cases/{case.id}")), "notice")


def test_hearing_request_within_the_five_working_days(make, team, as_user):
    case = in_notice(make, team)
    make.notice(case, actor=team["officer"], hearing_offered=True)
    client = as_user(team["officer"])
    assert 'id="hearing-request-form"' in text(client.get(f"/cases/{case.id}"))
    response = post(client, case, f"/cases/{case.id}/notice/hearing-request", requested_on=TODAY.isoformat())
    assert response.status_code == 302
    page = text(client.get(f"/cases/{case.id}"))
    assert f"The request for a hearing of {TODAY.isoformat()} is recorded" in page
    panel = section(page, "notice")
    assert "Hearing requested on" in panel and "hold it and record its hearing record" in panel


def test_hearing_request_after_the_five_working_days_is_refused(make, team, as_user):
    served = TODAY - timedelta(days=20)
    case = in_notice(make, team, filed_on=TODAY - timedelta(days=30))
    make.notice(case, actor=team["officer"], hearing_offered=True, served_on=served)
    deadline = calendar.add_working_days(served, 5)
    client = as_user(team["officer"])
    assert "the period has passed" in section(text(client.get(f"/cases/{case.id}")), "notice")
    response = post(client, case, f"/cases/{case.id}/notice/hearing-request", requested_on=TODAY.isoformat())
    assert response.status_code == 302
    shown = flashes(client, case)
    assert f"after the 5 working days that ended on {deadline.isoformat()}" in shown
    assert refreshed(case) and db.session.scalar(select(Notice.hearing_requested_on)) is None


def test_hearing_request_needs_a_date(make, team, as_user):
    case = in_notice(make, team)
    make.notice(case, actor=team["officer"], hearing_offered=True)
    client = as_user(team["officer"])
    post(client, case, f"/cases/{case.id}/notice/hearing-request", requested_on="")
    assert "Enter the date of the request." in flashes(client, case)


def test_hearing_needs_its_record_uploaded_first(make, team, as_user):
    case = in_notice(make, team)
    make.notice(case, actor=team["officer"], hearing_offered=True)
    client = as_user(team["officer"])
    post(client, case, f"/cases/{case.id}/notice/hearing-request", requested_on=TODAY.isoformat())
    page = text(client.get(f"/cases/{case.id}"))
    assert "upload its hearing record (听证笔录) first" in page
    assert f'href="/cases/{case.id}/records/new"' in section(page, "notice")
    assert 'id="hearing-form"' not in page

    record = make.record(refreshed(case), "hearing_record", filename="听证笔录.pdf")
    page = text(client.get(f"/cases/{case.id}"))
    assert 'id="hearing-form"' in page and "听证笔录.pdf" in section(page, "notice")
    post(client, case, f"/cases/{case.id}/notice/hearing", held_on=TODAY.isoformat(), record_id="")
    assert "Choose the hearing record." in flashes(client, case)
    response = post(client, case, f"/cases/{case.id}/notice/hearing", held_on=TODAY.isoformat(),
                    record_id=str(record.id))
    assert response.status_code == 302
    page = text(client.get(f"/cases/{case.id}"))
    assert f"The hearing of {TODAY.isoformat()} is recorded with its hearing record." in page
    assert f'href="/records/{record.id}"' in section(page, "notice")
    assert "a hearing was held" in section(page, "review")  # the decision became major


@pytest.mark.parametrize("path", ["notice/statement", "notice/hearing-request", "notice/hearing"])
def test_notice_forms_are_for_the_officers_on_the_case(make, team, as_user, path):
    case = in_notice(make, team)
    make.notice(case, actor=team["officer"], hearing_offered=True)
    for user in (team["auditor"], team["reviewer"], make.user(Role.OFFICER, body=team["body"])):
        response = post(as_user(user), case, f"/cases/{case.id}/{path}", statement="x",
                        requested_on=TODAY.isoformat())
        assert response.status_code == 403


# --- the decision (决定) ------------------------------------------------------------------------------------

def test_head_makes_a_decision_that_is_not_major(make, team, as_user):
    case = minor_case(make, team)
    make.notice(case, actor=team["officer"], decision_type="warning")
    head = as_user(team["head"])
    page = text(head.get(f"/cases/{case.id}"))
    assert f'href="/cases/{case.id}/decision"' in section(page, "decision")
    form = text(head.get(f"/cases/{case.id}/decision"))
    assert "Every condition is met: the decision may be signed." in form
    assert re.search(r'<option selected value="warning">|<option value="warning" selected', form)
    assert CONTENT in form  # prefilled from the notice
    assert "Not major on what the notice proposes." in form
    response = post(head, case, f"/cases/{case.id}/decision",
                    **decision_data(decision_type="warning", content="警告", performance="即时生效"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.id}#decision")
    assert refreshed(case).stage == Stage.DECISION.value
    decision = db.session.scalar(select(Decision).where(Decision.case_id == case.id))
    assert decision.signed_by_id == team["head"].id and decision.decision_type == "warning"
    page = text(head.get(f"/cases/{case.id}"))
    assert "The decision is signed and final." in page
    panel = section(page, "decision")
    assert "The decision in force" in panel and "warning (警告)" in panel and team["head"].name in panel
    assert f'href="/records/{decision.document_record_id}"' in panel
    assert f'href="/decisions/{decision.id}/replace"' in panel
    assert "Make the decision" not in panel


@pytest.mark.parametrize("role", ["officer", "reviewer", "auditor"])
def test_only_the_head_makes_the_decision(make, team, as_user, role):
    case = minor_case(make, team)
    make.notice(case, actor=team["officer"], decision_type="warning")
    client = as_user(team[role])
    assert client.get(f"/cases/{case.id}/decision").status_code == 403
    response = post(client, case, f"/cases/{case.id}/decision", **decision_data(decision_type="warning"))
    assert response.status_code == 403
    assert f'href="/cases/{case.id}/decision"' not in text(client.get(f"/cases/{case.id}"))
    assert refreshed(case).stage == Stage.NOTICE.value and db.session.scalar(select(Decision.id)) is None


def test_a_wrong_password_is_said_beside_the_field_and_nothing_is_signed(make, team, as_user):
    case = minor_case(make, team)
    make.notice(case, actor=team["officer"], decision_type="warning")
    head = as_user(team["head"])
    response = post(head, case, f"/cases/{case.id}/decision",
                    **decision_data(decision_type="warning", password="wrong-password"))
    assert response.status_code == 422
    assert re.search(r'has-error">.*?The password is not correct: nothing was signed.', text(response), re.S)
    missing = text(post(head, case, f"/cases/{case.id}/decision",
                        **decision_data(decision_type="warning", password="", performance="")))
    assert "Enter your password to sign." in missing
    assert "Say how and by when the decision is to be carried out." in missing
    assert refreshed(case).stage == Stage.NOTICE.value


def test_major_decision_after_a_passed_review_of_this_dossier(make, team, as_user):
    case = reviewed(make, team)
    head = as_user(team["head"])
    form = text(head.get(f"/cases/{case.id}/decision"))
    assert "Every condition is met" in form and "a demolition order is treated as major" in form
    assert "passed on" in form and team["reviewer"].name in form
    response = post(head, case, f"/cases/{case.id}/decision", **decision_data())
    assert response.status_code == 302, text(response)
    decision = db.session.scalar(select(Decision).where(Decision.case_id == case.id))
    assert decision.major and decision.review_request_id is not None


def test_decision_with_a_stale_review_is_refused(make, team, as_user):
    case = reviewed(make, team)
    make.record(refreshed(case), "site_photo")  # evidence added after the sign-off
    head = as_user(team["head"])
    page = text(head.get(f"/cases/{case.id}"))
    assert "no longer matches the dossier" in section(page, "review")
    assert "no longer matches the dossier" in page.split('id="unmet-decision"', 1)[1].split("</ul>", 1)[0]
    form = text(head.get(f"/cases/{case.id}/decision"))
    assert "no longer matches the dossier" in form.split('id="unmet-decision"', 1)[1].split("</ul>", 1)[0]
    response = post(head, case, f"/cases/{case.id}/decision", **decision_data())
    assert response.status_code == 422
    refused = text(response).split('id="unmet-decision"', 1)[1].split("</ul>", 1)[0]
    assert "The decision was refused" in text(response) and "no longer matches the dossier" in refused
    assert refreshed(case).stage == Stage.REVIEW.value and db.session.scalar(select(Decision.id)) is None
    # the officer sees it too, and may submit again
    officer_page = text(as_user(team["officer"]).get(f"/cases/{case.id}"))
    assert 'id="review-stale"' in officer_page
    assert f'href="/cases/{case.id}/review/submit"' in section(officer_page, "review")


def test_decision_above_what_the_notice_proposed_is_refused(make, team, as_user):
    case = minor_case(make, team)
    make.notice(case, actor=team["officer"], decision_type="fine", fine_amount=Decimal("1000"))
    head = as_user(team["head"])
    response = post(head, case, f"/cases/{case.id}/decision",
                    **decision_data(decision_type="fine", fine_amount="2000"))
    assert response.status_code == 422
    assert "The fine of ¥2,000.00 exceeds the ¥1,000.00 the notice proposed" in text(response)
    heavier = text(post(head, case, f"/cases/{case.id}/decision", **decision_data(decision_type="demolition")))
    assert "heavier in kind than the notice proposed" in heavier
    assert refreshed(case).stage == Stage.NOTICE.value
    assert post(head, case, f"/cases/{case.id}/decision",
                **decision_data(decision_type="fine", fine_amount="800")).status_code == 302


def test_the_discretion_band_is_shown_and_a_fine_outside_it_needs_a_reason(make, team, as_user):
    matter = make.matter(team["body"], route=None)
    light = DiscretionBand(matter_id=matter.id, circumstance="情节轻微", measures="责令改正，处500元以下罚款",
                           fine_min=Decimal("0"), fine_max=Decimal("500"), sort=1)
    usual = DiscretionBand(matter_id=matter.id, circumstance="一般情节", measures="处500元以上2000元以下罚款",
                           fine_min=Decimal("500"), fine_max=Decimal("2000"), sort=2)
    db.session.add_all([light, usual])
    db.session.commit()
    case = in_notice(make, team, matter=matter, route=None)
    make.notice(case, actor=team["officer"], decision_type="fine", fine_amount=Decimal("1000"))
    head = as_user(team["head"])
    form = text(head.get(f"/cases/{case.id}/decision"))
    bands = form.split('id="bands"', 1)[1].split("</table>", 1)[0]
    assert "情节轻微" in bands and "¥0.00 – ¥500.00" in bands and "处500元以上2000元以下罚款" in bands
    usual_row = bands.split("一般情节", 1)[1].split("</tr>", 1)[0]
    assert "the proposed fine lies in this band" in usual_row
    assert re.search(rf'<option selected value="{usual.id}">|<option value="{usual.id}" selected', form)

    response = post(head, case, f"/cases/{case.id}/decision",
                    **decision_data(decision_type="fine", fine_amount="1000", discretion_band=str(light.id)))
    assert response.status_code == 422
    assert "lies outside the band 情节轻微 (¥0.00 – ¥500.00): give the reason" in text(response)
    fine = post(head, case, f"/cases/{case.id}/decision",
                **decision_data(decision_type="fine", fine_amount="1000", discretion_band=str(usual.id)))
    assert fine.status_code == 302
    assert "一般情节 (¥500.00 – ¥2,000.00)" in section(text(head.get(f"/cases/{case.id}")), "decision")


def test_after_the_ninety_days_the_decision_needs_the_heads_extension(make, team, as_user):
    case = minor_case(make, team, filed_on=TODAY - timedelta(days=100))
    make.notice(case, actor=team["officer"], decision_type="warning", served_on=TODAY - timedelta(days=20))
    due = refreshed(case).decision_due_on
    head = as_user(team["head"])
    assert "overdue by" in section(text(head.get(f"/cases/{case.id}")), "decision")
    response = post(head, case, f"/cases/{case.id}/decision", **decision_data(decision_type="warning"))
    assert response.status_code == 422
    assert f"The 90-day limit for the decision ended on {due.isoformat()}" in text(response)

    officer = as_user(team["officer"])
    assert 'id="extension-form"' not in text(officer.get(f"/cases/{case.id}"))
    new_due = (TODAY + timedelta(days=30)).isoformat()
    assert post(officer, case, f"/cases/{case.id}/extension", new_due=new_due, reason="x").status_code == 403
    post(head, case, f"/cases/{case.id}/extension", new_due=new_due, reason="")
    assert "Give the reason for the extension." in flashes(head, case)
    post(head, case, f"/cases/{case.id}/extension", new_due=(due - timedelta(days=1)).isoformat(), reason="案情复杂")
    assert f"The new limit must be later than {due.isoformat()}" in flashes(head, case)
    assert refreshed(case).decision_due_on == due

    assert post(head, case, f"/cases/{case.id}/extension", new_due=new_due,
                reason="需补充测绘，经负责人批准延长").status_code == 302
    page = text(head.get(f"/cases/{case.id}"))
    assert f"The limit for the decision is extended to {new_due}" in page
    panel = section(page, "decision")
    assert "需补充测绘，经负责人批准延长" in panel and f"{due.isoformat()} → {new_due}" in panel
    assert post(head, case, f"/cases/{case.id}/decision",
                **decision_data(decision_type="warning")).status_code == 302


def test_the_decision_form_lists_the_unmet_conditions_before_signing(make, team, as_user):
    case = in_notice(make, team)
    make.notice(case, actor=team["officer"])
    head = as_user(team["head"])
    form = text(head.get(f"/cases/{case.id}/decision"))
    unmet = form.split('id="unmet-decision"', 1)[1].split("</ul>", 1)[0]
    assert "must pass legal review before the decision" in unmet
    assert "Say how and by when" not in unmet  # the field asks for it; not a condition of the case
    assert "a demolition order is treated as major" in form
    assert re.search(r"\d+ days left", form)


# --- revoking and changing ---------------------------------------------------------------------------------

def test_head_changes_then_revokes_a_decision_with_reasons(make, team, as_user):
    case = minor_case(make, team)
    make.notice(case, actor=team["officer"], decision_type="fine", fine_amount=Decimal("1000"))
    decision = make.decide(case, team)
    head = as_user(team["head"])
    form = text(head.get(f"/decisions/{decision.id}/replace"))
    assert "Revoke or change the decision" in form and "¥1,000.00" in form

    response = post(head, case, f"/decisions/{decision.id}/replace",
                    **decision_data(kind="change", reason="", decision_type="fine", fine_amount="500"))
    assert response.status_code == 422
    assert "Give the reason for revoking or changing the decision." in text(response)
    assert db.session.scalar(select(Decision.id).where(Decision.replaces_id == decision.id)) is None

    response = post(head, case, f"/decisions/{decision.id}/replace",
                    **decision_data(kind="change", reason="复议机关认为罚款过重", decision_type="fine", fine_amount="500",
                                    content="罚款五百元"))
    assert response.status_code == 302, text(response)
    change = db.session.scalar(select(Decision).where(Decision.replaces_id == decision.id))
    panel = section(text(head.get(f"/cases/{case.id}")), "decision")
    assert "changed decision" in panel and "¥500.00" in panel
    replaced = panel.split('id="replaced-decisions"', 1)[1]
    assert "¥1,000.00" in replaced and "复议机关认为罚款过重" in replaced

    stale = post(head, case, f"/decisions/{decision.id}/replace",
                 **decision_data(kind="revocation", reason="再次", password=PASSWORD))
    assert stale.status_code == 422 and "revoked or changed already" in text(stale)

    response = post(head, case, f"/decisions/{change.id}/replace",
                    kind="revocation", reason="决定认定事实错误", password=PASSWORD)
    assert response.status_code == 302, text(response)
    panel = section(text(head.get(f"/cases/{case.id}")), "decision")
    assert "The decision was revoked" in panel and "决定认定事实错误" in panel
    assert "Revoke or change the decision" not in panel


def test_replacing_a_decision_is_for_the_head_of_the_body(make, team, as_user):
    case = minor_case(make, team)
    make.notice(case, actor=team["officer"], decision_type="warning")
    decision = make.decide(case, team)
    for role in ("officer", "reviewer", "auditor"):
        client = as_user(team[role])
        assert client.get(f"/decisions/{decision.id}/replace").status_code == 403
        assert post(client, case, f"/decisions/{decision.id}/replace", kind="revocation", reason="x",
                    password=PASSWORD).status_code == 403
        assert f"/decisions/{decision.id}/replace" not in text(client.get(f"/cases/{case.id}"))
    stranger = as_user(make.team()["head"])
    assert stranger.get(f"/decisions/{decision.id}/replace").status_code == 404
    assert as_user(team["head"]).get("/decisions/999999/replace").status_code == 404
    assert as_user(team["head"]).get("/decisions/99999999999/replace").status_code == 404


# --- CSRF -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "forged-token"])
def test_every_decision_post_refuses_a_missing_or_forged_csrf_token(make, team, as_user, token):
    case = minor_case(make, team)
    make.notice(case, actor=team["officer"], decision_type="warning")
    officer, head = as_user(team["officer"]), as_user(team["head"])
    posts = [
        (officer, f"/cases/{case.id}/notice", notice_data()),
        (officer, f"/cases/{case.id}/notice/statement", {"statement": "x"}),
        (officer, f"/cases/{case.id}/notice/hearing-request", {"requested_on": TODAY.isoformat()}),
        (officer, f"/cases/{case.id}/notice/hearing", {"held_on": TODAY.isoformat(), "record_id": "1"}),
        (head, f"/cases/{case.id}/decision", decision_data(decision_type="warning")),
        (head, f"/cases/{case.id}/extension", {"new_due": (TODAY + timedelta(days=200)).isoformat(), "reason": "x"}),
    ]
    for client, path, data in posts:
        data = {**data, "version": str(case.version), **({"csrf_token": token} if token else {})}
        assert client.post(path, data=data).status_code == 400, path
    after = refreshed(case)
    assert after.stage == Stage.NOTICE.value and db.session.scalar(select(Decision.id)) is None
    assert len(db.session.scalars(select(Notice)).all()) == 1
    decision = make.decide(after, team)
    response = head.post(f"/decisions/{decision.id}/replace",
                         data={"kind": "revocation", "reason": "x", "password": PASSWORD,
                               **({"csrf_token": token} if token else {})})
    assert response.status_code == 400
    assert db.session.scalar(select(Decision.id).where(Decision.replaces_id == decision.id)) is None


# --- the case page's panels, for each role --------------------------------------------------------------------

def test_the_case_page_panels_in_review_for_each_role(make, team, as_user):
    case = reviewed(make, team)
    officer = text(as_user(team["officer"]).get(f"/cases/{case.id}"))
    head = text(as_user(team["head"]).get(f"/cases/{case.id}"))
    reviewer = text(as_user(team["reviewer"]).get(f"/cases/{case.id}"))
    auditor = text(as_user(team["auditor"]).get(f"/cases/{case.id}"))
    order = [officer.index(f'id="{anchor}"') for anchor in ("notice", "review", "decision")]
    assert order == sorted(order)  # the panels in stage order
    for page in (officer, head, reviewer, auditor):
        notice = section(page, "notice")
        assert "Notice and hearing (告知/听证)" in notice and CONTENT in notice and TODAY.isoformat() in notice
        review = section(page, "review")
        assert "a demolition order is treated as major" in review
        assert "passed" in review and team["reviewer"].name in review and team["officer"].name in review
        assert re.search(r'href="/reviews/\d+"', review)
        assert "同意作出决定" in review  # the collective discussion
        assert "no longer matches" not in review
        decision = section(page, "decision")
        assert refreshed(case).decision_due_on.isoformat() in decision and "No decision yet." in decision
    assert "Make the decision" in section(head, "decision") and 'id="extension-form"' in head
    assert f'href="/cases/{case.id}/discussion"' in head
    for page in (officer, reviewer, auditor):
        assert "Make the decision" not in page and 'id="extension-form"' not in page
        assert f'href="/cases/{case.id}/discussion"' not in page
    assert f'href="/cases/{case.id}/review/submit"' in officer
    for page in (head, reviewer, auditor):
        assert f'href="/cases/{case.id}/review/submit"' not in page
    assert "<button" not in auditor.split('<main class="page">', 1)[1]
    assert f'action="/cases/{case.id}/' not in auditor and f'action="/cases/{case.id}/' not in reviewer


def test_the_case_page_panels_after_the_decision_for_each_role(make, team, as_user):
    case = in_notice(make, team)
    decision = make.decide(case, team)
    pages = {role: text(as_user(team[role]).get(f"/cases/{case.id}")) for role in
             ("officer", "head", "reviewer", "auditor")}
    for role, page in pages.items():
        panel = section(page, "decision")
        assert "The decision in force" in panel, role
        assert "order demolition within a time limit (限期拆除)" in panel and CONTENT in panel
        assert f'href="/records/{decision.document_record_id}"' in panel
        assert decision.major_reason_list[0] in panel  # why it was major, as stored with the decision
        assert 'id="notice-problems"' not in page and 'id="statement-form"' not in page
    assert f'href="/decisions/{decision.id}/replace"' in pages["head"]
    for role in ("officer", "reviewer", "auditor"):
        assert f'href="/decisions/{decision.id}/replace"' not in pages[role]
    assert "<button" not in pages["auditor"].split('<main class="page">', 1)[1]


def test_a_record_added_after_the_decision_is_marked_everywhere(make, team, as_user):
    case = minor_case(make, team)
    make.notice(case, actor=team["officer"], decision_type="warning")
    before = make.record(case, "site_photo", stage="notice")
    decision = make.decide(refreshed(case), team)
    after = make.record(refreshed(case), "other", filename="补充材料.pdf")
    client = as_user(team["auditor"])
    records = text(client.get(f"/cases/{case.id}")).split('id="record-list"', 1)[1].split("</table>", 1)[0]
    rows = {m.group(1): m.group(0) for m in re.finditer(r'href="/records/(\d+)".*?</tr>', records, re.S)}
    badge = "added after the decision (证据规定 art. 60)"
    assert badge in rows[str(after.id)]
    assert badge not in rows[str(before.id)] and badge not in rows[str(decision.document_record_id)]
    assert badge in text(client.get(f"/records/{after.id}"))
    assert badge not in text(client.get(f"/records/{before.id}"))
