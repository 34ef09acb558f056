"""Specification of the people services (services.people): the certificate ledger decides who may
act as an officer on a date; users are created with roles and strong passwords, deactivated (never
deleted) with a reason; API tokens are stored hashed and can be revoked.

Tested without HTTP, through the `app` and `make` fixtures.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import select, text

from enforcement.auth import load_user
from enforcement.extensions import db
from enforcement.models import ApiToken, AuditEvent, Role, User
from enforcement.services import people
from enforcement.services.errors import Conflict, DomainError
from tests.factories import PASSWORD

ON = date(2026, 6, 1)


def last_event(action: str) -> AuditEvent | None:
    return db.session.scalar(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc()))


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    with force_locale("en"):
        yield


# --- certificate_problem: who may act as an officer on a date ---------------------------------

def test_a_valid_certificate_in_scope_has_no_problem(make):
    body = make.body()
    officer = make.user(Role.OFFICER, body=body)
    assert people.certificate_problem(officer, ON, category="城乡建设", body=body) is None


def test_officer_without_any_certificate_cannot_act(make):
    body = make.body()
    officer = make.user(Role.OFFICER, body=body, certificate=False, name="王无证")
    problem = people.certificate_problem(officer, ON, category="城乡建设", body=body)
    assert problem and "王无证" in problem and "no enforcement certificate" in problem


def test_expired_certificate_is_refused_and_the_message_names_the_date(make):
    body = make.body()
    officer = make.user(Role.OFFICER, body=body, name="李过期",
                        certificate={"number": "EXP-1", "valid_until": date(2026, 5, 31)})
    problem = people.certificate_problem(officer, ON, category="城乡建设", body=body)
    assert problem and "李过期" in problem and "2026-05-31" in problem and "EXP-1" in problem
    # The day before it expired it was fine.
    assert people.certificate_problem(officer, date(2026, 5, 31), category="城乡建设", body=body) is None


def test_certificate_not_yet_valid_is_refused_and_names_the_start(make):
    body = make.body()
    officer = make.user(Role.OFFICER, body=body, name="赵新证",
                        certificate={"valid_from": date(2026, 7, 1), "valid_until": date(2031, 6, 30)})
    problem = people.certificate_problem(officer, ON, category="城乡建设", body=body)
    assert problem and "赵新证" in problem and "2026-07-01" in problem
    assert people.certificate_problem(officer, date(2026, 7, 1), category="城乡建设", body=body) is None


@pytest.mark.parametrize("status", ["suspended", "revoked"])
def test_suspended_or_revoked_certificate_is_refused(make, status):
    body = make.body()
    officer = make.user(Role.OFFICER, body=body, name="钱暂扣")
    people.set_certificate_status(officer.certificates[0], actor=None, status=status, reason="年度考核不合格")
    db.session.commit()
    problem = people.certificate_problem(officer, ON, category="城乡建设", body=body)
    assert problem and "钱暂扣" in problem and "suspended or revoked" in problem


def test_certificate_status_change_needs_a_known_status_and_a_reason(make):
    officer = make.user(Role.OFFICER)
    cert = officer.certificates[0]
    with pytest.raises(DomainError):
        people.set_certificate_status(cert, actor=None, status="lost", reason="丢失")
    with pytest.raises(DomainError):
        people.set_certificate_status(cert, actor=None, status="suspended", reason="  ")
    assert cert.status == "valid"


def test_certificate_of_another_category_is_refused(make):
    body = make.body()
    officer = make.user(Role.OFFICER, body=body, name="孙市监", certificate={"category": "市场监管"})
    problem = people.certificate_problem(officer, ON, category="城乡建设", body=body)
    assert problem and "孙市监" in problem and "城乡建设" in problem


def test_comprehensive_enforcement_certificate_covers_every_category(make):
    body = make.body()
    officer = make.user(Role.OFFICER, body=body, certificate={"category": "综合行政执法"})
    assert people.certificate_problem(officer, ON, category="城乡建设", body=body) is None


def test_certificate_for_another_town_is_refused(make):
    body = make.body(area="永平镇")
    other = make.body(area="长乐镇")
    officer = make.user(Role.OFFICER, body=body, name="周外镇", certificate={"area": other.area})
    problem = people.certificate_problem(officer, ON, category="城乡建设", body=body)
    assert problem and "周外镇" in problem and body.name in problem


def test_county_area_certificate_covers_a_town_under_that_county(make):
    county = make.body(kind="county", area="永平县")
    town = make.body(area="永平县永平镇", parent_id=county.id)
    sibling_county = make.body(kind="county", area="长乐县")
    officer = make.user(Role.OFFICER, body=town, certificate={"area": "永平县"})
    assert people.certificate_problem(officer, ON, category="城乡建设", body=town) is None
    # The same certificate does not cover a town of another county.
    other_town = make.body(area="长乐县长乐镇", parent_id=sibling_county.id)
    assert people.certificate_problem(officer, ON, category="城乡建设", body=other_town) is not None


def test_deactivated_officer_cannot_act_even_with_a_valid_certificate(make):
    body = make.body()
    officer = make.user(Role.OFFICER, body=body, name="吴离职")
    people.deactivate_user(officer, actor=None, reason="调离")
    db.session.commit()
    problem = people.certificate_problem(officer, ON, category="城乡建设", body=body)
    assert problem and "吴离职" in problem and "deactivated" in problem


def test_auxiliary_staff_never_count_as_officers(make):
    body = make.body()
    helper = make.user(Role.OFFICER, body=body, name="郑协管", auxiliary=True)
    assert helper.certificates  # even with a certificate in the ledger
    problem = people.certificate_problem(helper, ON, category="城乡建设", body=body)
    assert problem and "郑协管" in problem and "auxiliary" in problem


def test_user_without_the_officer_role_cannot_act_as_officer(make):
    body = make.body()
    head = make.user(Role.HEAD, body=body, name="冯镇长")
    problem = people.certificate_problem(head, ON, category="城乡建设", body=body)
    assert problem and "冯镇长" in problem and "officer role" in problem


def test_a_valid_second_certificate_wins_over_an_expired_first(make):
    body = make.body()
    officer = make.user(Role.OFFICER, body=body, certificate={"valid_until": date(2025, 12, 31)})
    people.add_certificate(actor=None, user=officer, number="RENEW-1", issuer="测试省人民政府",
                           category="城乡建设", area=body.area, valid_from=date(2026, 1, 1),
                           valid_until=date(2030, 12, 31))
    db.session.commit()
    assert people.certificate_problem(officer, ON, category="城乡建设", body=body) is None


def test_certificate_ledger_refuses_a_duplicate_number_and_an_inverted_period(make):
    officer = make.user(Role.OFFICER, certificate={"number": "DUP-1"})
    with pytest.raises(Conflict):
        people.add_certificate(actor=None, user=officer, number="DUP-1", issuer="x", category="城乡建设",
                               area="a", valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1))
    with pytest.raises(DomainError):
        people.add_certificate(actor=None, user=officer, number="INV-1", issuer="x", category="城乡建设",
                               area="a", valid_from=date(2027, 1, 1), valid_until=date(2026, 1, 1))
    with pytest.raises(DomainError):
        people.add_certificate(actor=None, user=officer, number="  ", issuer="x", category="城乡建设",
                               area="a", valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1))


def test_adding_a_certificate_writes_an_audit_event(make):
    officer = make.user(Role.OFFICER, certificate={"number": "AUD-CERT-1"})
    event = last_event("certificate.added")
    assert event is not None and event.object_id == str(officer.certificates[0].id)
    assert json.loads(event.after)["number"] == "AUD-CERT-1"


# --- users ----------------------------------------------------------------------------------

def test_user_needs_at_least_one_role(make):
    body = make.body()
    with pytest.raises(DomainError) as exc:
        people.create_user(actor=None, username="noroles", name="无角色", body=body, password=PASSWORD, roles=[])
    assert "role" in exc.value.message
    assert db.session.scalar(select(User).where(User.username == "noroles")) is None


def test_unknown_role_is_refused_and_named(make):
    body = make.body()
    with pytest.raises(DomainError) as exc:
        people.create_user(actor=None, username="judge1", name="法官", body=body, password=PASSWORD,
                           roles=["officer", "judge"])
    assert "judge" in exc.value.message
    assert db.session.scalar(select(User).where(User.username == "judge1")) is None


def test_one_user_may_hold_several_roles(make):
    user = make.user(Role.OFFICER, Role.HEAD)
    assert user.roles == {"officer", "head"}


def test_username_is_unique_case_insensitively(make):
    body = make.body()
    make.user(Role.OFFICER, body=body, username="ZhangSan")
    with pytest.raises(Conflict):
        people.create_user(actor=None, username="zhangsan", name="张三二", body=body, password=PASSWORD,
                           roles=[Role.OFFICER])
    with pytest.raises(Conflict):
        people.create_user(actor=None, username=" ZHANGSAN ", name="张三三", body=body, password=PASSWORD,
                           roles=[Role.OFFICER])


@pytest.mark.parametrize("password", ["short1", "abcdefghijkl", "123456789012", ""])
def test_weak_password_is_refused(make, password):
    body = make.body()
    with pytest.raises(DomainError):
        people.create_user(actor=None, username="weakpw", name="弱口令", body=body, password=password,
                           roles=[Role.OFFICER])
    assert db.session.scalar(select(User).where(User.username == "weakpw")) is None


def test_weak_new_password_is_refused_and_the_old_one_still_works(make):
    user = make.user(Role.OFFICER)
    version = user.session_version
    with pytest.raises(DomainError):
        people.set_password(user, "abc", actor=user)
    assert people.verify_password(user, PASSWORD)
    assert user.session_version == version


def test_password_is_stored_hashed_and_verified(make):
    user = make.user(Role.OFFICER)
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")
    assert people.verify_password(user, PASSWORD)
    assert not people.verify_password(user, PASSWORD + "x")


def test_password_change_ends_every_session_and_is_audited(make):
    user = make.user(Role.OFFICER)
    old_key = user.get_id()
    people.set_password(user, "new-horse-battery-7", actor=user)
    db.session.commit()
    assert load_user(old_key) is None
    assert load_user(user.get_id()) == user
    assert last_event("user.password_changed").object_id == str(user.id)


def test_deactivation_requires_a_reason(make):
    admin = make.user(Role.ADMIN)
    user = make.user(Role.OFFICER)
    with pytest.raises(DomainError):
        people.deactivate_user(user, actor=admin, reason="   ")
    assert user.active is True


def test_nobody_can_deactivate_themselves(make):
    admin = make.user(Role.ADMIN)
    with pytest.raises(DomainError):
        people.deactivate_user(admin, actor=admin, reason="想休息")
    assert admin.active is True


def test_deactivation_ends_sessions_revokes_tokens_and_is_audited(make):
    admin = make.user(Role.ADMIN)
    user = make.user(Role.OFFICER, name="陈调离")
    token_a, plain_a = people.create_api_token(user, actor=user, name="手机")
    token_b, plain_b = people.create_api_token(user, actor=user, name="平板")
    db.session.commit()
    old_key, version = user.get_id(), user.session_version

    people.deactivate_user(user, actor=admin, reason="调离本镇")
    db.session.commit()

    assert user.active is False and user.deactivated_at is not None
    assert user.session_version == version + 1
    assert load_user(old_key) is None
    assert token_a.revoked_at is not None and token_b.revoked_at is not None
    assert people.user_for_token(plain_a) is None and people.user_for_token(plain_b) is None
    event = last_event("user.deactivated")
    assert event.object_id == str(user.id) and event.actor_id == admin.id and event.object_label == "陈调离"
    assert json.loads(event.after) == {"active": False, "reason": "调离本镇"}
    assert json.loads(event.before) == {"active": True}


def test_deactivated_user_is_never_deleted(make):
    admin = make.user(Role.ADMIN)
    user = make.user(Role.OFFICER)
    user_id = user.id
    people.deactivate_user(user, actor=admin, reason="退休")
    db.session.commit()
    db.session.expire_all()
    row = db.session.execute(text("SELECT id, active FROM users WHERE id = :id"), {"id": user_id}).one()
    assert row.id == user_id and not row.active
    assert people.get_user(user_id).certificates  # the ledger stays too


def test_reactivation_restores_login_but_not_old_sessions(make):
    admin = make.user(Role.ADMIN)
    user = make.user(Role.OFFICER)
    old_key = user.get_id()
    people.deactivate_user(user, actor=admin, reason="借调")
    people.reactivate_user(user, actor=admin)
    db.session.commit()
    assert user.active is True
    assert load_user(old_key) is None  # the old cookie stays dead
    assert last_event("user.reactivated").object_id == str(user.id)


def test_role_change_ends_sessions_and_is_audited(make):
    admin = make.user(Role.ADMIN)
    user = make.user(Role.OFFICER)
    old_key = user.get_id()
    people.update_user(user, actor=admin, roles=[Role.OFFICER, Role.HEAD])
    db.session.commit()
    assert load_user(old_key) is None
    event = last_event("user.updated")
    assert json.loads(event.before)["roles"] == ["officer"]
    assert json.loads(event.after)["roles"] == ["head", "officer"]


# --- API tokens -------------------------------------------------------------------------------

def test_api_token_is_stored_only_as_a_hash(make):
    user = make.user(Role.OFFICER)
    token, plain = people.create_api_token(user, actor=user, name="执法记录仪")
    db.session.commit()
    rows = db.session.execute(text("SELECT * FROM api_tokens")).all()
    assert rows
    for row in rows:
        for value in row:
            assert plain not in str(value)
    assert token.token_hash == people.token_digest(plain) and token.token_hash != plain
    assert people.user_for_token(plain) == user


def test_api_token_event_does_not_contain_the_token(make):
    user = make.user(Role.OFFICER)
    _token, plain = people.create_api_token(user, actor=user, name="手机")
    db.session.commit()
    for row in db.session.execute(text("SELECT * FROM audit_events")).all():
        assert all(plain not in str(v) for v in row)


def test_revoked_api_token_authenticates_nobody(make):
    user = make.user(Role.OFFICER)
    token, plain = people.create_api_token(user, actor=user, name="手机")
    db.session.commit()
    people.revoke_api_token(token, actor=user)
    db.session.commit()
    assert people.user_for_token(plain) is None
    assert last_event("api_token.revoked").object_id == str(token.id)


def test_unknown_api_token_authenticates_nobody(make):
    make.user(Role.OFFICER)
    assert people.user_for_token("etk_not-a-token") is None
    assert people.user_for_token("") is None


def test_api_token_needs_a_unique_name(make):
    user = make.user(Role.OFFICER)
    with pytest.raises(DomainError):
        people.create_api_token(user, actor=user, name="  ")
    people.create_api_token(user, actor=user, name="手机")
    with pytest.raises(Conflict):
        people.create_api_token(user, actor=user, name="手机")
    assert db.session.scalar(select(ApiToken.id).where(ApiToken.name == "  ")) is None


# --- bodies: case numbers must stay unique across bodies ----------------------------------------

def test_two_bodies_cannot_share_a_short_name_because_their_case_numbers_would_collide(make):
    first = make.body(short_name="同名")
    with pytest.raises(Conflict):
        people.create_body(actor=None, name="另一个同名镇人民政府", short_name="同名", area="另一个同名镇")
    db.session.rollback()
    second = make.body(short_name="别名")
    with pytest.raises(Conflict):
        people.update_body(second, actor=None, short_name=first.short_name)


def test_case_number_pattern_must_name_the_body(app):
    with pytest.raises(DomainError):
        people.validate_case_number_pattern("罚〔{year}〕{seq}号")


def test_case_number_pattern_needs_year_and_sequence_and_must_be_valid(app):
    for pattern in ("{short}罚〔{year}〕号", "{short}罚{seq}号", "{short}罚〔{year}〕{seq}号{unknown}", "{short}{year}{seq:q}"):
        with pytest.raises(DomainError):
            people.validate_case_number_pattern(pattern)
    people.validate_case_number_pattern("{short}罚〔{year}〕{seq:03d}号")
