"""Specification of the decision (services.decisions), tested without HTTP.

A major decision is made final only when the latest review passed and its digest equals the
dossier's digest now, with the collective discussion recorded after the review; the head signs
every decision with the password; the decision stays within what the notice proposed and what the
review passed; the 90-day limit holds unless the head extended it with a reason. The 决定书 is kept
as a record; the decision row is write-once in the database; the evidence set is frozen at the
decision (证据规定 art. 60); a decision is only revoked or changed by a new decision with a reason.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from enforcement import sample_files
from enforcement.extensions import db
from enforcement.models import AuditEvent, Decision, DecisionKind, Record, Role, Stage
from enforcement.services import cases, catalogue, decisions, dossier, records, review, workflow
from enforcement.services.errors import Conflict, DomainError, GateRefused, PermissionDenied
from tests.factories import PASSWORD

FILED = date(2026, 9, 1)
SERVED = date(2026, 9, 28)
DAY = date(2026, 10, 20)
PERFORMANCE = "自收到本决定书之日起十五日内履行"
NOT_MATCHING = "no longer matches the dossier"

pytestmark = pytest.mark.usefixtures("without_record_rules")


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    with force_locale("en"):
        yield


def in_notice(make, team, *, matter=None, filed_on=FILED, served_on=SERVED, today=DAY, notice=True, **notice_kw):
    case = make.case(team, approve=True, matter=matter, filed_on=filed_on)
    make.record(case, "site_photo")
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=today)
    db.session.commit()
    if notice:
        make.notice(case, served_on=served_on, today=today, **notice_kw)
    return case


def plain_matter(make, team, **kw):
    values = {"route": "", "name": "一般处罚事项", "in_major_catalogue": False}
    values.update(kw)
    return make.matter(team["body"], **values)


@pytest.fixture
def passed(make, team):
    """A demolition case (major) whose review passed; no collective discussion yet."""
    case = in_notice(make, team)
    request = make.submit_review(case, today=DAY)
    make.sign_review(request, team["reviewer"], today=DAY)
    return case


@pytest.fixture
def ready(make, team, passed):
    """The same, with the collective discussion: the head may sign."""
    make.discussion(passed, team["head"], today=DAY)
    return passed


def finalise(case, actor, *, password=PASSWORD, today=DAY, performance=PERFORMANCE, band=None, reason="",
             **changes):
    plan = decisions.proposal_for(case)
    for key, value in changes.items():
        setattr(plan, key, value)
    decision = decisions.finalise(case, actor=actor, password=password, proposal=plan, discretion_band_id=band,
                                  outside_band_reason=reason, performance=performance, today=today)
    db.session.commit()
    return decision


def refused(case, actor, **kw) -> list[str]:
    with pytest.raises(GateRefused) as exc:
        finalise(case, actor, **kw)
    db.session.rollback()
    assert decisions.original_decision(case) is None
    assert db.session.scalar(select(func.count(Record.id)).where(Record.case_id == case.id,
                                                                  Record.type_code == "decision")) == 0
    return exc.value.unmet


def mentions(unmet: list[str], words: str) -> bool:
    return any(words in u for u in unmet)


# --- who signs ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["officer", "reviewer", "admin", "auditor", "other_head"])
def test_only_the_head_of_the_body_signs_a_decision(make, team, ready, who):
    actor = make.user(Role.HEAD, body=make.body()) if who == "other_head" else team[who]
    with pytest.raises(PermissionDenied):
        finalise(ready, actor)
    db.session.rollback()
    assert decisions.original_decision(ready) is None and ready.stage == Stage.REVIEW.value


def test_a_wrong_password_signs_nothing(team, ready):
    with pytest.raises(PermissionDenied, match="password"):
        finalise(ready, team["head"], password="wrong")
    db.session.rollback()
    assert decisions.original_decision(ready) is None


# --- the review gate ------------------------------------------------------------------------------------

def test_a_major_decision_without_a_review_is_refused(make, team):
    case = in_notice(make, team)
    assert mentions(refused(case, team["head"]), "must pass legal review before the decision (行政处罚法 art. 58)")


@pytest.mark.parametrize("outcome", ["pending", "returned"])
def test_a_major_decision_on_a_review_not_passed_is_refused(make, team, outcome):
    case = in_notice(make, team)
    request = make.submit_review(case, today=DAY)
    if outcome == "returned":
        make.sign_review(request, team["reviewer"], outcome="returned", today=DAY)
        workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=DAY)
        db.session.commit()
    assert mentions(refused(case, team["head"]), "must pass legal review")


def test_a_record_added_after_the_pass_breaks_the_match(make, team, ready):
    make.record(ready, "inquiry_record")
    unmet = refused(ready, team["head"])
    assert mentions(unmet, NOT_MATCHING)
    assert not mentions(unmet, "collective discussion")


def test_after_a_changed_dossier_a_new_review_and_discussion_allow_the_decision(make, team, ready):
    make.record(ready, "inquiry_record")
    assert mentions(refused(ready, team["head"]), NOT_MATCHING)
    again = make.submit_review(ready, today=DAY)  # from the review stage: the case stays there
    assert ready.stage == Stage.REVIEW.value and again.digest == dossier.digest(ready)
    assert mentions(refused(ready, team["head"]), "must pass legal review")  # the latest request is pending
    make.sign_review(again, team["reviewer"], today=DAY)
    assert refused(ready, team["head"]) == [  # the earlier discussion came before this review
        "A major decision needs the collective discussion (集体讨论) of the body's leaders, recorded after the legal "
        "review (行政处罚法 art. 57)."]
    make.discussion(ready, team["head"], today=DAY)
    assert finalise(ready, team["head"]).review_request_id == again.id


def test_a_record_superseded_after_the_pass_breaks_the_match(make, team, ready):
    photo = next(r for r in records.current_records(ready) if r.type_code == "site_photo")
    make.record(ready, "site_photo", supersedes_id=photo.id, supersede_reason="照片拍错了地块")
    assert mentions(refused(ready, team["head"]), NOT_MATCHING)


def test_a_changed_case_fact_after_the_pass_breaks_the_match(team, ready):
    cases.mark_complex(ready, actor=team["head"], reason="涉及多个法律关系")
    db.session.commit()
    assert mentions(refused(ready, team["head"]), NOT_MATCHING)


def test_a_changed_officer_after_the_pass_breaks_the_match(make, team, ready):
    third = make.user(Role.OFFICER, body=team["body"])
    cases.assign_officer(ready, third, actor=team["head"], today=DAY)
    db.session.commit()
    assert mentions(refused(ready, team["head"]), NOT_MATCHING)


def test_the_reviews_own_papers_do_not_break_the_match(team, ready):
    # The opinion and the collective discussion record were added after the request: still the same dossier.
    assert review.latest_request(ready).digest == dossier.digest(ready)
    assert finalise(ready, team["head"]).digest == review.latest_request(ready).digest


def test_a_major_decision_needs_the_collective_discussion(team, passed):
    unmet = refused(passed, team["head"])
    assert unmet == ["A major decision needs the collective discussion (集体讨论) of the body's leaders, recorded "
                     "after the legal review (行政处罚法 art. 57)."]


def test_a_collective_discussion_before_the_review_does_not_count(make, team):
    case = in_notice(make, team)
    make.discussion(case, team["head"], today=DAY)
    request = make.submit_review(case, today=DAY)
    make.sign_review(request, team["reviewer"], today=DAY)
    assert mentions(refused(case, team["head"]), "collective discussion")


def test_a_decision_differing_from_what_the_review_passed_is_refused(team, ready):
    unmet = refused(ready, team["head"], decision_type="correction", content="责令限期改正")
    assert mentions(unmet, "differs from what the legal review passed (order demolition within a time limit")


def test_a_generic_move_to_decision_is_refused_even_when_everything_else_is_met(team, ready):
    assert workflow.unmet(ready, Stage.DECISION, today=DAY) == [
        "The head has not signed the decision: it is made final on the decision form."]
    with pytest.raises(GateRefused):
        workflow.advance(ready, Stage.DECISION, actor=team["head"], today=DAY)


# --- within the notice and the discretion standard -----------------------------------------------------

def test_a_decision_heavier_than_the_notice_is_refused(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), decision_type="warning")
    unmet = refused(case, team["head"], decision_type="fine", fine_amount="100")
    assert "The decision is heavier in kind than the notice proposed; serve a new notice first." in unmet


def test_a_fine_above_the_notice_is_refused(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), decision_type="fine", fine_amount="1000")
    unmet = refused(case, team["head"], fine_amount="1000.01")
    assert unmet == ["The fine of ¥1,000.01 exceeds the ¥1,000.00 the notice proposed; serve a new notice first."]
    assert finalise(case, team["head"], fine_amount="800").fine_amount == 800  # lighter is allowed


def test_the_decision_itself_must_be_complete(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), decision_type="fine", fine_amount="1000")
    unmet = refused(case, team["head"], fine_amount=None, legal_basis=" ", performance="")
    assert unmet == ["A fine needs its amount.", "Give the legal basis of the decision.",
                     "Say how and by when the decision is to be carried out."]
    assert refused(case, team["head"], fine_amount="abc") == ["The fine must be an amount in yuan."]


@pytest.fixture
def banded(make, team):
    matter = plain_matter(make, team, name="有裁量基准的事项")
    band = catalogue.add_band(matter, actor=team["admin"], circumstance="一般", fine_min="1000", fine_max="5000")
    db.session.commit()
    case = in_notice(make, team, matter=matter, decision_type="fine", fine_amount="8000")
    return case, band


def test_a_fine_needs_the_band_of_the_discretion_standard(team, banded):
    case, band = banded
    assert refused(case, team["head"], fine_amount="3000") == [
        "Choose the circumstance of the discretion standard (裁量基准) that applies."]
    decision = finalise(case, team["head"], fine_amount="3000", band=band.id)
    assert decision.discretion_band_id == band.id and decision.major is False and decision.outside_band_reason == ""


def test_a_fine_outside_the_band_needs_a_reason_and_then_a_review(team, banded):
    case, band = banded
    unmet = refused(case, team["head"], fine_amount="8000", band=band.id)
    assert "The fine of ¥8,000.00 lies outside the band 一般 (¥1,000.00 – ¥5,000.00): give the reason for departing " \
           "from the discretion standard." in unmet
    # With the reason it is a major decision: it needs the review first.
    unmet = refused(case, team["head"], fine_amount="8000", band=band.id, reason="拒不改正")
    assert mentions(unmet, "the fine lies outside the discretion standard (一般)") and mentions(unmet, "legal review")
    assert not mentions(unmet, "give the reason")


def test_an_outside_band_decision_reviewed_with_its_reason_is_signed(make, team, banded):
    case, band = banded
    request = make.submit_review(case, today=DAY, discretion_band_id=band.id, outside_band_reason="拒不改正")
    make.sign_review(request, team["reviewer"], today=DAY)
    make.discussion(case, team["head"], today=DAY)
    decision = finalise(case, team["head"], band=band.id, reason="拒不改正")
    assert decision.major is True and decision.outside_band_reason == "拒不改正"
    assert "罚款超出裁量基准（一般）" in decision.major_reason_list  # stored in the documents' language


def test_a_major_decision_keeps_the_band_and_the_reason_the_review_saw(make, team):
    matter = plain_matter(make, team, name="目录内有裁量基准的事项", in_major_catalogue=True)
    light = catalogue.add_band(matter, actor=team["admin"], circumstance="情节轻微", fine_min="500", fine_max="2000")
    usual = catalogue.add_band(matter, actor=team["admin"], circumstance="一般", fine_min="2000", fine_max="5000")
    db.session.commit()
    case = in_notice(make, team, matter=matter, decision_type="fine", fine_amount="3000")
    request = make.submit_review(case, today=DAY, discretion_band_id=usual.id)
    make.sign_review(request, team["reviewer"], today=DAY)
    make.discussion(case, team["head"], today=DAY)
    # Another band, with a reason for departing from it that the reviewer never saw: refused.
    unmet = refused(case, team["head"], band=light.id, reason="情节较重")
    assert mentions(unmet, "differs from what the legal review passed")
    decision = finalise(case, team["head"], band=usual.id)
    assert decision.discretion_band_id == usual.id and decision.outside_band_reason == ""


def test_a_major_decision_outside_its_band_keeps_the_reason_the_review_saw(make, team, banded):
    case, band = banded
    request = make.submit_review(case, today=DAY, discretion_band_id=band.id, outside_band_reason="拒不改正")
    make.sign_review(request, team["reviewer"], today=DAY)
    make.discussion(case, team["head"], today=DAY)
    unmet = refused(case, team["head"], band=band.id, reason="另一个理由")
    assert mentions(unmet, "differs from what the legal review passed")


# --- the 90-day limit ---------------------------------------------------------------------------------

OLD = date(2026, 6, 1)        # 90 days end on Sunday 2026-08-30, rolled to Monday 08-31
LATE = date(2026, 9, 10)


@pytest.fixture
def late(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), filed_on=OLD, served_on=date(2026, 8, 20),
                     today=LATE, decision_type="warning")
    assert case.decision_due_on == date(2026, 8, 31)
    return case


def test_a_decision_after_the_90_days_is_refused(team, late):
    assert refused(late, team["head"], today=LATE) == [
        "The 90-day limit for the decision ended on 2026-08-31 (行政处罚法 art. 60): the head must approve an "
        "extension with a reason first."]
    assert refused(late, team["head"], today=date(2026, 9, 1))  # the day after the limit
    assert decisions.deadline_problems(late, date(2026, 8, 31)) == []  # the last day still counts


def test_the_head_extends_the_limit_with_a_reason_and_may_then_decide(team, late):
    row = decisions.extend_deadline(late, actor=team["head"], new_due=date(2026, 9, 30), reason="案情复杂，需补充鉴定")
    db.session.commit()
    assert row.previous_due == date(2026, 8, 31) and late.decision_due_on == date(2026, 9, 30)
    assert [e.reason for e in decisions.extensions_of(late)] == ["案情复杂，需补充鉴定"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.deadline_extended"))
    assert json.loads(event.after)["reason"] == "案情复杂，需补充鉴定"
    assert finalise(late, team["head"], today=LATE).decided_on == LATE


@pytest.mark.parametrize("who", ["officer", "reviewer", "admin"])
def test_only_the_head_extends_the_limit(team, late, who):
    with pytest.raises(PermissionDenied):
        decisions.extend_deadline(late, actor=team[who], new_due=date(2026, 9, 30), reason="复杂")
    assert late.decision_due_on == date(2026, 8, 31)


def test_an_extension_needs_a_reason_and_a_later_date(team, late):
    with pytest.raises(GateRefused) as exc:
        decisions.extend_deadline(late, actor=team["head"], new_due=date(2026, 9, 30), reason=" ")
    assert exc.value.unmet == ["Give the reason for the extension."]
    for day in (date(2026, 8, 31), date(2026, 8, 1), None):
        with pytest.raises(GateRefused) as exc:
            decisions.extend_deadline(late, actor=team["head"], new_due=day, reason="复杂")
        assert exc.value.unmet == ["The new limit must be later than 2026-08-31."]
    db.session.rollback()
    assert late.decision_due_on == date(2026, 8, 31) and decisions.extensions_of(late) == []


def test_no_extension_once_decided(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), decision_type="warning")
    finalise(case, team["head"])
    with pytest.raises(GateRefused) as exc:
        decisions.extend_deadline(case, actor=team["head"], new_due=date(2027, 3, 1), reason="复杂")
    assert exc.value.unmet == ["The case is decided: there is no decision limit left to extend."]


# --- success ----------------------------------------------------------------------------------------------

def test_the_head_signs_a_major_decision_and_the_document_is_kept(app, team, ready):
    request = review.latest_request(ready)
    digest = dossier.digest(ready)
    decision = finalise(ready, team["head"])
    assert ready.stage == Stage.DECISION.value
    assert decision.kind == "decision" and decision.decision_type == "demolition" and decision.major is True
    assert decision.major_reason_list == ["拆除类决定一律按重大执法决定办理"]  # stored in Chinese
    assert decision.review_request_id == request.id and decision.collective_discussion_id is not None
    assert decision.digest == digest == request.digest
    assert decision.signed_by_id == team["head"].id and decision.decided_on == DAY
    assert decision.notice_id is not None
    document = decision.document_record
    assert document.type_code == "decision" and document.stage == "decision" and document.case_id == ready.id
    with app.extensions["object_store"].open(document.storage_key) as reader:
        data = reader.readall()
    assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == document.sha256
    assert document.original_filename.startswith("限期拆除决定书")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "decision.made"))
    assert event.case_id == ready.id and event.actor_id == team["head"].id
    assert json.loads(event.after)["digest"] == digest
    assert decisions.current_decision(ready).id == decision.id


def test_a_non_major_decision_needs_no_review(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), decision_type="warning")
    decision = finalise(case, team["head"])
    assert case.stage == Stage.DECISION.value and decision.major is False and decision.review_request_id is None
    assert decision.document_record.original_filename.startswith("行政处罚决定书")


def test_a_decision_waits_for_a_pending_review_even_when_not_major(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), decision_type="warning")
    request = make.submit_review(case, today=DAY)  # some bodies review every decision
    with pytest.raises(GateRefused) as exc:
        finalise(case, team["head"])
    db.session.rollback()
    assert f"The case awaits legal review (request {request.id}): wait for the reviewer's opinion." in exc.value.unmet
    make.sign_review(request, team["reviewer"], today=DAY)
    assert finalise(case, team["head"]).review_request_id is None  # not major: the review is not required


def test_a_second_decision_is_refused(team, ready):
    finalise(ready, team["head"])
    with pytest.raises(GateRefused) as exc:
        finalise(ready, team["head"])
    db.session.rollback()
    assert exc.value.unmet == ["A decision is made after the notice (and the legal review, when major); this case is "
                               "in Decision."]
    assert len(decisions.decisions_of(ready)) == 1


def test_the_database_allows_one_decision_per_case(team, ready):
    decision = finalise(ready, team["head"])
    columns = ("case_id, kind, decision_type, content, legal_basis, major, major_reasons, outside_band_reason, reason, "
               "digest, decided_on, signed_by_id, signed_at, document_record_id")
    with pytest.raises(IntegrityError) as exc:
        db.session.execute(text(f"INSERT INTO decisions ({columns}) SELECT {columns} FROM decisions WHERE id = :i"),
                           {"i": decision.id})
        db.session.flush()
    assert "unique" in str(exc.value).lower()
    db.session.rollback()


def test_the_database_refuses_to_change_or_delete_a_decision(team, ready):
    decision = finalise(ready, team["head"])
    with pytest.raises(DatabaseError):
        db.session.execute(text("UPDATE decisions SET fine_amount = 1 WHERE id = :i"), {"i": decision.id})
    db.session.rollback()
    with pytest.raises(DatabaseError):
        db.session.execute(text("UPDATE decisions SET content = content WHERE id = :i"), {"i": decision.id})
    db.session.rollback()
    with pytest.raises(DatabaseError):
        db.session.execute(text("DELETE FROM decisions WHERE id = :i"), {"i": decision.id})
    db.session.rollback()
    assert db.session.scalar(select(func.count(Decision.id))) == 1


# --- the evidence set is frozen at the decision -------------------------------------------------------------

def test_records_added_after_the_decision_are_marked_post_decision(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), decision_type="warning")
    before = make.record(case, "inquiry_record")
    decision = finalise(case, team["head"])
    after = make.record(case, "site_photo")  # stage: decision
    assert after.stage == "decision"
    marked = decisions.post_decision_ids(case)
    assert marked == {after.id}
    assert before.id not in marked and decision.document_record_id not in marked
    assert decisions.is_post_decision(after) and not decisions.is_post_decision(before)
    assert not decisions.is_post_decision(decision.document_record)
    workflow.advance(case, Stage.SERVICE, actor=team["officer"], today=DAY)
    receipt = make.record(case, "service_receipt")
    assert decisions.post_decision_ids(case) == {after.id, receipt.id}


def test_no_record_is_post_decision_before_the_decision(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), decision_type="warning")
    make.record(case, "inquiry_record")
    assert decisions.post_decision_ids(case) == set()


def test_evidence_of_an_earlier_stage_is_refused_after_the_decision(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), decision_type="warning")
    photo = next(r for r in records.current_records(case) if r.type_code == "site_photo")
    finalise(case, team["head"])
    content = sample_files.jpeg()
    for stage in ("investigation", "notice", "review"):
        with pytest.raises(DomainError, match="art. 60"):
            records.begin_upload(case, team["officer"], filename="补拍.jpg", size=len(content), type_code="site_photo",
                                 stage=stage)
    with pytest.raises(DomainError, match="art. 60"):
        records.begin_upload(case, team["officer"], filename="补拍.jpg", size=len(content), type_code="site_photo",
                             supersedes_id=photo.id, supersede_reason="补拍")


# --- revocation and change ------------------------------------------------------------------------------------

@pytest.fixture
def decided(make, team):
    case = in_notice(make, team, matter=plain_matter(make, team), decision_type="fine", fine_amount="3000")
    return finalise(case, team["head"])


def replace(decision, actor, *, kind="revocation", reason="适用法律错误", password=PASSWORD, **changes):
    plan = None
    if kind == "change":
        plan = review.ProposalData("fine", "1000", None, "罚款人民币一千元", "《中华人民共和国城乡规划法》第六十五条")
        for key, value in changes.items():
            setattr(plan, key, value)
    row = decisions.replace(decision, actor=actor, password=password, kind=kind, reason=reason, proposal=plan,
                            performance=PERFORMANCE, today=DAY)
    db.session.commit()
    return row


@pytest.mark.parametrize("kind", ["revocation", "change"])
def test_a_replacement_needs_a_reason(team, decided, kind):
    with pytest.raises(GateRefused) as exc:
        replace(decided, team["head"], kind=kind, reason=" ")
    assert exc.value.unmet == ["Give the reason for revoking or changing the decision."]
    db.session.rollback()
    assert decisions.decisions_of(decided.case) == [decided]


@pytest.mark.parametrize("kind", ["revocation", "change"])
def test_only_the_head_replaces_a_decision(make, team, decided, kind):
    for actor in (team["officer"], team["reviewer"], team["admin"], make.user(Role.HEAD, body=make.body())):
        with pytest.raises(PermissionDenied):
            replace(decided, actor, kind=kind)
        db.session.rollback()
    with pytest.raises(PermissionDenied, match="password"):
        replace(decided, team["head"], kind=kind, password="wrong")
    db.session.rollback()
    assert decisions.decisions_of(decided.case) == [decided]


def test_a_replacement_is_a_revocation_or_a_change(team, decided):
    with pytest.raises(DomainError):
        replace(decided, team["head"], kind="decision")
    with pytest.raises(ValueError):
        replace(decided, team["head"], kind="edit")


def test_a_change_needs_its_new_content(team, decided):
    with pytest.raises(GateRefused) as exc:
        decisions.replace(decided, actor=team["head"], password=PASSWORD, kind="change", reason="罚款过重",
                          proposal=None, today=DAY)
    assert exc.value.unmet == ["Say what the changed decision orders."]
    db.session.rollback()
    with pytest.raises(GateRefused) as exc:
        replace(decided, team["head"], kind="change", fine_amount=None)
    assert exc.value.unmet == ["A fine needs its amount."]


def test_a_change_chains_and_the_current_decision_follows(team, decided):
    case = decided.case
    change = replace(decided, team["head"], kind="change", reason="罚款过重")
    assert change.kind == "change" and change.replaces_id == decided.id and change.reason == "罚款过重"
    assert change.fine_amount == 1000 and change.document_record.type_code == "decision"
    assert decisions.current_decision(case).id == change.id
    assert decisions.original_decision(case).id == decided.id
    revocation = replace(change, team["head"], kind="revocation", reason="违法事实不能成立")
    assert revocation.replaces_id == change.id
    assert decisions.current_decision(case).id == revocation.id
    assert [d.id for d in decisions.decisions_of(case)] == [decided.id, change.id, revocation.id]
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id))]
    assert actions.count("decision.changed") == 1 and actions.count("decision.revoked") == 1
    # The documents of the replacements are not post-decision evidence either.
    assert decisions.post_decision_ids(case) == set()


def test_a_replaced_decision_cannot_be_replaced_again(team, decided):
    replace(decided, team["head"], kind="revocation")
    for kind in ("revocation", "change"):
        with pytest.raises(Conflict):
            replace(decided, team["head"], kind=kind)
        db.session.rollback()
    assert len(decisions.decisions_of(decided.case)) == 2


def test_a_revocation_is_not_revoked_or_changed_in_turn(team, decided):
    revocation = replace(decided, team["head"], kind="revocation")
    for kind in ("revocation", "change"):
        with pytest.raises(DomainError, match="A revocation ends the decision"):
            replace(revocation, team["head"], kind=kind)
        db.session.rollback()
    assert len(decisions.decisions_of(decided.case)) == 2


def test_the_database_requires_a_replacement_to_name_the_decision_and_the_reason(team, decided):
    columns = ("case_id, decision_type, content, legal_basis, major, major_reasons, outside_band_reason, "
               "digest, decided_on, signed_by_id, signed_at, document_record_id")
    with pytest.raises(IntegrityError) as exc:
        db.session.execute(text(f"INSERT INTO decisions (kind, reason, {columns}) "
                                f"SELECT 'revocation', '', {columns} FROM decisions WHERE id = :i"), {"i": decided.id})
        db.session.flush()
    assert "replacement_reasoned" in str(exc.value)
    db.session.rollback()
