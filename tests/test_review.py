"""Specification of the legal review of major decisions (services.review), tested without HTTP.

Two signed acts kept apart: the officer's request attesting that the file is complete and true,
with the dossier digest at that moment; and the reviewer's opinion on the nine checks. Who may
review is decided in one place, `reviewer_problems`, which fails closed and has no admin bypass.
A reviewer of another body is lent to one case until its review ends. A return or a failure sends
the case back to investigation; a dispute of it goes to collective discussion, chaired by the head.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from enforcement.extensions import db
from enforcement.models import AuditEvent, ReviewerAssignment, ReviewRequest, Role, Stage
from enforcement.services import cases, catalogue, dossier, people, review, workflow
from enforcement.services.errors import Conflict, DomainError, GateRefused, NotFound, PermissionDenied
from enforcement.services.permissions import can_view_case
from tests.factories import PASSWORD

FILED = date(2026, 9, 1)
SERVED = date(2026, 9, 28)
DAY = date(2026, 10, 20)
NOTE = "现场照片不足以证明建筑面积，请补充测量记录"

pytestmark = pytest.mark.usefixtures("without_record_rules")


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    with force_locale("en"):
        yield


def in_notice(make, team, *, notice: bool = True, matter=None, **kw):
    """A demolition-route case (major) in the notice stage, its notice served and the party heard."""
    case = make.case(team, approve=True, filed_on=FILED, matter=matter, **kw)
    make.record(case, "site_photo")
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=DAY)
    db.session.commit()
    if notice:
        make.notice(case, served_on=SERVED, today=DAY)
    return case


@pytest.fixture
def case(make, team):
    return in_notice(make, team)


@pytest.fixture
def request_(make, case):
    """The case submitted for review: one pending request."""
    return make.submit_review(case, today=DAY)


def proposal(**kw):
    values = dict(decision_type="demolition", fine_amount=None, confiscation_value=None,
                  content="责令当事人于十五日内自行拆除违法建设的住房", legal_basis="《中华人民共和国城乡规划法》第六十五条")
    values.update(kw)
    return review.ProposalData(**values)


def submit(case, actor, *, password=PASSWORD, attest=True, **kw):
    band = kw.pop("discretion_band_id", None)
    reason = kw.pop("outside_band_reason", "")
    return review.submit(case, actor=actor, password=password, attest=attest, proposal=proposal(**kw),
                         discretion_band_id=band, outside_band_reason=reason, today=DAY)


def all_ok() -> dict:
    return {code: (True, "") for code in review.CHECK_CODES}


def sign(request, reviewer, *, outcome="passed", checks=None, password=PASSWORD, no_conflict=True,
         opinion="同意作出决定"):
    if checks is None:
        checks = all_ok()
        if outcome != "passed":
            checks["evidence_sufficient"] = (False, NOTE)
    result = review.review(request, actor=reviewer, password=password, no_conflict=no_conflict, checks=checks,
                           opinion=opinion, outcome=outcome, today=DAY)
    db.session.commit()
    return result


def refused_review(request, reviewer, **kw) -> list[str]:
    with pytest.raises(GateRefused) as exc:
        sign(request, reviewer, **kw)
    db.session.rollback()
    db.session.refresh(request)
    assert request.status == "pending" and request.reviewer_id is None
    return exc.value.unmet


def count_requests(case) -> int:
    return db.session.scalar(select(func.count(ReviewRequest.id)).where(ReviewRequest.case_id == case.id))


def store_bytes(app, record) -> bytes:
    with app.extensions["object_store"].open(record.storage_key) as reader:
        return reader.readall()


def back_to_notice(case, team):
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=DAY)
    db.session.commit()


# --- the officer's request -------------------------------------------------------------------------

def test_a_submission_keeps_the_attestation_digest_and_manifest_and_moves_the_case_to_review(case, team):
    expected_digest = dossier.digest(case)
    request = submit(case, team["officer"])
    db.session.commit()
    assert case.stage == Stage.REVIEW.value
    assert request.status == "pending" and request.submitted_by_id == team["officer"].id
    assert "案卷材料齐全、真实" in request.attestation  # signed words are kept in Chinese, whatever the screen shows
    assert request.digest == expected_digest == dossier.digest(case)
    assert request.digest_version == dossier.VERSION
    assert json.loads(request.manifest) == dossier.manifest(case)
    assert hashlib.sha256(request.manifest.encode("utf-8")).hexdigest() == request.digest
    assert request.major_reason_list == ["拆除类决定一律按重大执法决定办理"]
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                                     .order_by(AuditEvent.id))][-2:]
    assert actions == ["review.submitted", "case.stage_changed"]


@pytest.mark.parametrize("who", ["head", "reviewer", "auditor", "admin", "bystander", "auxiliary"])
def test_only_an_officer_on_the_case_submits_it(make, case, team, who):
    if who == "bystander":
        actor = make.user(Role.OFFICER, body=team["body"])
    elif who == "auxiliary":  # an officer of the case who became auxiliary staff (协管) since
        actor = team["officer2"]
        people.update_user(actor, actor=team["admin"], auxiliary=True)
        db.session.commit()
    else:
        actor = team[who]
    with pytest.raises(PermissionDenied, match="Only an officer on the case submits it for legal review."):
        submit(case, actor)
    db.session.rollback()
    assert count_requests(case) == 0 and case.stage == Stage.NOTICE.value


def test_a_submission_with_the_wrong_password_signs_nothing(case, team):
    with pytest.raises(PermissionDenied, match="password"):
        submit(case, team["officer"], password="wrong")
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        submit(case, team["officer"], password="")
    db.session.rollback()
    assert count_requests(case) == 0


def test_a_submission_without_the_attestation_is_refused(case, team):
    with pytest.raises(GateRefused) as exc:
        submit(case, team["officer"], attest=False)
    assert exc.value.unmet == ["Attest that the file is complete and true."]
    db.session.rollback()
    assert count_requests(case) == 0


def test_a_case_before_the_notice_cannot_be_submitted(make, team):
    case = make.case(team, approve=True, filed_on=FILED)  # in investigation
    with pytest.raises(GateRefused) as exc:
        submit(case, team["officer"])
    assert any("after the notice (告知); this case is in Investigation" in u for u in exc.value.unmet)
    db.session.rollback()
    assert count_requests(case) == 0


def test_a_second_pending_request_is_a_conflict(case, team, request_):
    with pytest.raises(Conflict, match="awaits review already"):
        submit(case, team["officer2"])
    db.session.rollback()
    assert count_requests(case) == 1


def test_the_proposal_must_be_complete(case, team):
    with pytest.raises(GateRefused) as exc:
        submit(case, team["officer"], decision_type="fine", fine_amount=None, content=" ", legal_basis="")
    assert exc.value.unmet == ["A fine needs its amount.", "Write out the decision: what is ordered and by when.",
                               "Give the legal basis of the proposed decision."]


def test_a_proposal_beyond_the_notice_is_refused(make, team):
    matter = make.matter(team["body"], route="", in_major_catalogue=True, name="目录内事项")
    case = in_notice(make, team, matter=matter, notice=False)
    make.notice(case, decision_type="fine", fine_amount="3000", served_on=SERVED, today=DAY)
    with pytest.raises(GateRefused) as exc:
        submit(case, team["officer"], decision_type="fine", fine_amount="5000")
    assert exc.value.unmet == ["The fine of ¥5,000.00 exceeds the ¥3,000.00 the notice proposed; serve a new "
                               "notice first."]
    db.session.rollback()
    with pytest.raises(GateRefused) as exc:
        submit(case, team["officer"], decision_type="stop_production")
    assert exc.value.unmet == ["The decision is heavier in kind than the notice proposed; serve a new notice first."]
    db.session.rollback()
    with pytest.raises(GateRefused) as exc:
        submit(case, team["officer"], decision_type="fine", fine_amount="3000", confiscation_value="10")
    assert exc.value.unmet == ["The confiscation of ¥10.00 exceeds the ¥0.00 the notice proposed; serve a new "
                               "notice first."]
    db.session.rollback()
    assert count_requests(case) == 0
    assert submit(case, team["officer"], decision_type="fine", fine_amount="2000").fine_amount == 2000


@pytest.fixture
def banded(make, team):
    """A catalogue matter (major) whose discretion standard has two bands."""
    matter = make.matter(team["body"], route="", in_major_catalogue=True, name="有裁量基准的事项")
    light = catalogue.add_band(matter, actor=team["admin"], circumstance="情节轻微", fine_min="500", fine_max="2000")
    usual = catalogue.add_band(matter, actor=team["admin"], circumstance="一般", fine_min="2000", fine_max="5000")
    db.session.commit()
    case = in_notice(make, team, matter=matter, notice=False)
    make.notice(case, decision_type="fine", fine_amount="8000", served_on=SERVED, today=DAY)
    return {"case": case, "light": light, "usual": usual, "matter": matter}


def test_the_band_is_required_when_the_matter_has_bands_and_a_fine(banded, team, make):
    case = banded["case"]
    with pytest.raises(GateRefused) as exc:
        submit(case, team["officer"], decision_type="fine", fine_amount="3000")
    assert exc.value.unmet == ["Choose the circumstance of the discretion standard (裁量基准) that applies."]
    db.session.rollback()
    other = catalogue.add_band(make.matter(team["body"]), actor=team["admin"], circumstance="一般", fine_max="10")
    catalogue.deactivate_band(banded["light"], actor=team["admin"])
    db.session.commit()
    for wrong in (other.id, banded["light"].id, "abc"):
        with pytest.raises(GateRefused) as exc:
            submit(case, team["officer"], decision_type="fine", fine_amount="3000", discretion_band_id=wrong)
        assert exc.value.unmet == ["Choose a band of this matter's discretion standard."]
        db.session.rollback()
    request = submit(case, team["officer"], decision_type="fine", fine_amount="3000",
                     discretion_band_id=banded["usual"].id, outside_band_reason="无关的理由")
    assert request.discretion_band_id == banded["usual"].id
    assert request.outside_band_reason == ""  # inside the band: no reason kept


def test_a_fine_outside_the_band_needs_a_reason_which_the_reviewer_sees(banded, team):
    case = banded["case"]
    with pytest.raises(GateRefused) as exc:
        submit(case, team["officer"], decision_type="fine", fine_amount="8000", discretion_band_id=banded["usual"].id)
    assert exc.value.unmet == ["The fine of ¥8,000.00 lies outside the band 一般 (¥2,000.00 – ¥5,000.00): give the "
                               "reason for departing from the discretion standard."]
    db.session.rollback()
    request = submit(case, team["officer"], decision_type="fine", fine_amount="8000",
                     discretion_band_id=banded["usual"].id, outside_band_reason="拒不改正，情节恶劣")
    assert request.outside_band_reason == "拒不改正，情节恶劣"
    assert "罚款超出裁量基准（一般）" in request.major_reason_list


def test_a_generic_move_to_review_without_a_request_is_refused(case, team):
    problems = workflow.unmet(case, Stage.REVIEW, today=DAY)
    assert problems == ["Submit the case for legal review with the attestation that the file is complete and true."]
    with pytest.raises(GateRefused):
        workflow.advance(case, Stage.REVIEW, actor=team["head"], today=DAY)
    db.session.rollback()
    assert case.stage == Stage.NOTICE.value


def test_a_generic_move_back_to_investigation_during_review_is_refused(case, team, request_):
    assert workflow.unmet(case, Stage.INVESTIGATION, today=DAY) == [
        "Only the reviewer's return sends a case under review back to investigation."]


# --- reviewer_problems: the one place, one test per rule --------------------------------------------

def test_the_designated_reviewer_of_the_body_may_review(case, team, request_):
    assert review.reviewer_problems(team["reviewer"], case) == []
    assert review.can_review(team["reviewer"], case)


def test_a_user_without_the_reviewer_role_may_not(make, case, team):
    head2 = make.user(Role.HEAD, body=team["body"], name="副镇长", legal_qualification_no="A2020999999")
    assert review.reviewer_problems(head2, case) == ["副镇长 is not a legal reviewer (法制审核人员)."]


def test_a_reviewer_without_a_qualification_may_not(make, case, team):
    bare = make.user(Role.REVIEWER, body=team["body"], name="无资格", legal_qualification_no=None)
    assert review.reviewer_problems(bare, case) == [
        "无资格 holds neither the legal professional qualification (法律职业资格) nor an appointment as legal adviser."]


def test_an_appointment_as_legal_adviser_suffices(make, case, team):
    adviser = make.user(Role.REVIEWER, body=team["body"], legal_qualification_no=None,
                        legal_adviser_appointment="县司法局聘任法律顾问（2025）3号")
    assert review.reviewer_problems(adviser, case) == []


def test_a_reviewer_of_another_body_without_assignment_may_not(make, case, team):
    other = make.user(Role.REVIEWER, body=make.body(), name="外单位")
    assert review.reviewer_problems(other, case) == [
        f"外单位 is not a reviewer of {team['body'].name} and is not assigned to this case."]


def test_an_officer_of_the_case_may_not_even_after_removal(make, team):
    dual = make.user(Role.OFFICER, Role.REVIEWER, body=team["body"], name="兼任")
    third = make.user(Role.OFFICER, body=team["body"])
    case = make.case(team, approve=True, filed_on=FILED,
                     officer_ids=[team["officer"].id, team["officer2"].id, dual.id, third.id])
    assert review.reviewer_problems(dual, case) == ["兼任 is or was an officer on this case."]
    cases.remove_officer(case, dual, actor=team["head"], reason="转任法制审核")
    db.session.commit()
    assert dual.id not in {o.user_id for o in case.active_officers}
    assert review.reviewer_problems(dual, case) == ["兼任 is or was an officer on this case."]


def test_the_filer_may_not(make, team):
    dual = make.user(Role.OFFICER, Role.REVIEWER, body=team["body"], name="立案人")
    case = make.case({**team, "officer": dual}, approve=True, filed_on=FILED,
                     officer_ids=[team["officer"].id, team["officer2"].id])
    assert case.created_by_id == dual.id
    assert "立案人 filed this case." in review.reviewer_problems(dual, case)


def test_an_uploader_may_not(make, case, team):
    dual = make.user(Role.HEAD, Role.REVIEWER, body=team["body"], name="上传人")
    make.record(case, "inquiry_record", actor=dual)
    assert "上传人 uploaded records of this case." in review.reviewer_problems(dual, case)


def test_an_editor_may_not(make, case, team):
    dual = make.user(Role.HEAD, Role.REVIEWER, body=team["body"], name="改动人")
    assert review.reviewer_problems(dual, case) == []
    cases.mark_complex(case, actor=dual, reason="涉及多个法律关系")
    db.session.commit()
    assert review.reviewer_problems(dual, case) == ["改动人 changed this case (its timeline shows their acts)."]


def test_a_user_who_moved_the_case_on_may_not(make, team):
    deputy = make.user(Role.HEAD, Role.REVIEWER, body=team["body"], name="副职")
    case = make.case(team, approve=True, filed_on=FILED)
    assert review.reviewer_problems(deputy, case) == []
    workflow.advance(case, Stage.NOTICE, actor=deputy, today=DAY)
    db.session.commit()
    assert review.reviewer_problems(deputy, case) == ["副职 changed this case (its timeline shows their acts)."]


def test_the_head_who_approved_the_filing_may_not(make, team):
    dual = make.user(Role.HEAD, Role.REVIEWER, body=team["body"], name="批准人")
    case = make.case({**team, "head": dual}, approve=True, filed_on=FILED)
    assert case.filing_approved_by_id == dual.id
    assert review.reviewer_problems(dual, case) == ["批准人 changed this case (its timeline shows their acts)."]


def test_an_admin_who_is_also_a_reviewer_gets_no_bypass(make, case, team, request_):
    admin_elsewhere = make.user(Role.ADMIN, Role.REVIEWER, body=make.body(), name="管理员甲")
    admin_bare = make.user(Role.ADMIN, Role.REVIEWER, body=team["body"], name="管理员乙", legal_qualification_no=None)
    assert review.reviewer_problems(admin_elsewhere, case) == [
        f"管理员甲 is not a reviewer of {team['body'].name} and is not assigned to this case."]
    assert len(review.reviewer_problems(admin_bare, case)) == 1
    for admin in (admin_elsewhere, admin_bare):
        with pytest.raises(PermissionDenied):
            sign(request_, admin)
        db.session.rollback()
    assert request_.status == "pending"


def test_a_deactivated_reviewer_may_not(case, team, request_):
    people.deactivate_user(team["reviewer"], actor=team["admin"], reason="调离")
    db.session.commit()
    assert review.reviewer_problems(team["reviewer"], case) == ["Only an active user reviews."]
    with pytest.raises(PermissionDenied):
        sign(request_, team["reviewer"])
    assert review.reviewer_problems(None, case) == ["Only an active user reviews."]


def test_the_reviewer_not_upheld_by_the_collective_discussion_may_not_review_again(make, case, team, request_):
    sign(request_, team["reviewer"], outcome="returned", opinion="证据不足")
    review.dispute(request_, actor=team["officer"], reason="证据已充分，审核意见不当")
    db.session.commit()
    make.discussion(case, team["head"], today=DAY, upholds_review=False)
    overruled = (f"The collective discussion did not uphold {team['reviewer'].name}'s earlier opinion on this case: "
                 "another reviewer reviews it.")
    assert review.reviewer_problems(team["reviewer"], case) == [overruled]
    second = make.user(Role.REVIEWER, body=team["body"])
    assert review.reviewer_problems(second, case) == []
    back_to_notice(case, team)
    again = make.submit_review(case, today=DAY)
    with pytest.raises(PermissionDenied):
        sign(again, team["reviewer"])
    db.session.rollback()
    assert sign(again, second).status == "passed"


def test_a_reviewer_upheld_by_the_collective_discussion_may_review_again(make, case, team, request_):
    sign(request_, team["reviewer"], outcome="returned", opinion="证据不足")
    review.dispute(request_, actor=team["officer"], reason="不同意")
    db.session.commit()
    make.discussion(case, team["head"], today=DAY, upholds_review=True)
    assert review.reviewer_problems(team["reviewer"], case) == []


def test_the_reviewers_own_acts_do_not_make_them_an_editor(case, team, request_, make):
    sign(request_, team["reviewer"], outcome="returned")  # moves the case and stores the opinion
    assert review.reviewer_problems(team["reviewer"], case) == []


# --- the reviewer's opinion: refusals -------------------------------------------------------------------

def test_a_review_with_the_wrong_password_signs_nothing(team, request_):
    with pytest.raises(PermissionDenied, match="password"):
        sign(request_, team["reviewer"], password="wrong")
    db.session.rollback()
    db.session.refresh(request_)
    assert request_.status == "pending" and request_.opinion_record_id is None


def test_the_reviewer_declares_no_conflict_of_interest(team, request_):
    assert refused_review(request_, team["reviewer"], no_conflict=False) == [
        "Declare that you have no conflict of interest in this case."]


def test_each_of_the_nine_checks_must_be_answered(team, request_):
    assert len(review.CHECK_CODES) == 9
    checks = all_ok()
    del checks["facts_clear"]
    checks["crime_transfer"] = (None, "")
    assert refused_review(request_, team["reviewer"], checks=checks) == [
        "Answer the check: Facts clear (事实清楚).",
        "Answer the check: No suspected crime to be transferred (无涉嫌犯罪需移送)."]


def test_a_problem_needs_its_note(team, request_):
    checks = all_ok()
    checks["procedure_lawful"] = (False, "  ")
    assert refused_review(request_, team["reviewer"], outcome="returned", checks=checks) == [
        "Say what the problem is: Lawful procedure (程序合法)."]


def test_a_review_with_a_problem_cannot_pass(team, request_):
    checks = all_ok()
    checks["evidence_sufficient"] = (False, NOTE)
    unmet = refused_review(request_, team["reviewer"], outcome="passed", checks=checks)
    assert unmet == ["A review with problems cannot pass (Evidence lawful and sufficient (证据合法充分)): return it "
                     "for correction or fail it."]


@pytest.mark.parametrize("outcome", ["returned", "failed"])
def test_a_return_or_failure_needs_a_problem(team, request_, outcome):
    assert refused_review(request_, team["reviewer"], outcome=outcome, checks=all_ok()) == [
        "Mark the checks that found problems: a return or a failure needs at least one."]


@pytest.mark.parametrize("outcome", ["pending", "maybe", ""])
def test_the_outcome_is_pass_return_or_fail(team, request_, outcome):
    assert refused_review(request_, team["reviewer"], outcome=outcome, checks=all_ok()) == [
        "Choose the outcome: pass, return for correction or fail."]


def test_the_overall_opinion_is_required(team, request_):
    assert refused_review(request_, team["reviewer"], opinion=" ") == ["Write the overall opinion."]


def test_a_stale_dossier_cannot_pass_but_can_be_returned(make, case, team, request_):
    make.record(case, "inquiry_record")  # added after the request
    assert review.is_stale(request_)
    unmet = refused_review(request_, team["reviewer"])
    assert unmet == ["The dossier changed after the request was made: return it, so that the officer submits the "
                     "dossier as it is now."]
    assert sign(request_, team["reviewer"], outcome="returned").status == "returned"


# --- the reviewer's opinion: outcomes ------------------------------------------------------------------

def test_a_pass_keeps_the_case_in_review_and_stores_the_opinion_pdf_as_a_record(app, case, team, request_):
    digest = dossier.digest(case)
    sign(request_, team["reviewer"])
    db.session.refresh(request_)
    assert request_.status == "passed" and request_.reviewer_id == team["reviewer"].id
    assert request_.reviewed_at is not None and request_.conflict_declared_none is True
    assert case.stage == Stage.REVIEW.value
    rows = request_.check_rows
    assert [r["code"] for r in rows] == list(review.CHECK_CODES) and all(r["ok"] for r in rows)
    record = request_.opinion_record
    assert record is not None and record.type_code == "legal_review_opinion" and record.stage == "review"
    assert record.case_id == case.id and record.uploaded_by_id == team["reviewer"].id
    data = store_bytes(app, record)
    assert data.startswith(b"%PDF") and record.size == len(data)
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert dossier.digest(case) == digest == request_.digest  # the opinion is not part of what it reviews
    assert not review.is_stale(request_)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.decided"))
    assert json.loads(event.after)["outcome"] == "passed" and event.actor_id == team["reviewer"].id


@pytest.mark.parametrize("outcome", ["returned", "failed"])
def test_a_return_or_failure_sends_the_case_back_with_the_opinion_and_it_can_be_resubmitted(
        make, case, team, request_, outcome):
    sign(request_, team["reviewer"], outcome=outcome, opinion="请补充测量记录后重新提交")
    assert case.stage == Stage.INVESTIGATION.value
    assert request_.status == outcome and request_.opinion_record.type_code == "legal_review_opinion"
    moved = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                        AuditEvent.action == "case.stage_changed")
                               .order_by(AuditEvent.id.desc())).first()
    assert json.loads(moved.after) == {"stage": "investigation", "reason": "请补充测量记录后重新提交"}
    assert moved.actor_id == team["reviewer"].id
    problems = [r for r in request_.check_rows if not r["ok"]]
    assert problems == [{"code": "evidence_sufficient", "ok": False, "note": NOTE}]

    make.record(case, "inquiry_record")  # the officer fixes the file
    with pytest.raises(GateRefused):  # not from investigation
        submit(case, team["officer"])
    db.session.rollback()
    back_to_notice(case, team)
    again = make.submit_review(case, today=DAY)
    assert again.id != request_.id and again.status == "pending" and case.stage == Stage.REVIEW.value
    assert again.digest == dossier.digest(case) != request_.digest
    assert sign(again, team["reviewer"]).status == "passed"


@pytest.mark.parametrize("outcome", ["returned", "failed"])
def test_a_case_whose_officer_left_can_still_be_returned(make, case, team, request_, outcome):
    """The reviewer's remedy for "officers certified: problem" is the return itself; the certificates
    are checked again when the case moves on."""
    people.deactivate_user(team["officer2"], actor=team["admin"], reason="调离")
    db.session.commit()
    checks = all_ok()
    checks["officers_certified"] = (False, "执法人员已调离，仅余一名持证人员")
    sign(request_, team["reviewer"], outcome=outcome, checks=checks)
    assert case.stage == Stage.INVESTIGATION.value
    with pytest.raises(GateRefused) as exc:
        workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=DAY)
    assert any("At least two officers" in u for u in exc.value.unmet)
    db.session.rollback()
    cases.remove_officer(case, team["officer2"], actor=team["head"], reason="调离")
    cases.assign_officer(case, make.user(Role.OFFICER, body=team["body"]), actor=team["head"], today=DAY)
    back_to_notice(case, team)
    assert case.stage == Stage.NOTICE.value


def test_the_same_request_is_signed_once(make, case, team, request_):
    sign(request_, team["reviewer"])
    with pytest.raises(Conflict, match="reviewed already"):
        sign(request_, team["reviewer"], outcome="failed")
    db.session.rollback()
    second = make.user(Role.REVIEWER, body=team["body"])
    with pytest.raises(Conflict):
        sign(request_, second)
    db.session.rollback()
    db.session.refresh(request_)
    assert request_.status == "passed" and request_.reviewer_id == team["reviewer"].id
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "review.decided")) == 1


def test_the_queue_shows_pending_requests_to_reviewers_who_may_see_them(make, case, team, request_):
    assert review.queue(team["reviewer"]) == [request_]
    assert review.queue(team["officer"]) == []
    assert review.queue(make.user(Role.REVIEWER, body=make.body())) == []
    sign(request_, team["reviewer"])
    assert review.queue(team["reviewer"]) == []


# --- lending a reviewer of another body ---------------------------------------------------------------

@pytest.fixture
def lent(make):
    """A reviewer of the 司法所 (another body)."""
    return make.user(Role.REVIEWER, body=make.body("永平镇司法所"), name="司法所审核员")


def test_only_the_head_assigns_a_reviewer(make, case, team, lent):
    for actor in (team["officer"], team["reviewer"], team["admin"], make.user(Role.HEAD, body=make.body())):
        with pytest.raises(PermissionDenied):
            review.assign_reviewer(case, lent, actor=actor, reason="本镇无法制审核人员")
        db.session.rollback()
    assert review.assignments_of(case) == []


def test_an_assignment_needs_a_reason_and_a_reviewer_of_another_body(case, team, lent):
    with pytest.raises(DomainError, match="Say why"):
        review.assign_reviewer(case, lent, actor=team["head"], reason=" ")
    with pytest.raises(DomainError, match="no assignment is needed"):
        review.assign_reviewer(case, team["reviewer"], actor=team["head"], reason="协助")
    db.session.rollback()
    assert review.assignments_of(case) == []


def test_the_lent_reviewer_must_meet_the_same_rules(make, case, team):
    bare = make.user(Role.REVIEWER, body=make.body(), legal_qualification_no=None)
    with pytest.raises(GateRefused) as exc:
        review.assign_reviewer(case, bare, actor=team["head"], reason="本镇无法制审核人员")
    assert any("holds neither" in u for u in exc.value.unmet)
    db.session.rollback()
    assert review.assignments_of(case) == []


def test_a_reviewer_is_assigned_once(case, team, lent):
    review.assign_reviewer(case, lent, actor=team["head"], reason="本镇无法制审核人员")
    db.session.commit()
    with pytest.raises(Conflict):
        review.assign_reviewer(case, lent, actor=team["head"], reason="再次")


def test_the_lent_reviewer_sees_and_reviews_that_case_until_the_review_passes(make, case, team, lent, request_):
    other_case = in_notice(make, team)
    assert not can_view_case(lent, case)
    with pytest.raises(NotFound):
        cases.get_case(lent, case.id)
    assert review.queue(lent) == []

    review.assign_reviewer(case, lent, actor=team["head"], reason="本镇无法制审核人员，由司法所审核")
    db.session.commit()
    assert can_view_case(lent, case) and cases.get_case(lent, case.id).id == case.id
    assert not can_view_case(lent, other_case)  # that case only
    assert review.queue(lent) == [request_]
    assert review.reviewer_problems(lent, case) == []

    sign(request_, lent)
    assert request_.status == "passed" and request_.reviewer_id == lent.id
    row = db.session.scalar(select(ReviewerAssignment).where(ReviewerAssignment.case_id == case.id))
    assert row.ended_at is not None and "passed" in row.end_reason
    assert not can_view_case(lent, case)
    with pytest.raises(NotFound):
        cases.get_case(lent, case.id)
    assert review.reviewer_problems(lent, case) != []


def test_the_assignment_survives_a_return_and_ends_with_a_failure(make, case, team, lent, request_):
    review.assign_reviewer(case, lent, actor=team["head"], reason="由司法所审核")
    db.session.commit()
    sign(request_, lent, outcome="returned")
    assert can_view_case(lent, case)
    assert all(a.ended_at is None for a in review.assignments_of(case))
    back_to_notice(case, team)
    again = make.submit_review(case, today=DAY)
    assert review.queue(lent) == [again]
    sign(again, lent, outcome="failed")
    assert all(a.ended_at is not None for a in review.assignments_of(case))
    assert not can_view_case(lent, case)


def test_no_assignment_to_a_decided_case(make, team, lent):
    matter = make.matter(team["body"], route="", name="一般处罚事项")
    case = make.case(team, approve=True, matter=matter, filed_on=FILED)
    make.decide(case, team, today=DAY)
    with pytest.raises(DomainError, match="decided"):
        review.assign_reviewer(case, lent, actor=team["head"], reason="事后")


# --- disagreement and collective discussion -------------------------------------------------------------

@pytest.fixture
def returned(team, request_):
    sign(request_, team["reviewer"], outcome="returned", opinion="证据不足")
    return request_


@pytest.mark.parametrize("who", ["head", "reviewer", "auditor"])
def test_only_an_officer_on_the_case_disputes_a_review(team, returned, who):
    with pytest.raises(PermissionDenied):
        review.dispute(returned, actor=team[who], reason="不同意")
    assert returned.disputed_at is None


def test_only_a_returned_or_failed_review_is_disputed(team, request_):
    with pytest.raises(DomainError, match="returned or failed"):
        review.dispute(request_, actor=team["officer"], reason="不同意")  # pending
    sign(request_, team["reviewer"])
    with pytest.raises(DomainError, match="returned or failed"):
        review.dispute(request_, actor=team["officer"], reason="不同意")  # passed


def test_a_dispute_needs_a_reason_and_is_made_once(team, returned):
    with pytest.raises(DomainError, match="why you disagree"):
        review.dispute(returned, actor=team["officer"], reason=" ")
    review.dispute(returned, actor=team["officer"], reason="证据已充分")
    db.session.commit()
    assert returned.disputed_at is not None and returned.dispute_reason == "证据已充分"
    with pytest.raises(Conflict):
        review.dispute(returned, actor=team["officer2"], reason="再次")


def test_only_the_latest_review_is_disputed(make, case, team, returned):
    back_to_notice(case, team)
    again = make.submit_review(case, today=DAY)
    sign(again, team["reviewer"], outcome="failed")
    with pytest.raises(DomainError, match="latest review"):
        review.dispute(returned, actor=team["officer"], reason="不同意")


def test_a_disputed_review_blocks_resubmission_until_the_discussion(make, case, team, returned):
    review.dispute(returned, actor=team["officer"], reason="证据已充分")
    db.session.commit()
    back_to_notice(case, team)
    with pytest.raises(GateRefused) as exc:
        submit(case, team["officer"])
    assert any("awaits collective discussion (集体讨论)" in u for u in exc.value.unmet)
    db.session.rollback()
    assert count_requests(case) == 1
    discussion = make.discussion(case, team["head"], today=DAY, upholds_review=False)
    assert discussion.review_request_id == returned.id and discussion.upholds_review is False
    assert review.open_dispute(case) is None
    assert submit(case, team["officer"]).status == "pending"


def discuss(case, actor, record_id, **kw):
    values = dict(held_on=DAY, participants="镇长、副镇长、司法所长", conclusion="维持审核意见", today=DAY)
    values.update(kw)
    return review.record_collective_discussion(case, actor=actor, record_id=record_id, **values)


def test_only_the_head_records_the_collective_discussion(make, case, team, returned):
    record = make.record(case, "collective_discussion", actor=team["head"])
    for who in ("officer", "reviewer", "admin"):
        with pytest.raises(PermissionDenied):
            discuss(case, team[who], record.id)
    with pytest.raises(PermissionDenied):
        discuss(case, make.user(Role.HEAD, body=make.body()), record.id)


def test_the_discussion_rests_on_a_collective_discussion_record_of_the_case(make, case, team, returned):
    photo = make.record(case, "site_photo")
    other = in_notice(make, team)
    elsewhere = make.record(other, "collective_discussion", actor=team["head"])
    for wrong in (photo.id, elsewhere.id, None, "x", 0, 10 ** 12):
        with pytest.raises(GateRefused) as exc:
            discuss(case, team["head"], wrong)
        assert exc.value.unmet == ["Choose the collective discussion record (集体讨论记录) uploaded to this case."]


def test_the_discussion_needs_date_participants_and_conclusion(make, case, team, returned):
    record = make.record(case, "collective_discussion", actor=team["head"])
    with pytest.raises(GateRefused) as exc:
        discuss(case, team["head"], record.id, held_on=date(2026, 10, 21), participants=" ", conclusion="")
    assert exc.value.unmet == ["The discussion date must lie between the filing and today.", "Name the participants.",
                               "Write the conclusion of the discussion."]
    with pytest.raises(GateRefused):
        discuss(case, team["head"], record.id, held_on=date(2026, 8, 31))


def test_settling_a_dispute_says_whether_the_review_is_upheld(make, case, team, returned):
    review.dispute(returned, actor=team["officer"], reason="证据已充分")
    db.session.commit()
    record = make.record(case, "collective_discussion", actor=team["head"])
    with pytest.raises(GateRefused) as exc:
        discuss(case, team["head"], record.id)
    assert exc.value.unmet == ["Say whether the discussion upholds the reviewer's opinion that is disputed."]
    row = discuss(case, team["head"], record.id, upholds_review=True)
    assert row.upholds_review is True and row.review_request_id == returned.id


def test_a_discussion_without_a_dispute_keeps_no_verdict_on_a_review(make, case, team, request_):
    sign(request_, team["reviewer"])
    record = make.record(case, "collective_discussion", actor=team["head"])
    row = discuss(case, team["head"], record.id, upholds_review=False)
    assert row.review_request_id is None and row.upholds_review is None
    assert review.reviewer_problems(team["reviewer"], case) == []
