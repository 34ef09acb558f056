"""Specification of the master-data commands (`flask --app app admin …`).

They use the same services as the screens, commit once, write the audit trail, and when a
service refuses they print its message, exit with 1 and change nothing.
"""
from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from enforcement.extensions import db
from enforcement.models import AuditEvent, AuditHead, Body, Certificate, Matter, User
from enforcement.services import people

PASSWORD = "field-office-2026"


def run(runner, *args, input: str | None = None):
    result = runner.invoke(args=["admin", *args], input=input, catch_exceptions=False)
    db.session.expire_all()  # the command ran in its own session: read what it committed
    return result


def seq() -> int:
    db.session.expire_all()
    return db.session.get(AuditHead, 1).seq


def actions() -> list[str]:
    return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


@pytest.fixture(autouse=True)
def english(app):
    """Messages are asserted in English (the msgids), whatever translations are compiled."""
    with force_locale("en"):
        yield


@pytest.fixture
def town(runner):
    result = run(runner, "create-body", "--name", "永平镇人民政府", "--short-name", "永平", "--area", "永平镇",
                 "--phone", "0871-1234567")
    assert result.exit_code == 0, result.output
    return db.session.scalar(select(Body).where(Body.name == "永平镇人民政府"))


def test_create_body_prints_an_example_case_number_and_records_it(runner, town):
    assert town.short_name == "永平" and town.kind == "town" and town.phone == "0871-1234567"
    assert actions()[-1] == "body.created"


def test_create_body_under_a_parent_named_by_short_name(runner, town):
    result = run(runner, "create-body", "--name", "永平镇综合行政执法队", "--short-name", "永综", "--area", "永平镇",
                 "--kind", "other", "--parent", "永平", "--pattern", "{short}执罚〔{year}〕{seq:03d}号")
    assert result.exit_code == 0, result.output
    assert f"永综执罚〔{date.today().year}〕001号" in result.output
    child = db.session.scalar(select(Body).where(Body.short_name == "永综"))
    assert child.parent_id == town.id


def test_create_body_refuses_a_bad_pattern_and_a_taken_name(runner, town):
    before = seq()
    result = run(runner, "create-body", "--name", "别镇", "--short-name", "别", "--area", "别镇", "--pattern", "{short}")
    assert result.exit_code == 1
    assert "must contain {short}, {year} and {seq}" in result.output
    result = run(runner, "create-body", "--name", "永平镇人民政府", "--short-name", "永", "--area", "永平镇")
    assert result.exit_code == 1 and "exists already" in result.output
    assert seq() == before
    assert db.session.scalar(select(func.count()).select_from(Body)) == 1


def test_create_user_with_several_roles_and_a_given_password(runner, town):
    result = run(runner, "create-user", "--username", "zhangsan", "--name", "张三", "--body", "永平",
                 "--role", "officer", "--role", "head", "--password", PASSWORD, "--unit", "综合执法办",
                 "--legal-qualification", "A2019000123")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "zhangsan"))
    assert user.roles == {"officer", "head"} and user.body_id == town.id and user.unit == "综合执法办"
    assert user.legal_qualification_no == "A2019000123"
    assert people.verify_password(user, PASSWORD)
    assert actions()[-1] == "user.created"


def test_create_user_prompts_for_the_password_twice(runner, town):
    result = run(runner, "create-user", "--username", "lisi", "--name", "李四", "--body", str(town.id),
                 "--role", "auditor", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # the prompt hides it
    assert people.verify_password(db.session.scalar(select(User).where(User.username == "lisi")), PASSWORD)


@pytest.mark.parametrize("args, message", [
    (["--password", "short"], "at least 10 characters"),
    (["--password", "onlyletterspassword"], "must mix letters"),
    (["--password", PASSWORD, "--body", "不存在镇"], "No body"),
])
def test_create_user_refusals_print_the_message_and_change_nothing(runner, town, args, message):
    before = seq()
    base = ["create-user", "--username", "wangwu", "--name", "王五", "--body", "永平", "--role", "officer"]
    result = run(runner, *base, *args)
    assert result.exit_code == 1
    assert message in result.output
    assert seq() == before
    assert db.session.scalar(select(User).where(User.username == "wangwu")) is None


def test_create_user_refuses_a_taken_username_and_an_unknown_role(runner, town):
    run(runner, "create-user", "--username", "zhao", "--name", "赵", "--body", "永平", "--role", "officer",
        "--password", PASSWORD)
    result = run(runner, "create-user", "--username", "ZHAO", "--name", "赵二", "--body", "永平", "--role", "officer",
                 "--password", PASSWORD)
    assert result.exit_code == 1 and "is taken" in result.output
    result = runner.invoke(args=["admin", "create-user", "--username", "qian", "--name", "钱", "--body", "永平",
                                 "--role", "king", "--password", PASSWORD])
    assert result.exit_code == 2 and "king" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_add_certificate_then_list_users_shows_its_status(runner, town):
    run(runner, "create-user", "--username", "zhou", "--name", "周", "--body", "永平", "--role", "officer",
        "--password", PASSWORD)
    result = run(runner, "add-certificate", "--username", "zhou", "--number", "滇执0001", "--issuer", "云南省人民政府",
                 "--category", "城乡建设、自然资源", "--valid-from", "2024-01-01", "--valid-until", "2030-12-31")
    assert result.exit_code == 0, result.output
    cert = db.session.scalar(select(Certificate).where(Certificate.number == "滇执0001"))
    assert cert.area == "永平镇" and cert.valid_until == date(2030, 12, 31)  # the body's area by default

    run(runner, "create-user", "--username", "wu", "--name", "吴", "--body", "永平", "--role", "officer",
        "--password", PASSWORD)
    run(runner, "add-certificate", "--username", "wu", "--number", "滇执0002", "--issuer", "云南省人民政府",
        "--category", "城乡建设", "--valid-from", "2019-01-01", "--valid-until", "2023-12-31")
    result = run(runner, "list-users")
    assert result.exit_code == 0
    lines = {line.split("\t")[0]: line for line in result.output.splitlines() if "\t" in line}
    assert "certificate:valid" in lines["zhou"]
    assert "certificate:expired" in lines["wu"]


def test_add_certificate_refuses_a_period_ending_before_it_starts(runner, town):
    run(runner, "create-user", "--username", "zheng", "--name", "郑", "--body", "永平", "--role", "officer",
        "--password", PASSWORD)
    result = run(runner, "add-certificate", "--username", "zheng", "--number", "X1", "--issuer", "省政府",
                 "--category", "城乡建设", "--valid-from", "2026-01-01", "--valid-until", "2025-01-01")
    assert result.exit_code == 1 and "cannot expire before it becomes valid" in result.output
    result = run(runner, "add-certificate", "--username", "nobody", "--number", "X2", "--issuer", "省政府",
                 "--category", "城乡建设", "--valid-from", "2026-01-01", "--valid-until", "2027-01-01")
    assert result.exit_code == 1 and "No user named nobody" in result.output
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_deactivate_user_needs_a_reason_and_keeps_the_user_listed_with_all(runner, town):
    run(runner, "create-user", "--username", "feng", "--name", "冯", "--body", "永平", "--role", "officer",
        "--password", PASSWORD)
    result = runner.invoke(args=["admin", "deactivate-user", "feng"])
    assert result.exit_code == 2 and "--reason" in result.output
    result = run(runner, "deactivate-user", "feng", "--reason", "调离")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "feng"))
    assert not user.active and user.deactivated_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deactivated"))
    assert "调离" in event.after and event.actor_name == "system"

    assert "feng" not in run(runner, "list-users").output
    listed = run(runner, "list-users", "--all").output
    assert "feng" in listed and "deactivated" in listed

    result = run(runner, "deactivate-user", "feng", "--reason", "again")
    assert result.exit_code == 1 and "deactivated already" in result.output


def test_add_matter_own_and_delegated(runner, town):
    result = run(runner, "add-matter", "--body", "永平", "--code", "330217001",
                 "--name", "对未取得乡村建设规划许可证进行建设的处罚", "--enforcement-category", "城乡建设",
                 "--legal-basis", "《中华人民共和国城乡规划法》第六十五条", "--route", "planning", "--major",
                 "--major-fine-person", "10000", "--major-fine-org", "100000")
    assert result.exit_code == 0, result.output
    matter = db.session.scalar(select(Matter).where(Matter.code == "330217001"))
    assert matter.in_major_catalogue and matter.route == "planning" and matter.active
    assert str(matter.major_fine_org) == "100000.00"
    assert actions()[-1] == "matter.created"

    before = seq()
    delegated = ["add-matter", "--body", "永平", "--code", "330218001", "--name", "对非法占用土地建住宅的处罚",
                 "--enforcement-category", "自然资源", "--legal-basis", "《中华人民共和国土地管理法》第七十八条",
                 "--route", "land", "--power-source", "delegated"]
    result = run(runner, *delegated)
    assert result.exit_code == 1
    assert "A delegated power needs the published delegation document" in result.output
    assert seq() == before

    result = run(runner, *delegated, "--delegation-document", "省政府令第12号", "--delegation-published-on", "2025-03-01")
    assert result.exit_code == 0, result.output
    matter = db.session.scalar(select(Matter).where(Matter.code == "330218001"))
    assert matter.delegation_published_on == date(2025, 3, 1)


def test_add_matter_refuses_a_bad_amount(runner, town):
    result = run(runner, "add-matter", "--body", "永平", "--code", "X", "--name", "X", "--enforcement-category", "城乡建设",
                 "--legal-basis", "X", "--major-fine-person", "一万")
    assert result.exit_code == 1 and "Not an amount" in result.output
