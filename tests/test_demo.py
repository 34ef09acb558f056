"""Specification of the demo town (`flask --app app demo`, enforcement.demo).

The demo loads 永平镇人民政府 through the real services — so every case passed the real gates and
the audit trail records it all — with four or more officers (one whose certificate has expired),
two legal reviewers, a head, an auditor of the supervising county body and an admin, the powers a
town enforces and about thirty cases over the stages. Every case from the notice on was told and
heard; every major decision rests on a passed legal review of exactly its dossier and a collective
discussion; a few cases show the review screens (queue, return, stale review, hearing, extension).
Loading twice changes nothing.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from datetime import date
from pathlib import Path

import flask_babel
import pytest
from sqlalchemy import func, select

from enforcement import demo
from enforcement.extensions import db, limiter
from enforcement.models import (AuditEvent, AuditHead, Body, Case, CollectiveDiscussion, Decision, DiscretionBand,
                                Matter, Record, ReviewStatus, Role, Stage, User)
from enforcement.services import audit, cases, decisions, people, permissions, review
from enforcement.services import notice as notice_service
from enforcement.services.cases import CaseFilter
from enforcement.services.major import latest_notice, major_reasons
from tests.test_review_races import digest_up_to

# The `town` fixture replaces the test's database with a snapshot: on PostgreSQL, a database of its own.
pytestmark = pytest.mark.own_database


@pytest.fixture(scope="module")
def demo_snapshots(tmp_path_factory):
    """Per database backend, a copy of the database and object store just after the demo was loaded."""
    snapshots: dict[str, tuple[str, Path]] = {}
    yield tmp_path_factory.mktemp("demo-snapshots"), snapshots
    from tests.conftest import _pg_exec

    for backend, (where, _objects) in snapshots.items():
        if backend == "postgresql":
            _pg_exec(f'DROP DATABASE IF EXISTS "{where}" WITH (FORCE)')


@pytest.fixture
def town(app, tmp_path, demo_snapshots):
    """The demo, loaded strictly (any step a gate refuses fails the test).

    The demo takes seconds to load through the services; the first test on each backend loads it
    and keeps a snapshot, later tests start from a copy of that snapshot (the database by file copy
    or `CREATE DATABASE … TEMPLATE`, and the objects) — the same state, much faster.
    """
    from tests.conftest import _pg_exec

    folder, snapshots = demo_snapshots
    url = db.engine.url
    backend = url.get_backend_name()
    objects = tmp_path / "objects"  # the test app's object store (tests/conftest.py make_app)
    if backend not in snapshots:
        assert demo.load_demo(strict=True) is True
        db.session.commit()
        _disconnect()
        if backend == "sqlite":
            where = str(folder / "demo.sqlite3")
            shutil.copyfile(url.database, where)
        else:
            where = f"enf_demo_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            _pg_exec(f'CREATE DATABASE "{where}" TEMPLATE "{url.database}"')
        shutil.copytree(objects, folder / f"objects-{backend}")
        snapshots[backend] = (where, folder / f"objects-{backend}")
    else:
        where, saved = snapshots[backend]
        _disconnect()
        if backend == "sqlite":
            for suffix in ("-wal", "-shm"):
                Path(url.database + suffix).unlink(missing_ok=True)
            shutil.copyfile(where, url.database)
        else:
            _pg_exec(f'DROP DATABASE "{url.database}" WITH (FORCE)')
            _pg_exec(f'CREATE DATABASE "{url.database}" TEMPLATE "{where}"')
        shutil.rmtree(objects)
        shutil.copytree(saved, objects)
    return db.session.scalar(select(Body).where(Body.name == demo.TOWN_NAME))


def _disconnect() -> None:
    """Close every connection of the test app, so that its database can be copied or replaced."""
    db.session.remove()
    db.engine.dispose()


def _table_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def _user(username: str) -> User:
    return people.find_user(username)


def test_demo_creates_the_town_under_its_supervising_county_body(town):
    assert town.short_name == "永平" and town.area == "永平镇" and town.kind == "town"
    assert town.parent is not None and town.parent.name == demo.COUNTY_NAME
    assert town.case_number_pattern == "{short}罚〔{year}〕{seq}号"


def test_second_load_changes_nothing(town):
    counts, head = _table_counts(), db.session.get(AuditHead, 1)
    seq, last_hash = head.seq, head.last_hash

    assert demo.load_demo() is False
    db.session.commit()

    assert _table_counts() == counts
    db.session.expire_all()
    head = db.session.get(AuditHead, 1)
    assert (head.seq, head.last_hash) == (seq, last_hash)


def test_about_thirty_cases_spread_over_at_least_six_stages(town):
    rows = db.session.execute(select(Case.stage, func.count()).where(Case.body_id == town.id)
                              .group_by(Case.stage)).all()
    by_stage = dict(rows)
    assert sum(by_stage.values()) >= 30
    assert len(by_stage) >= 6
    assert set(by_stage) == {s.value for s in Stage}  # every stage the machine knows has a case


def test_case_numbers_follow_the_pattern_and_the_filing_order(town):
    rows = db.session.execute(select(Case.number, Case.seq, Case.filed_on).where(Case.body_id == town.id)
                              .order_by(Case.seq)).all()
    assert all(re.fullmatch(r"永平罚〔2026〕\d+号", number) for number, _seq, _filed in rows)
    filed = [f for _n, _s, f in rows]
    assert filed == sorted(filed)
    assert all(date(2026, 1, 1) <= f <= min(date.today(), demo.STORY_END) for f in filed)


def test_cases_are_in_many_villages_and_some_are_overdue(town):
    villages = db.session.scalars(select(Case.village).where(Case.body_id == town.id).distinct()).all()
    assert len(villages) >= 10
    assert set(villages) <= set(demo.VILLAGES)
    head = _user("head")
    assert cases.count_cases(head, CaseFilter(overdue=True)) >= 2


def _decided(town) -> list[Case]:
    return list(db.session.scalars(select(Case).where(Case.body_id == town.id, Case.stage.in_(
        [Stage.DECISION.value, Stage.SERVICE.value, Stage.EXECUTION.value, Stage.CLOSED.value,
         Stage.ARCHIVED.value])).order_by(Case.id)))


def test_major_cases_passed_legal_review_before_their_decision(town, app):
    """Every decided case has the head's decision with its 决定书; every major one rests on a passed
    review of exactly the dossier decided on, by a reviewer who may review it, and a collective discussion."""
    decided = _decided(town)
    assert len(decided) >= 10
    store = app.extensions["object_store"]
    majors = 0
    for case in decided:
        decision = decisions.original_decision(case)
        assert decision is not None, case.number
        assert decision.signed_by.username == "head"
        assert decision.digest == digest_up_to(case, decision.last_record_id), case.number
        document = decision.document_record
        assert (document.type_code, document.stage, document.content_type) == ("decision", "decision",
                                                                               "application/pdf")
        assert store.verify(document.storage_key, document.sha256, version_id=document.version_id)[0]
        assert db.session.get(Record, document.id) is not None
        if case.route:
            assert decision.major, case.number  # every demolition order is major
        if not decision.major:
            assert not major_reasons(case), case.number
            continue
        majors += 1
        request = decision.review_request
        assert request is not None and request.status == ReviewStatus.PASSED.value, case.number
        assert request.digest == decision.digest, case.number
        assert request.submitted_by in [o.user for o in case.officers] and request.attestation
        assert request.reviewer.username == "reviewer1"
        assert review.reviewer_problems(request.reviewer, case) == [], case.number
        opinion = request.opinion_record
        assert opinion is not None and opinion.type_code == "legal_review_opinion"
        discussion = db.session.get(CollectiveDiscussion, decision.collective_discussion_id)
        assert discussion is not None and discussion.chaired_by.username == "head"
        assert discussion.record.type_code == "collective_discussion"
        assert discussion.created_at >= request.reviewed_at
        stages = [e.after for e in audit.events_for_case(case.id) if e.action == "case.stage_changed"]
        assert any('"stage":"review"' in (a or "") for a in stages), case.number
    assert majors >= 8


def test_every_case_from_the_notice_on_was_told_and_heard(town):
    """告知 with the statement or its waiver, the 5 working days for a hearing over before the decision,
    every date the law counts with inside 2026 and the decision inside its limit."""
    rows = db.session.scalars(select(Case).where(Case.body_id == town.id).order_by(Case.id)).all()
    told = [c for c in rows if latest_notice(c) is not None]
    after_notice = {Stage.NOTICE.value, Stage.REVIEW.value, *[c.stage for c in _decided(town)]}
    assert {c.id for c in rows if c.stage in after_notice} <= {c.id for c in told}
    for case in told:
        notice = latest_notice(case)
        assert notice.statement_waived or notice.statement, case.number
        assert case.filed_on <= notice.served_on <= demo.STORY_END
        if notice.hearing_offered:
            assert notice.hearing_deadline.year == 2026
        decision = decisions.original_decision(case)
        if decision is None:
            continue
        assert date(2026, 1, 1) <= decision.decided_on <= min(case.decision_due_on, demo.STORY_END)
        assert notice.hearing_deadline is None or decision.decided_on > notice.hearing_deadline, case.number
        assert (notice.hearing_requested_on is None) == (notice.hearing_held_on is None)
        assert decision.notice_id == notice.id
        assert notice_service.notice_problems(case, decision.decided_on) == []


def test_the_cases_for_the_screens(town):
    reviewer = _user("reviewer1")
    rows = db.session.scalars(select(Case).where(Case.body_id == town.id)).all()

    # One awaits review in the reviewers' queue.
    queue = review.queue(reviewer)
    assert len(queue) == 1 and queue[0].case.stage == Stage.REVIEW.value
    assert queue[0].case.complex_reason and review.can_review(reviewer, queue[0].case)

    latest = {c.id: review.latest_request(c) for c in rows}
    # One was returned for correction: back in investigation, with the reasons.
    returned = [c for c in rows if latest[c.id] is not None and latest[c.id].status == ReviewStatus.RETURNED.value]
    assert len(returned) == 1 and returned[0].stage == Stage.INVESTIGATION.value
    request = latest[returned[0].id]
    assert request.opinion and any(not row["ok"] and row["note"] for row in request.check_rows)
    back = [e for e in audit.events_for_case(returned[0].id) if e.action == "case.stage_changed"][-1]
    assert '"stage":"investigation"' in back.after and request.opinion in json.loads(back.after)["reason"]

    # One passed review, then a record was added: the decision is refused until it is reviewed again.
    passed_in_review = [c for c in rows if c.stage == Stage.REVIEW.value and latest[c.id] is not None
                        and latest[c.id].status == ReviewStatus.PASSED.value]
    stale = [c for c in passed_in_review if review.is_stale(latest[c.id])]
    assert len(stale) == 1
    with flask_babel.force_locale("en"):
        problems = decisions.review_problems(stale[0], major_reasons(stale[0]))
    assert any("no longer matches the dossier" in p for p in problems), problems
    assert review.discussions_of(stale[0])  # discussed, and still refused: only the dossier changed

    # One had the 90-day limit extended by the head, with the reason.
    extended = [c for c in rows if decisions.extensions_of(c)]
    assert len(extended) == 1
    extension = decisions.extensions_of(extended[0])[0]
    assert extension.reason and extension.approved_by.username == "head"
    assert extended[0].decision_due_on == extension.new_due > extension.previous_due

    # One had a hearing, asked for within the 5 working days and held, with its record.
    heard = [c for c in rows if latest_notice(c) is not None and latest_notice(c).hearing_held_on is not None]
    assert len(heard) == 1
    notice = latest_notice(heard[0])
    assert notice.hearing_requested_on <= notice.hearing_deadline
    assert notice.hearing_record.type_code == "hearing_record"
    assert decisions.original_decision(heard[0]) is not None


def test_disclosure_stories(town):
    """Decisions published on time but one, one held back by the head, the newest still due, the
    demolition orders announced, and a revoked decision's notice withdrawn with its reason."""
    from enforcement.models import Challenge, Publication
    from enforcement.services import disclosure

    pubs = db.session.scalars(select(Publication).order_by(Publication.id)).all()
    by_status = {}
    for pub in pubs:
        by_status.setdefault((pub.kind, pub.status), []).append(pub)
    decided = db.session.scalar(select(func.count(Decision.id)).where(Decision.kind == "decision"))
    assert len([p for p in pubs if p.kind == "decision"]) == decided
    published = by_status[("decision", "published")]
    assert len(published) >= 10 and sum(disclosure.is_late(p) for p in published) == 1
    assert len(by_status[("decision", "held")]) == 1 and by_status[("decision", "held")][0].hold_detail
    assert len(by_status[("decision", "draft")]) == 1
    withdrawn = by_status[("decision", "withdrawn")]
    assert len(withdrawn) == 1 and "撤销" in withdrawn[0].withdrawal_reason
    notices = by_status[("demolition_notice", "published")]
    assert notices and all(n.self_demolition_by > n.published_on for n in notices)
    assert db.session.scalar(select(func.count(Challenge.id))) == 1
    town_body = db.session.scalar(select(Body).where(Body.name == demo.TOWN_NAME))
    assert [o.state for o in disclosure.obligations([town_body.id], date(2026, 11, 20))] == ["overdue"]
    for pub in pubs:
        assert pub.case.party_name not in pub.masked_text or pub.case.party_kind == "organisation"
        assert disclosure.leak_problems(pub) == []


def test_discretion_bands_and_thresholds(town):
    matters = {m.code: m for m in db.session.scalars(select(Matter).where(Matter.body_id == town.id))}
    planning = matters[demo.MATTERS["planning"]["code"]]
    assert [b.circumstance for b in planning.discretion_bands if b.active] == [
        circumstance for circumstance, *_rest in demo.BANDS["planning"]]
    assert all(m.major_fine_person == demo.MAJOR_PERSON and m.major_fine_org == demo.MAJOR_ORG
               for m in matters.values())
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "matter.band_added")) == \
        sum(len(bands) for bands in demo.BANDS.values())
    burning = matters[demo.MATTERS["burning"]["code"]]
    fined = [d for d in db.session.scalars(select(Decision).join(Case, Case.id == Decision.case_id)
                                           .where(Case.matter_id == burning.id))]
    assert fined
    for decision in fined:  # a fine of a matter with a discretion standard names its band and keeps inside it
        band = db.session.get(DiscretionBand, decision.discretion_band_id)
        assert band.matter_id == burning.id and band.fine_min <= decision.fine_amount <= band.fine_max


def test_people_and_their_certificates(town):
    today = date.today()
    officers = [u for u in cases.officers_of([town.id])]
    assert len(officers) >= 4
    import flask_babel
    with flask_babel.force_locale("en"):
        expired = [u for u in officers if "expired" in (people.certificate_problem(u, max(today, demo.STORY_END)) or "")]
    assert [u.username for u in expired] == ["officer4"]
    assert people.certificate_problem(_user("officer1"), demo.STORY_END) is None
    helper = _user("helper1")
    assert helper.auxiliary and not helper.certificates
    reviewers = [_user("reviewer1"), _user("reviewer2")]
    assert all(r.has_role(Role.REVIEWER) for r in reviewers)
    assert reviewers[0].legal_qualification_no and reviewers[1].legal_adviser_appointment
    assert _user("head").has_role(Role.HEAD)
    assert _user("admin").has_role(Role.ADMIN)


def test_the_county_auditor_sees_the_town_cases(town):
    auditor = _user("auditor")
    assert auditor.body.name == demo.COUNTY_NAME
    assert town.id in permissions.case_scope(auditor)
    assert cases.count_cases(auditor, CaseFilter()) == cases.count_cases(_user("head"), CaseFilter())


def test_the_powers_catalogue_has_both_legal_routes(town):
    matters = {m.route: m for m in db.session.scalars(select(Matter).where(Matter.body_id == town.id))}
    planning, land = matters["planning"], matters["land"]
    assert "第六十五条" in planning.legal_basis and planning.power_source == "own" and planning.in_major_catalogue
    assert "第七十八条" in land.legal_basis and land.power_source == "delegated"
    assert land.delegation_document and land.delegation_published_on == date(2024, 3, 1)


def test_the_trail_records_the_demo_and_verifies(town):
    report = audit.verify_chain()
    assert report.ok, report.problems
    assert report.events > 100


def test_demo_logins_can_log_in(town, app):
    assert len(demo.DEMO_PASSWORD) >= 10 and not people.check_password_strength(demo.DEMO_PASSWORD)
    assert {u for u, _d in demo.DEMO_LOGINS} >= {"officer1", "officer2", "officer3", "officer4", "reviewer1",
                                                  "reviewer2", "head", "auditor", "admin"}
    from tests.conftest import csrf_token

    for username, _description in demo.DEMO_LOGINS:
        limiter.reset()  # ten logins in a row would trip the login rate limit
        # A fresh app context per user: the test's own context (and its `g`) would outlive each request.
        with app.app_context():
            client = app.test_client()
            token = csrf_token(client, "/login")
            response = client.post("/login", data={"username": username, "password": demo.DEMO_PASSWORD,
                                                   "csrf_token": token})
        assert response.status_code == 302, username
        assert "/login" not in response.headers["Location"], username


def test_demo_command_loads_once_and_prints_the_logins(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "demo town loaded" in first.output
    assert demo.DEMO_PASSWORD in first.output and "officer1" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert db.session.scalar(select(func.count()).select_from(Body).where(Body.name == demo.TOWN_NAME)) == 1
