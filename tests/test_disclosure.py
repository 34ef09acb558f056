"""Specification of publication after the decision (services.disclosure), tested without HTTP.

A final decision makes a masked draft at once; the original stays restricted; the officer (or the
head) publishes only a copy without personal data; the deadline is 7 working days for penalty and
permit decisions and 20 for the others; a minor's case is held back automatically and other holds
need the head and a reason; a revoked, changed or unlawful decision's notice must come down within
3 working days with a public reason; a notice stays online for the configured months.
"""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from enforcement.extensions import db
from enforcement.models import (AuditEvent, DecisionKind, HoldReason, Publication, PublicationKind, PublicationStatus,
                                Stage)
from enforcement.services import decisions, disclosure, workflow
from enforcement.services.cases import PartyData
from enforcement.services.errors import Conflict, DomainError, GateRefused, PermissionDenied
from tests.factories import PASSWORD

FILED = date(2026, 9, 1)
DAY = date(2026, 10, 20)        # a Tuesday
BEFORE_HOLIDAY = date(2026, 9, 30)  # the day before the National Day holiday (1–7 October, 10 October worked)
ID_NUMBER = "110101199001011234"
PHONE = "13800138000"

pytestmark = pytest.mark.usefixtures("without_record_rules")


@pytest.fixture(autouse=True)
def english(app):
    with force_locale("en"):
        yield


def decided(make, team, *, today=DAY, party=None, matter=None, decision_type="fine", **kw):
    """A case decided on `today` (a fine of 5000 by default, not major)."""
    matter = matter or make.matter(team["body"], route=None, name="一般处罚事项")
    case = make.case(team, approve=True, matter=matter, filed_on=FILED, party=party, **kw)
    make.record(case, "site_photo")
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=today)
    db.session.commit()
    make.notice(case, decision_type=decision_type, fine_amount="5000" if decision_type == "fine" else None,
                served_on=today - timedelta(days=10), today=today)
    decision = make.decide(case, team, today=today)
    return case, decision


def only_publication(case) -> Publication:
    pubs = disclosure.publications_of(case)
    assert len(pubs) == 1, pubs
    return pubs[0]


def events(action):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- the draft ------------------------------------------------------------------------------------------

def test_a_final_decision_makes_a_masked_draft_with_the_original_kept_apart(make, team):
    case, decision = decided(make, team)
    pub = only_publication(case)
    assert pub.status == PublicationStatus.DRAFT.value and pub.decision_id == decision.id
    assert "张三" in pub.original_text and ID_NUMBER in pub.original_text and PHONE in pub.original_text
    for secret in ("张三", ID_NUMBER, PHONE, "东村1号", "东村村委会北侧"):
        assert secret not in pub.masked_text
    assert "张某" in pub.masked_text and pub.party_display == "张某" and pub.village == "东村"
    assert pub.masking_changes and disclosure.leak_problems(pub) == []
    assert events("publication.drafted")


def test_penalty_decisions_are_due_in_7_working_days_others_in_20(make, team):
    case, _ = decided(make, team)
    assert only_publication(case).due_on == date(2026, 10, 29)
    coercion = make.matter(team["body"], route=None, category="coercion", name="查封场所")
    case2, _ = decided(make, team, matter=coercion)
    assert only_publication(case2).due_on == date(2026, 11, 17)


def test_the_deadline_counts_working_days_across_the_national_holiday(make, team):
    case, _ = decided(make, team, today=BEFORE_HOLIDAY)
    pub = only_publication(case)
    assert pub.due_on == date(2026, 10, 15) and pub.due_exact


def test_a_year_the_calendar_does_not_know_is_counted_in_calendar_days_never_later(app):
    day, exact = disclosure.deadline(date(2099, 12, 20), 7)
    assert (day, exact) == (date(2099, 12, 27), False)


def test_a_minors_case_is_held_back_automatically_and_can_never_be_published(make, team):
    party = PartyData(kind="person", name="李小明", id_number="110101201001011234", phone="", address="东村2号",
                      is_minor=True)
    case, _ = decided(make, team, party=party)
    pub = only_publication(case)
    assert pub.status == PublicationStatus.HELD.value and pub.hold_reason == HoldReason.MINOR.value
    with pytest.raises(GateRefused, match="minor"):
        disclosure.release(pub, actor=team["head"])
    with pytest.raises(DomainError):
        disclosure.publish(pub, actor=team["officer"])


# --- the officer's review and publishing ----------------------------------------------------------------

def test_the_officer_corrects_the_masked_copy_and_publishes_it(make, team):
    case, _ = decided(make, team)
    pub = only_publication(case)
    disclosure.save_masked(pub, actor=team["officer"], text=pub.masked_text + "\n（经复核）", version=pub.version)
    disclosure.publish(pub, actor=team["officer"], today=date(2026, 10, 22))
    db.session.commit()
    assert pub.status == PublicationStatus.PUBLISHED.value and pub.published_on == date(2026, 10, 22)
    assert "（经复核）" in pub.masked_text and len(pub.published_digest) == 64
    assert not disclosure.is_late(pub)
    assert "张三" in pub.original_text  # the original is never touched
    with pytest.raises(DomainError):
        disclosure.save_masked(pub, actor=team["officer"], text="changed after publication")


def test_publishing_is_refused_while_personal_data_is_in_the_text_and_each_item_is_named(make, team):
    case, _ = decided(make, team)
    pub = only_publication(case)
    disclosure.save_masked(pub, actor=team["officer"], text=pub.masked_text + f"\n当事人张三，电话{PHONE}，身份证{ID_NUMBER}")
    with pytest.raises(GateRefused) as refused:
        disclosure.publish(pub, actor=team["officer"])
    unmet = " ".join(refused.value.unmet)
    assert "full name" in unmet and "ID number" in unmet and "phone" in unmet
    assert pub.status == PublicationStatus.DRAFT.value


@pytest.mark.parametrize("who", ["auditor", "reviewer", "admin"])
def test_only_the_officers_on_the_case_and_the_head_publish(make, team, who):
    case, _ = decided(make, team)
    pub = only_publication(case)
    with pytest.raises(PermissionDenied):
        disclosure.publish(pub, actor=team[who])
    with pytest.raises(PermissionDenied):
        disclosure.save_masked(pub, actor=team[who], text="x")


def test_an_officer_not_on_the_case_does_not_publish_the_head_and_both_officers_do(make, team):
    from enforcement.models import Role

    case, _ = decided(make, team)
    pub = only_publication(case)
    stranger = make.user(Role.OFFICER, body=team["body"])
    assert not disclosure.can_manage(stranger, case)
    with pytest.raises(PermissionDenied):
        disclosure.publish(pub, actor=stranger)
    assert disclosure.can_manage(team["head"], case) and disclosure.can_manage(team["officer2"], case)


def test_a_stale_form_is_refused_as_a_conflict(make, team):
    case, _ = decided(make, team)
    pub = only_publication(case)
    old = pub.version
    disclosure.save_masked(pub, actor=team["officer"], text=pub.masked_text + "。")
    db.session.commit()
    with pytest.raises(Conflict):
        disclosure.publish(pub, actor=team["officer"], version=old)


def test_remask_starts_again_from_the_rules_in_force(make, team):
    case, _ = decided(make, team)
    pub = only_publication(case)
    disclosure.update_settings(actor=team["admin"], mask_party_name=False)
    disclosure.remask(pub, actor=team["officer"])
    assert pub.party_display == "张三" and "张三" in pub.masked_text
    assert disclosure.leak_problems(pub) == []  # under these rules the name is not personal data to hide


# --- holding back ---------------------------------------------------------------------------------------

def test_only_the_head_holds_a_case_back_and_only_with_a_reason(make, team):
    case, _ = decided(make, team)
    pub = only_publication(case)
    with pytest.raises(PermissionDenied):
        disclosure.hold(pub, actor=team["officer"], reason="privacy", detail="涉及个人隐私")
    with pytest.raises(GateRefused, match="why"):
        disclosure.hold(pub, actor=team["head"], reason="privacy", detail=" ")
    with pytest.raises(GateRefused, match="reasons the law allows"):
        disclosure.hold(pub, actor=team["head"], reason="too_busy", detail="x")
    disclosure.hold(pub, actor=team["head"], reason="privacy", detail="主要事实涉及个人隐私")
    assert pub.status == PublicationStatus.HELD.value and pub.held_by_id == team["head"].id
    with pytest.raises(GateRefused):
        disclosure.publish(pub, actor=team["head"])
    disclosure.release(pub, actor=team["head"])
    assert pub.status == PublicationStatus.DRAFT.value and pub.hold_reason is None


def test_no_social_impact_is_a_reason_only_when_the_setting_says_so(make, team):
    case, _ = decided(make, team)
    pub = only_publication(case)
    assert "no_social_impact" not in disclosure.hold_reasons()
    with pytest.raises(GateRefused):
        disclosure.hold(pub, actor=team["head"], reason="no_social_impact", detail="一般违法，无社会影响")
    disclosure.update_settings(actor=team["admin"], publish_scope="social_impact")
    disclosure.hold(pub, actor=team["head"], reason="no_social_impact", detail="一般违法，无社会影响")
    assert pub.hold_reason == "no_social_impact"


# --- withdrawal -----------------------------------------------------------------------------------------

def published(make, team, **kw):
    case, decision = decided(make, team, **kw)
    pub = only_publication(case)
    disclosure.publish(pub, actor=team["officer"], today=date(2026, 10, 21))
    db.session.commit()
    return case, decision, pub


def test_a_revoked_decision_must_come_down_within_3_working_days_with_a_public_reason(make, team):
    case, decision, pub = published(make, team)
    decisions.replace(decision, actor=team["head"], password=PASSWORD, kind=DecisionKind.REVOCATION,
                      reason="事实认定错误", today=BEFORE_HOLIDAY + timedelta(days=30))
    db.session.commit()
    assert pub.withdrawal_pending and pub.withdraw_due_on == date(2026, 11, 4)  # 30 Oct (Fri) + 3 working days
    assert "事实认定错误" in pub.withdraw_cause
    with pytest.raises(GateRefused, match="reason"):
        disclosure.withdraw(pub, actor=team["officer"], reason="")
    with pytest.raises(GateRefused, match="phone"):
        disclosure.withdraw(pub, actor=team["officer"], reason=f"当事人（{PHONE}）申请")
    reason = disclosure.suggested_withdrawal_reason(pub)
    assert "撤销" in reason
    disclosure.withdraw(pub, actor=team["officer"], reason=reason, today=date(2026, 11, 2))
    db.session.commit()
    record = disclosure.public_record(pub)
    assert record["status"] == "withdrawn" and record["text"] is None and record["withdrawal_reason"] == reason
    assert only_publication(case) is pub  # a revocation has no notice of its own


def test_a_changed_decision_withdraws_the_old_notice_and_drafts_the_new_one(make, team):
    case, decision, pub = published(make, team)
    plan = decisions.proposal_for(case)
    plan.fine_amount = "3000"
    change = decisions.replace(decision, actor=team["head"], password=PASSWORD, kind=DecisionKind.CHANGE,
                               reason="当事人已主动整改，减轻处罚", proposal=plan, today=date(2026, 10, 26))
    db.session.commit()
    pubs = disclosure.publications_of(case)
    assert [p.status for p in pubs] == ["published", "draft"]
    assert pubs[1].decision_id == change.id and pubs[1].title.startswith("变更")
    assert pubs[0].withdraw_due_on == date(2026, 10, 29)
    with pytest.raises(GateRefused, match="revoked or changed"):
        pubs[0].status = PublicationStatus.DRAFT.value  # even a draft of a replaced decision is never published
        disclosure.publish(pubs[0], actor=team["officer"])


def test_a_draft_whose_decision_is_replaced_is_dropped_not_published(make, team):
    case, decision = decided(make, team)
    decisions.replace(decision, actor=team["head"], password=PASSWORD, kind=DecisionKind.REVOCATION,
                      reason="程序违法", today=date(2026, 10, 22))
    db.session.commit()
    pub = only_publication(case)
    assert pub.status == PublicationStatus.SUPERSEDED.value and disclosure.obligations([team["body"].id]) == []


def test_a_decision_found_unlawful_is_recorded_by_the_head_and_then_withdrawn(make, team):
    case, decision, pub = published(make, team)
    with pytest.raises(GateRefused):
        disclosure.withdraw(pub, actor=team["officer"], reason="撤回")  # nothing requires it yet
    with pytest.raises(PermissionDenied):
        disclosure.found_unlawful(pub, actor=team["officer"], cause="监督检查发现")
    with pytest.raises(GateRefused):
        disclosure.found_unlawful(pub, actor=team["head"], cause="")
    disclosure.found_unlawful(pub, actor=team["head"], cause="县司法局执法监督确认违法", today=date(2026, 10, 26))
    assert pub.withdraw_due_on == date(2026, 10, 29)
    disclosure.withdraw(pub, actor=team["head"], reason="该决定经执法监督确认违法，依法撤回。", today=date(2026, 10, 30))
    assert pub.status == PublicationStatus.WITHDRAWN.value
    assert json.loads(events("publication.withdrawn")[-1].after)["late"] is True


# --- what is due ----------------------------------------------------------------------------------------

def test_obligations_say_what_is_overdue_due_soon_or_open(make, team):
    case, _ = decided(make, team)                     # due 29 October
    body = [team["body"].id]
    assert [o.state for o in disclosure.obligations(body, date(2026, 10, 21))] == ["open"]
    assert [o.state for o in disclosure.obligations(body, date(2026, 10, 26))] == ["due_soon"]  # 3 working days
    assert [o.state for o in disclosure.obligations(body, date(2026, 10, 30))] == ["overdue"]
    other = make.team()
    assert disclosure.obligations([other["body"].id], date(2026, 10, 30)) == []
    assert disclosure.obligations_for(team["auditor"], date(2026, 10, 30))[0].action == "publish"


def test_published_notices_come_down_after_the_keep_online_period(make, team):
    case, decision, pub = published(make, team)
    assert disclosure.offline_on(pub) == date(2029, 10, 21)  # 36 months by default
    assert pub in db.session.scalars(disclosure.public_query(today=date(2029, 10, 20))).all()
    assert pub not in db.session.scalars(disclosure.public_query(today=date(2029, 10, 21))).all()
    assert not disclosure.is_online(pub, date(2029, 10, 21))
    disclosure.update_settings(actor=team["admin"], keep_online_months=6)
    assert pub not in db.session.scalars(disclosure.public_query(today=date(2027, 4, 21))).all()


def test_drafts_and_holds_never_reach_the_public(make, team):
    case, _ = decided(make, team)
    pub = only_publication(case)
    assert pub not in db.session.scalars(disclosure.public_query()).all()
    with pytest.raises(DomainError):
        disclosure.public_publication(pub.id)
    record_keys = set(disclosure.public_record.__code__.co_names)
    assert "original_text" not in record_keys and "masking" not in record_keys


# --- settings -------------------------------------------------------------------------------------------

def test_only_an_administrator_changes_the_rules_and_each_change_is_audited(make, team):
    with pytest.raises(PermissionDenied):
        disclosure.update_settings(actor=team["head"], keep_online_months=12)
    with pytest.raises(GateRefused):
        disclosure.update_settings(actor=team["admin"], keep_online_months=0)
    with pytest.raises(DomainError):
        disclosure.update_settings(actor=team["admin"], colour="red")
    disclosure.update_settings(actor=team["admin"], keep_online_months=24, extra_terms="东村村委会\n\n 东村村委会 ")
    db.session.commit()
    settings = disclosure.get_settings()
    assert settings.keep_online_months == 24 and settings.extra_terms == "东村村委会"
    event = events("disclosure.settings_changed")[-1]
    assert json.loads(event.after)["keep_online_months"] == 24 and json.loads(event.before)["keep_online_months"] == 36


def test_configured_terms_are_removed_from_new_drafts(make, team):
    disclosure.update_settings(actor=team["admin"], extra_terms="未取得乡村建设规划许可证")
    case, _ = decided(make, team)
    assert "未取得乡村建设规划许可证" not in only_publication(case).masked_text


# --- demolition notices ---------------------------------------------------------------------------------

def test_a_demolition_notice_is_posted_only_for_a_demolition_decision_in_force_with_a_future_deadline(make, team):
    case, fine = decided(make, team)
    with pytest.raises(GateRefused, match="demolition decision"):
        disclosure.post_demolition_notice(fine, actor=team["officer"], self_demolition_by=DAY + timedelta(days=20),
                                          today=DAY)
    demolition_matter = make.matter(team["body"])  # the planning route: demolition is major
    case2, decision = decided(make, team, matter=demolition_matter, decision_type="demolition")
    with pytest.raises(GateRefused, match="after today"):
        disclosure.post_demolition_notice(decision, actor=team["officer"], self_demolition_by=DAY, today=DAY)
    with pytest.raises(PermissionDenied):
        disclosure.post_demolition_notice(decision, actor=team["auditor"], self_demolition_by=DAY + timedelta(days=20),
                                          today=DAY)
    notice = disclosure.post_demolition_notice(decision, actor=team["officer"],
                                               self_demolition_by=date(2026, 11, 20), today=DAY)
    assert notice.kind == PublicationKind.DEMOLITION_NOTICE.value and notice.due_on is None
    assert "2026年11月20日前自行拆除" in notice.masked_text and "张三" not in notice.masked_text
    with pytest.raises(GateRefused, match="already has"):
        disclosure.post_demolition_notice(decision, actor=team["officer"], self_demolition_by=date(2026, 11, 25),
                                          today=DAY)
    disclosure.publish(notice, actor=team["officer"], today=DAY)
    assert disclosure.public_record(notice)["self_demolition_by"] == "2026-11-20"
