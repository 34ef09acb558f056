"""The legal-review screens (法制审核, issue 4): the officer's request, the reviewers' queue, the
request page with the review form, disputes, collective discussion and lending a case to a
reviewer of another body — for every role, over HTTP.

Pages are read in English (Accept-Language: en) so the assertions hold once the Chinese
translations land. The completeness rules for records are emptied (`without_record_rules`):
these tests are about the review, and add the records they need themselves.
"""
from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from flask import request_started
from sqlalchemy import func, select

from enforcement.extensions import db
from enforcement.models import (AuditEvent, Case, CollectiveDiscussion, Record, ReviewerAssignment, ReviewRequest,
                                Role, Stage)
from enforcement.services import catalogue, review, workflow
from tests.conftest import csrf_token
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("without_record_rules")

CONTENT = "责令当事人于十五日内自行拆除违法建设的住房"
BASIS = "《中华人民共和国城乡规划法》第六十五条"
NOTE = "现场照片不足以证明建筑面积，请补充测量记录"


# --- helpers --------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def fresh_globals_per_request(app):
    """Each request starts with an empty `g`, as on a real server (the test's app context outlives it)."""
    from flask import g

    def forget(_sender, **_extra):
        g.__dict__.clear()
    request_started.connect(forget, app)
    yield
    request_started.disconnect(forget, app)


@pytest.fixture
def as_user(app):
    """as_user(user) -> a test client logged in as that user, reading English pages."""
    def login(user):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, f"login of {user.username} failed"
        return client
    return login


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def refreshed(model, object_id):
    db.session.expire_all()
    return db.session.get(model, object_id)


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def post(client, path: str, data: dict, *, token_from: str):
    return client.post(path, data={"csrf_token": csrf_token(client, token_from), **data})


def in_notice(make, team, *, matter=None, **notice) -> Case:
    """A case in the notice stage with its notice served and the statement waived (demolition: major)."""
    case = make.case(team, approve=True, matter=matter)
    workflow.advance(case, Stage.NOTICE, actor=team["officer"])
    db.session.commit()
    make.notice(case, actor=team["officer"], **notice)
    return case


def submit_data(**overrides) -> dict:
    data = {"decision_type": "demolition", "fine_amount": "", "confiscation_value": "", "content": CONTENT,
            "legal_basis": BASIS, "discretion_band": "", "outside_band_reason": "",
            "handler_opinion": "事实清楚，证据充分，建议责令限期拆除", "attest": "y", "password": PASSWORD}
    data.update(overrides)
    return data


def submit_path(case) -> str:
    return f"/cases/{case.id}/review/submit"


def sign_data(outcome: str = "passed", *, problem: str | None = None, **overrides) -> dict:
    data = {f"check_{code}": "pass" for code in review.CHECK_CODES}
    if problem:
        data[f"check_{problem}"] = "problem"
        data[f"note_{problem}"] = NOTE
    data.update({"opinion": "同意" if outcome == "passed" else "请补充证据后重新提交", "outcome": outcome,
                 "no_conflict": "y", "password": PASSWORD})
    data.update(overrides)
    return data


def sign(client, request_id: int, data: dict):
    return post(client, f"/reviews/{request_id}/sign", data, token_from="/reviews")


def pending(make, team, **notice) -> tuple[Case, ReviewRequest]:
    case = in_notice(make, team, **notice)
    return case, make.submit_review(case, actor=team["officer"])


# --- the officer's request ----------------------------------------------------------------------------

def test_the_request_form_is_prefilled_from_the_notice_and_shows_the_bands_and_the_attestation(make, team, as_user):
    matter = make.matter(team["body"])
    catalogue.add_band(matter, actor=None, circumstance="情节较轻", measures="责令限期改正，处以较低罚款",
                       fine_min="1000", fine_max="10000", sort=1)
    catalogue.add_band(matter, actor=None, circumstance="情节严重", measures="责令限期拆除", sort=2)
    old = catalogue.add_band(matter, actor=None, circumstance="旧标准", fine_min="1", fine_max="2", sort=3)
    catalogue.deactivate_band(old, actor=None)
    db.session.commit()
    case = in_notice(make, team, matter=matter, decision_type="fine", fine_amount="5000")
    response = as_user(team["officer"]).get(submit_path(case))
    assert response.status_code == 200
    page = text(response)
    assert 'value="5000.00"' in page and CONTENT in page and BASIS in page
    assert re.search(r'<option selected value="fine">|<option value="fine" selected>', page)
    assert "情节较轻 · ¥1,000.00 – ¥10,000.00 · 责令限期改正，处以较低罚款" in page  # the range in the select
    assert "情节严重 · no fine range · 责令限期拆除" in page and "旧标准" not in page
    assert str(review.ATTESTATION) in page
    assert "Reason for departing from the discretion standard" in page and "行政处罚法 art. 58" in page


@pytest.mark.parametrize("who", ["head", "reviewer", "auditor"])
def test_only_an_officer_on_the_case_opens_the_request_form(make, team, as_user, who):
    case = in_notice(make, team)
    assert as_user(team[who]).get(submit_path(case)).status_code == 403
    response = post(as_user(team[who]), submit_path(case), submit_data(), token_from=f"/cases/{case.id}")
    assert response.status_code == 403
    assert count(ReviewRequest) == 0


def test_the_request_form_of_another_bodys_case_is_not_found(make, team, as_user):
    case = in_notice(make, team)
    for user in (team["admin"], make.team()["officer"]):
        assert as_user(user).get(submit_path(case)).status_code == 404


def test_the_officer_submits_and_the_case_moves_to_review(make, team, as_user):
    case = in_notice(make, team)
    client = as_user(team["officer"])
    response = post(client, submit_path(case), submit_data(), token_from=submit_path(case))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    made = db.session.scalar(select(ReviewRequest).where(ReviewRequest.case_id == case.id))
    assert made.status == "pending" and made.submitted_by_id == team["officer"].id
    assert made.handler_opinion.startswith("事实清楚") and "案卷材料齐全、真实" in made.attestation
    assert refreshed(Case, case.id).stage == Stage.REVIEW.value
    assert "was submitted for legal review" in text(client.get(f"/cases/{case.id}"))
    # Submitting again while it waits: the form says so instead of offering a second request.
    page = text(client.get(submit_path(case)))
    assert "The case awaits review already" in page and 'name="attest"' not in page


@pytest.mark.parametrize("change, message", [
    ({"attest": ""}, "Attest that the file is complete and true."),
    ({"password": "wrong-password-1"}, "The password is not correct: nothing was signed."),
    ({"content": ""}, "Write out the decision"),
])
def test_a_refused_request_lists_why_and_changes_nothing(make, team, as_user, change, message):
    case = in_notice(make, team)
    client = as_user(team["officer"])
    response = post(client, submit_path(case), submit_data(**change), token_from=submit_path(case))
    assert response.status_code == 422
    assert message in text(response)
    assert count(ReviewRequest) == 0 and refreshed(Case, case.id).stage == Stage.NOTICE.value


def test_a_fine_outside_the_band_needs_the_reason_which_the_reviewer_then_sees(make, team, as_user):
    matter = make.matter(team["body"])
    band = catalogue.add_band(matter, actor=None, circumstance="情节较轻", fine_min="1000", fine_max="10000")
    db.session.commit()
    case = in_notice(make, team, matter=matter, decision_type="fine", fine_amount="50000")
    client = as_user(team["officer"])
    data = submit_data(decision_type="fine", fine_amount="50000", discretion_band=str(band.id))
    response = post(client, submit_path(case), data, token_from=submit_path(case))
    assert response.status_code == 422
    page = text(response)
    assert "lies outside the band 情节较轻 (¥1,000.00 – ¥10,000.00)" in page
    beside = re.search(r'<div class="field\s+has-error">\s*<label for="outside_band_reason">.*?</div>', page, re.S)
    assert beside and "give the reason for departing" in beside.group(0)  # also beside the field
    assert count(ReviewRequest) == 0

    response = post(client, submit_path(case), {**data, "outside_band_reason": "违法建筑面积远超一般情形"},
                    token_from=submit_path(case))
    assert response.status_code == 302
    made = db.session.scalar(select(ReviewRequest).where(ReviewRequest.case_id == case.id))
    assert made.outside_band_reason == "违法建筑面积远超一般情形"
    page = text(as_user(team["reviewer"]).get(f"/reviews/{made.id}"))
    assert re.search(r'id="outside-band-reason">.*违法建筑面积远超一般情形', page, re.S)
    assert "the fine lies outside this band" in page
    assert "罚款超出裁量基准（情节较轻）" in page  # a reason why it is major, as stored (in Chinese)


# --- the queue --------------------------------------------------------------------------------------

def test_the_queue_lists_the_pending_requests_of_the_body_oldest_first(make, team, as_user):
    first, first_request = pending(make, team)
    second, _second_request = pending(make, team)
    other = make.team()
    foreign, _foreign_request = pending(make, other)
    page = text(as_user(team["reviewer"]).get("/reviews"))
    assert first.number in page and second.number in page and foreign.number not in page
    assert page.index(first.number) < page.index(second.number)
    assert team["officer"].name in page and first_request.major_reason_list[0] in page  # words kept at submission
    assert "dossier changed since the request" not in page

    make.record(first, "site_photo", actor=team["officer"])  # the dossier changes after the request
    page = text(as_user(team["reviewer"]).get("/reviews"))
    row = re.search(rf"{re.escape(first.number)}.*?</tr>", page, re.S).group(0)
    assert "dossier changed since the request" in row

    make.sign_review(first_request, team["reviewer"], outcome="returned")
    page = text(as_user(team["reviewer"]).get("/reviews"))
    reviewed = page.split("Reviewed by me", 1)[1]
    waiting = page.split("Reviewed by me", 1)[0]
    assert first.number in reviewed and "returned for correction" in reviewed
    assert first.number not in waiting and second.number in waiting


@pytest.mark.parametrize("who", ["officer", "head", "auditor", "admin"])
def test_the_queue_is_for_reviewers_only(make, team, as_user, who):
    assert as_user(team[who]).get("/reviews").status_code == 403


def test_the_main_menu_shows_legal_review_to_reviewers(make, team, as_user):
    assert 'href="/reviews"' in text(as_user(team["reviewer"]).get("/cases/"))
    assert 'href="/reviews"' not in text(as_user(team["officer"]).get("/cases/"))


# --- the request page ---------------------------------------------------------------------------------

def test_the_request_page_shows_the_reviewer_everything_and_the_review_form(make, team, as_user):
    case = in_notice(make, team)
    photo = make.record(case, "site_photo", actor=team["officer"])
    made = make.submit_review(case, actor=team["officer"])
    page = text(as_user(team["reviewer"]).get(f"/reviews/{made.id}"))
    assert made.digest in page and made.attestation in page
    assert team["officer"].name in page and "建议依法作出决定" in page  # who attested; the handler's opinion
    assert f'href="/records/{photo.id}"' in page and photo.sha256[:12] in page
    assert case.summary in page and f'href="/cases/{case.id}"' in page
    assert made.major_reason_list and all(reason in page for reason in made.major_reason_list)
    assert 'id="review-form"' in page and 'action="/reviews/%d/sign"' % made.id in page
    for code, label in review.CHECKS:
        assert f'name="check_{code}"' in page and str(label) in page
    assert "I declare that I have no conflict of interest" in page
    assert "dossier changed since" not in page

    make.record(case, "site_photo", actor=team["officer"])
    page = text(as_user(team["reviewer"]).get(f"/reviews/{made.id}"))
    assert 'id="stale"' in page and "The dossier changed since the request was made." in page


@pytest.mark.parametrize("who", ["officer", "officer2", "head", "auditor"])
def test_the_request_page_opens_for_the_body_without_the_review_form(make, team, as_user, who):
    _case, made = pending(make, team)
    response = as_user(team[who]).get(f"/reviews/{made.id}")
    assert response.status_code == 200
    page = text(response)
    assert made.digest in page and 'id="review-form"' not in page
    assert "Waiting for a legal reviewer" in page


def test_the_request_page_of_another_body_is_not_found(make, team, as_user):
    _case, made = pending(make, team)
    other = make.team()
    for user in (team["admin"], other["reviewer"], other["officer"], other["head"]):
        assert as_user(user).get(f"/reviews/{made.id}").status_code == 404
    assert as_user(team["reviewer"]).get("/reviews/999999").status_code == 404


def test_a_reviewer_who_may_not_review_sees_why_instead_of_the_form(make, team, as_user):
    both = make.user(Role.OFFICER, Role.REVIEWER, body=team["body"])
    case = make.case(team, approve=True, officer_ids=[team["officer"].id, both.id])
    workflow.advance(case, Stage.NOTICE, actor=team["officer"])
    db.session.commit()
    make.notice(case, actor=team["officer"])
    made = make.submit_review(case, actor=team["officer"])
    page = text(as_user(both).get(f"/reviews/{made.id}"))
    assert 'id="review-form"' not in page and "You may not review this case" in page
    assert f"{both.name} is or was an officer on this case." in page


# --- signing --------------------------------------------------------------------------------------

def test_the_reviewer_passes_and_the_opinion_pdf_is_kept(make, team, as_user):
    case, made = pending(make, team)
    client = as_user(team["reviewer"])
    response = sign(client, made.id, sign_data())
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/reviews/{made.id}")
    made = refreshed(ReviewRequest, made.id)
    assert made.status == "passed" and made.reviewer_id == team["reviewer"].id and made.conflict_declared_none
    record = db.session.get(Record, made.opinion_record_id)
    assert record.type_code == "legal_review_opinion" and record.case_id == case.id
    assert refreshed(Case, case.id).stage == Stage.REVIEW.value
    page = text(client.get(f"/reviews/{made.id}"))
    assert "The review passed and is signed" in page
    assert f'href="/records/{record.id}"' in page and record.original_filename in page
    assert team["reviewer"].name in page and 'id="review-form"' not in page
    assert all(str(label) in page for _code, label in review.CHECKS)
    # The officer sees the same opinion.
    assert record.original_filename in text(as_user(team["officer"]).get(f"/reviews/{made.id}"))


def test_a_return_sends_the_case_back_and_the_officer_sees_the_reasons(make, team, as_user):
    case, made = pending(make, team)
    response = sign(as_user(team["reviewer"]), made.id, sign_data("returned", problem="evidence_sufficient"))
    assert response.status_code == 302
    assert refreshed(ReviewRequest, made.id).status == "returned"
    assert refreshed(Case, case.id).stage == Stage.INVESTIGATION.value
    page = text(as_user(team["officer"]).get(f"/reviews/{made.id}"))
    correct = re.search(r'id="to-correct".*?</section>', page, re.S).group(0)
    assert "Returned for correction" in correct and NOTE in correct and "Evidence lawful and sufficient" in correct
    assert "请补充证据后重新提交" in correct
    assert "Dispute the review" in page  # the officer may disagree


@pytest.mark.parametrize("extra_role, act, reason", [
    (Role.OFFICER, "officer", "is or was an officer on this case."),
    (Role.HEAD, "uploader", "uploaded records of this case."),
])
def test_a_reviewer_with_a_part_in_the_case_is_refused_with_the_reason(make, team, as_user, extra_role, act, reason):
    conflicted = make.user(Role.REVIEWER, extra_role, body=team["body"])
    officers = [team["officer"].id, conflicted.id] if act == "officer" else [team["officer"].id, team["officer2"].id]
    case = make.case(team, approve=True, officer_ids=officers)
    if act == "uploader":
        make.record(case, "site_photo", actor=conflicted)
    workflow.advance(case, Stage.NOTICE, actor=team["officer"])
    db.session.commit()
    make.notice(case, actor=team["officer"])
    made = make.submit_review(case, actor=team["officer"])
    client = as_user(conflicted)
    response = post(client, f"/reviews/{made.id}/sign", sign_data(), token_from=f"/reviews/{made.id}")
    assert response.status_code == 403
    assert f"{conflicted.name} {reason}" in text(response)
    assert refreshed(ReviewRequest, made.id).status == "pending"
    assert count(Record, Record.type_code == "legal_review_opinion") == 0


@pytest.mark.parametrize("change, message", [
    ({"password": "wrong-password-1"}, "The password is not correct: nothing was signed."),
    ({"no_conflict": ""}, "Declare that you have no conflict of interest in this case."),
    ({"check_facts_clear": "problem", "note_facts_clear": "事实不清"}, "A review with problems cannot pass"),
    ({"check_facts_clear": "problem"}, "Say what the problem is."),
    ({"outcome": "returned"}, "a return or a failure needs at least one"),
    ({"check_procedure_lawful": ""}, "Answer this check: pass or problem."),
])
def test_a_refused_review_says_why_and_signs_nothing(make, team, as_user, change, message):
    case, made = pending(make, team)
    response = sign(as_user(team["reviewer"]), made.id, sign_data(**change))
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert 'id="review-form"' in page  # the form comes back as filled in
    assert refreshed(ReviewRequest, made.id).status == "pending"
    assert refreshed(Case, case.id).stage == Stage.REVIEW.value
    assert count(Record, Record.type_code == "legal_review_opinion") == 0


def test_a_changed_dossier_cannot_pass(make, team, as_user):
    case, made = pending(make, team)
    make.record(case, "site_photo", actor=team["officer"])
    response = sign(as_user(team["reviewer"]), made.id, sign_data())
    assert response.status_code == 422
    assert "The dossier changed after the request was made" in text(response)
    assert refreshed(ReviewRequest, made.id).status == "pending"


def test_a_second_signature_after_the_first_yields_no_second_outcome(make, team, as_user):
    second = make.user(Role.REVIEWER, body=team["body"])
    _case, made = pending(make, team)
    first_client, second_client = as_user(team["reviewer"]), as_user(second)
    token = csrf_token(second_client, f"/reviews/{made.id}")  # both opened the form
    assert sign(first_client, made.id, sign_data()).status_code == 302
    response = second_client.post(f"/reviews/{made.id}/sign",
                                  data={"csrf_token": token, **sign_data("returned", problem="facts_clear")})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/reviews/{made.id}")
    page = text(second_client.get(f"/reviews/{made.id}"))
    assert "This request was reviewed already (passed" in page
    made = refreshed(ReviewRequest, made.id)
    assert made.status == "passed" and made.reviewer_id == team["reviewer"].id
    assert count(AuditEvent, AuditEvent.action == "review.decided") == 1
    assert count(Record, Record.type_code == "legal_review_opinion") == 1


# --- dispute and collective discussion ----------------------------------------------------------------

def test_the_officer_disputes_a_return_and_the_head_records_the_discussion(make, team, as_user):
    case, made = pending(make, team)
    make.sign_review(made, team["reviewer"], outcome="returned")
    officer = as_user(team["officer"])
    response = post(officer, f"/reviews/{made.id}/dispute", {"reason": ""}, token_from=f"/reviews/{made.id}")
    assert response.status_code == 302 and refreshed(ReviewRequest, made.id).disputed_at is None
    assert "Say why you disagree with the review." in text(officer.get(f"/reviews/{made.id}"))
    # Only an officer on the case disputes.
    head = as_user(team["head"])
    assert post(head, f"/reviews/{made.id}/dispute", {"reason": "不同意"},
                token_from=f"/reviews/{made.id}").status_code == 403
    response = post(officer, f"/reviews/{made.id}/dispute", {"reason": "测量记录已在卷，审核意见有误"},
                    token_from=f"/reviews/{made.id}")
    assert response.status_code == 302
    assert refreshed(ReviewRequest, made.id).dispute_reason == "测量记录已在卷，审核意见有误"
    page = text(officer.get(f"/reviews/{made.id}"))
    assert "Your disagreement is recorded" in page and "Waiting for the collective discussion" in page
    assert "Dispute the review" not in page

    # The head's page: no minutes uploaded yet -> say so and link to the upload page.
    path = f"/cases/{case.id}/discussion"
    page = text(head.get(path))
    assert "测量记录已在卷" in page and "Does the discussion uphold the reviewer" in page
    assert "Upload the signed minutes first" in page and f'href="/cases/{case.id}/records/new"' in page
    minutes = make.record(case, "collective_discussion", actor=team["head"])
    data = {"held_on": case.filed_on.isoformat(), "participants": "镇长、副镇长、司法所长", "conclusion": "维持审核意见",
            "record_id": str(minutes.id)}
    response = post(head, path, data, token_from=path)
    assert response.status_code == 422
    assert "Say whether the discussion upholds the reviewer's opinion" in text(response)
    assert count(CollectiveDiscussion) == 0

    response = post(head, path, {**data, "upholds_review": "yes"}, token_from=path)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.id}")
    row = db.session.scalar(select(CollectiveDiscussion))
    assert row.upholds_review is True and row.review_request_id == made.id and row.record_id == minutes.id
    assert review.open_dispute(refreshed(Case, case.id)) is None
    page = text(officer.get(f"/reviews/{made.id}"))
    assert "the review stands" in page and "维持审核意见" in page


@pytest.mark.parametrize("who", ["officer", "reviewer", "auditor"])
def test_only_the_head_records_a_discussion(make, team, as_user, who):
    case, _made = pending(make, team)
    client = as_user(team[who])
    assert client.get(f"/cases/{case.id}/discussion").status_code == 403
    assert post(client, f"/cases/{case.id}/discussion", {"participants": "x"},
                token_from="/cases/").status_code == 403
    assert as_user(team["admin"]).get(f"/cases/{case.id}/discussion").status_code == 404


def test_a_discussion_without_a_dispute_asks_nothing_about_the_review(make, team, as_user):
    case, made = pending(make, team)
    make.sign_review(made, team["reviewer"])
    minutes = make.record(case, "collective_discussion", actor=team["head"])
    head = as_user(team["head"])
    path = f"/cases/{case.id}/discussion"
    page = text(head.get(path))
    assert "Does the discussion uphold" not in page and "Upload the signed minutes first" not in page
    assert minutes.original_filename in page
    response = post(head, path, {"held_on": case.filed_on.isoformat(), "participants": "镇长、副镇长",
                                 "conclusion": "同意作出决定", "record_id": str(minutes.id)}, token_from=path)
    assert response.status_code == 302
    assert db.session.scalar(select(CollectiveDiscussion)).upholds_review is None


# --- lending a case to a reviewer of another body -------------------------------------------------------

def test_a_lent_reviewer_sees_and_reviews_that_case_only_until_the_review_ends(make, as_user):
    county = make.body(kind="county")
    town = make.body(parent_id=county.id)
    justice = make.body(name="测试县司法局城关司法所", parent_id=county.id, kind="other")
    team = make.team(town)
    lent = make.user(Role.REVIEWER, body=justice)
    case, made = pending(make, team)
    untouched, other_request = pending(make, team)
    reviewer = as_user(lent)
    for path in (f"/reviews/{made.id}", f"/cases/{case.id}", submit_path(case)):
        assert reviewer.get(path).status_code == 404, path
    assert case.number not in text(reviewer.get("/reviews"))

    head = as_user(team["head"])
    path = f"/cases/{case.id}/reviewer"
    page = text(head.get(path))
    assert f"{lent.name} · {justice.name}" in page
    assert team["reviewer"].name not in page  # the body's own reviewers need no assignment
    response = post(head, path, {"reviewer_id": str(lent.id), "reason": ""}, token_from=path)
    assert response.status_code == 422 and count(ReviewerAssignment) == 0
    response = post(head, path, {"reviewer_id": str(lent.id), "reason": "本镇审核人员参与了调查"}, token_from=path)
    assert response.status_code == 302
    assert count(ReviewerAssignment) == 1

    queue = text(reviewer.get("/reviews"))
    assert case.number in queue and untouched.number not in queue and "lent by" in queue
    assert reviewer.get(f"/reviews/{made.id}").status_code == 200
    assert 'id="review-form"' in text(reviewer.get(f"/reviews/{made.id}"))
    assert reviewer.get(f"/reviews/{other_request.id}").status_code == 404
    assert reviewer.get(f"/cases/{untouched.id}").status_code == 404

    response = sign(reviewer, made.id, sign_data())
    assert response.status_code == 302 and response.headers["Location"].endswith("/reviews")
    assert refreshed(ReviewRequest, made.id).reviewer_id == lent.id
    assert "Your access to" in text(reviewer.get("/reviews"))
    for path in (f"/reviews/{made.id}", f"/cases/{case.id}"):
        assert reviewer.get(path).status_code == 404, path
    assert refreshed(ReviewerAssignment, db.session.scalar(select(ReviewerAssignment.id))).ended_at is not None


@pytest.mark.parametrize("who", ["officer", "reviewer", "auditor"])
def test_only_the_head_assigns_a_reviewer(make, team, as_user, who):
    case, _made = pending(make, team)
    client = as_user(team[who])
    assert client.get(f"/cases/{case.id}/reviewer").status_code == 403
    assert post(client, f"/cases/{case.id}/reviewer", {"reviewer_id": "1", "reason": "x"},
                token_from="/cases/").status_code == 403
    assert as_user(team["admin"]).get(f"/cases/{case.id}/reviewer").status_code == 404
    assert count(ReviewerAssignment) == 0


# --- every POST of the blueprint needs the CSRF token ------------------------------------------------

def test_every_review_post_refuses_a_missing_or_forged_csrf_token(app, make, team, as_user):
    case, made = pending(make, team)
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("review.") and "POST" in rule.methods:
            paths.append(rule.build({k: {"case_id": case.id, "request_id": made.id}[k] for k in rule.arguments})[1])
    assert len(paths) == 5, paths
    client = as_user(team["reviewer"])
    for path in paths:
        assert client.post(path, data=sign_data()).status_code == 400, path
        assert client.post(path, data={**sign_data(), "csrf_token": "forged"}).status_code == 400, path
    assert refreshed(ReviewRequest, made.id).status == "pending"


def test_amounts_on_the_pages_are_shown_as_money(make, team, as_user):
    case, made = pending(make, team, decision_type="fine", fine_amount="12345.5")
    page = text(as_user(team["reviewer"]).get(f"/reviews/{made.id}"))
    assert "¥12,345.50" in page
    assert refreshed(ReviewRequest, made.id).fine_amount == Decimal("12345.50")


def test_password_guesses_on_the_review_form_are_limited(app, make, team, as_user):
    _case, made = pending(make, team)
    client = as_user(team["reviewer"])
    token = csrf_token(client, f"/reviews/{made.id}")
    allowed = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    wrong = {"csrf_token": token, **sign_data(password="wrong-password-1")}
    for _attempt in range(allowed):
        assert client.post(f"/reviews/{made.id}/sign", data=wrong).status_code == 422
    assert client.post(f"/reviews/{made.id}/sign", data={**wrong, "password": PASSWORD}).status_code == 429
    assert refreshed(ReviewRequest, made.id).status == "pending"
    # Per user: another reviewer at the same address still signs.
    other = make.user(Role.REVIEWER, body=team["body"])
    assert sign(as_user(other), made.id, sign_data()).status_code == 302
