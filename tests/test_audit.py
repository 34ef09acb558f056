"""Specification of the audit trail (services.audit): hash-chained, append-only, checkpointed
outside the database, verified by `flask --app app audit verify`.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL. Tampering is done as an attacker with
database access would: by SQL, after dropping the append-only triggers.
"""
from __future__ import annotations

import itertools
import json
import threading
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from enforcement.extensions import db
from enforcement.models import AuditEvent, AuditHead
from enforcement.models.audit import GENESIS_HASH
from enforcement.services import audit, cases, people, workflow
from enforcement.services.audit import CHECKPOINT_PREFIX
from enforcement.services.errors import DomainError

# --- helpers ----------------------------------------------------------------------------------------

def dialect() -> str:
    return db.engine.dialect.name


def drop_guard(operation: str) -> None:
    """Remove the trigger that refuses `operation` ('update' or 'delete') on audit_events."""
    if dialect() == "postgresql":
        db.session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events"))
    else:
        db.session.execute(text(f"DROP TRIGGER audit_events_no_{operation}"))
    db.session.commit()


def head() -> AuditHead:
    return db.session.get(AuditHead, 1, populate_existing=True)


def event_count() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def populate(make) -> dict:
    """Master data, cases, approvals and moves: a few dozen events of many kinds."""
    team = make.team()
    for _ in range(3):
        case = make.case(team, approve=True, filed_on=date(2026, 3, 10))
        make.required_records(case)
        workflow.advance(case, "notice", actor=team["officer"], today=date(2026, 4, 1))
        db.session.commit()
    make.case(team, filed_on=date(2026, 3, 12))
    people.deactivate_user(team["reviewer"], actor=team["admin"], reason="调离")
    db.session.commit()
    return team


@pytest.fixture
def store(app):
    return app.extensions["object_store"]


# --- the chain -----------------------------------------------------------------------------------------

def test_chain_verifies_after_many_changes(make, store):
    populate(make)
    audit.write_checkpoint(store, force=True)
    db.session.commit()
    report = audit.verify_chain(store)
    assert report.ok, report.problems
    assert report.events == event_count() == head().seq > 25
    assert report.head_hash == head().last_hash
    assert report.first_broken_id is None
    assert report.checkpoint["seq"] == report.head_seq


def test_events_are_numbered_without_gaps_and_each_links_to_the_previous(make):
    populate(make)
    rows = db.session.execute(select(AuditEvent.id, AuditEvent.prev_hash, AuditEvent.hash)
                              .order_by(AuditEvent.id)).all()
    assert [r.id for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash
    assert len({r.hash for r in rows}) == len(rows)


def test_an_event_names_who_when_what_and_the_object_as_it_was(make):
    team = make.team()
    case = make.case(team, filed_on=date(2026, 3, 10))
    cases.approve_filing(case, actor=team["head"], today=date(2026, 3, 11))
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.filing_approved"))
    assert event.actor_id == team["head"].id and event.actor_name == team["head"].name
    assert event.at is not None and event.object_type == "case" and event.object_id == str(case.id)
    assert case.number in event.object_label and event.case_id == case.id and event.body_id == team["body"].id
    assert json.loads(event.after) == {"filing_approved_by": team["head"].name}


def test_an_empty_chain_verifies(app, store):
    report = audit.verify_chain(store)
    assert report.ok and report.events == 0


def test_a_refused_change_leaves_no_event(make):
    team = make.team()
    seq = head().seq
    with pytest.raises(DomainError):
        people.deactivate_user(team["admin"], actor=team["admin"], reason="自己")
    db.session.rollback()
    assert head().seq == seq == event_count()


def test_events_roll_back_with_the_change(make):
    team = make.team()
    seq = head().seq
    people.deactivate_user(team["officer"], actor=team["admin"], reason="调离")
    db.session.rollback()
    assert head().seq == seq == event_count()
    assert audit.verify_chain().ok


# --- append-only in the database ------------------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET object_label = 'changed' WHERE id = 1",
    "UPDATE audit_events SET hash = prev_hash",
    "DELETE FROM audit_events WHERE id = 1",
    "DELETE FROM audit_events",
])
def test_the_database_refuses_update_and_delete_of_events(make, statement):
    make.team()
    before = db.session.execute(text("SELECT id, object_label, hash FROM audit_events ORDER BY id")).all()
    with pytest.raises(DBAPIError) as exc:
        db.session.execute(text(statement))
        db.session.flush()
    assert "append-only" in str(exc.value)
    db.session.rollback()
    assert db.session.execute(text("SELECT id, object_label, hash FROM audit_events ORDER BY id")).all() == before


def test_the_database_refuses_emptying_the_events_table(make):
    # PostgreSQL: TRUNCATE bypasses row triggers, so a statement trigger refuses it. SQLite has no
    # TRUNCATE; its truncate optimisation of an unqualified DELETE is disabled by the trigger.
    make.team()
    statement = "TRUNCATE audit_events CASCADE" if dialect() == "postgresql" else "DELETE FROM audit_events"
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()
    assert event_count() == head().seq > 0


def test_the_orm_cannot_change_or_delete_an_event_either(make):
    make.team()
    event = db.session.get(AuditEvent, 1)
    event.object_label = "edited through the ORM"
    with pytest.raises(DBAPIError):
        db.session.flush()
    db.session.rollback()
    event = db.session.get(AuditEvent, 1)
    db.session.delete(event)
    with pytest.raises(DBAPIError):
        db.session.flush()
    db.session.rollback()
    assert audit.verify_chain().ok


def test_two_events_can_never_share_a_predecessor(make):
    """The unique prev_hash is the second line of defence against a forked chain."""
    make.team()
    first = db.session.get(AuditEvent, 1)
    fork = AuditEvent(id=head().seq + 1, at=first.at, actor_name="x", action="fork", object_type="x",
                      prev_hash=first.prev_hash, hash="f" * 64)
    db.session.add(fork)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- tampering is detected -------------------------------------------------------------------------------

@pytest.mark.parametrize("column, value", [
    ("object_label", "'张三（已撤销）'"),
    ("after", "'{\"stage\":\"closed\"}'"),
    ("actor_name", "'某领导'"),
    ("action", "'case.nothing'"),
    ("case_id", "NULL"),
])
def test_a_row_changed_by_sql_is_detected_and_named(make, store, column, value):
    populate(make)
    target = head().seq // 2
    drop_guard("update")
    db.session.execute(text(f"UPDATE audit_events SET {column} = {value} WHERE id = :id"), {"id": target})
    db.session.commit()
    report = audit.verify_chain(store)
    assert not report.ok
    assert report.first_broken_id == target
    assert any(str(target) in p for p in report.problems)


def test_a_changed_row_with_a_recomputed_hash_breaks_the_next_link(make, store):
    populate(make)
    target = head().seq // 2
    drop_guard("update")
    row = db.session.get(AuditEvent, target)
    forged = audit.event_hash(row.id, row.at, row.actor_id, row.actor_name, row.action, row.object_type,
                              row.object_id, row.object_label + "（改）", row.body_id, row.case_id, row.before,
                              row.after, row.prev_hash)
    db.session.execute(text("UPDATE audit_events SET object_label = object_label || '（改）', hash = :h WHERE id = :id"),
                       {"h": forged, "id": target})
    db.session.commit()
    report = audit.verify_chain(store)
    assert not report.ok
    assert report.first_broken_id == target + 1
    assert any(f"event {target + 1} does not link to event {target}" in p for p in report.problems)


def test_a_rewritten_tail_with_a_matching_head_is_caught_by_the_checkpoint(make, store):
    """An attacker re-hashes every event from the one they change and fixes audit_head:
    the database alone cannot tell, the checkpoint outside it can."""
    populate(make)
    audit.write_checkpoint(store, force=True)
    db.session.commit()
    checkpoint_seq = head().seq
    target = checkpoint_seq - 5
    drop_guard("update")
    prev = db.session.get(AuditEvent, target).prev_hash
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id >= target).order_by(AuditEvent.id)).all()
    values = [(r.id, r.at, r.actor_id, r.actor_name, r.action, r.object_type, r.object_id,
               r.object_label + ("（改）" if r.id == target else ""), r.body_id, r.case_id, r.before, r.after)
              for r in rows]
    db.session.expunge_all()
    # Rewrite the hashes from the newest down, so the unique prev_hash never collides midway.
    new_hashes = []
    for v in values:
        digest = audit.event_hash(*v, prev)
        new_hashes.append((v[0], v[7], prev, digest))
        prev = digest
    db.session.execute(text("UPDATE audit_events SET prev_hash = 'x' || CAST(id AS VARCHAR(20)) WHERE id >= :id"),
                       {"id": target})
    for seq, label, prev_hash, digest in new_hashes:
        db.session.execute(text("UPDATE audit_events SET object_label = :l, prev_hash = :p, hash = :h WHERE id = :id"),
                           {"l": label, "p": prev_hash, "h": digest, "id": seq})
    db.session.execute(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev})
    db.session.commit()

    report = audit.verify_chain(store)
    assert not report.ok
    assert report.first_broken_id == checkpoint_seq
    assert any("checkpoint" in p for p in report.problems)


def test_deleting_the_newest_events_is_detected_through_the_checkpoint(make, store):
    populate(make)
    audit.write_checkpoint(store, force=True)
    db.session.commit()
    last = head().seq
    drop_guard("delete")
    db.session.execute(text("DELETE FROM audit_events WHERE id > :keep"), {"keep": last - 2})
    new_last = db.session.get(AuditEvent, last - 2)
    # The attacker also fixes the head row so the database looks consistent.
    db.session.execute(text("UPDATE audit_head SET seq = :s, last_hash = :h WHERE id = 1"),
                       {"s": new_last.id, "h": new_last.hash})
    db.session.commit()

    report = audit.verify_chain(store)
    assert not report.ok
    assert report.first_broken_id == last - 1
    assert any("deleted" in p and str(last) in p for p in report.problems)


def test_deleting_the_newest_events_without_fixing_the_head_is_detected_in_the_database(make):
    populate(make)
    last = head().seq
    drop_guard("delete")
    db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": last})
    db.session.commit()
    report = audit.verify_chain()
    assert not report.ok and report.first_broken_id == last


def test_a_gap_in_the_middle_is_detected_and_named(make, store):
    populate(make)
    target = head().seq // 2
    drop_guard("delete")
    db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": target})
    db.session.commit()
    report = audit.verify_chain(store)
    assert not report.ok
    assert report.first_broken_id == target
    assert any(f"event {target} is missing" in p for p in report.problems)


def test_a_changed_head_hash_is_detected(make):
    populate(make)
    db.session.execute(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": "e" * 64})
    db.session.commit()
    report = audit.verify_chain()
    assert not report.ok and report.first_broken_id == head().seq
    assert any("head hash" in p for p in report.problems)


def test_an_event_appended_behind_the_heads_back_is_detected(make):
    """A forged event with a correct hash and link, but written without moving the head row."""
    populate(make)
    last = db.session.get(AuditEvent, head().seq)
    seq, at = last.id + 1, last.at
    digest = audit.event_hash(seq, at, None, "system", "case.forged", "case", "1", "伪造", None, None, None,
                              None, last.hash)
    db.session.execute(text("INSERT INTO audit_events (id, at, actor_name, action, object_type, object_id, "
                            "object_label, prev_hash, hash) VALUES (:id, :at, 'system', 'case.forged', 'case', "
                            "'1', '伪造', :prev, :hash)"),
                       {"id": seq, "at": at, "prev": last.hash, "hash": digest})
    db.session.commit()
    report = audit.verify_chain()
    assert not report.ok and report.first_broken_id == seq
    assert any("beyond the chain head" in p for p in report.problems)


class UnreachableStore:
    """An object store that is down: every call fails as the real backends fail."""

    def list_keys(self, prefix=""):
        from storage import StorageError
        raise StorageError("connection refused")

    def put(self, key, stream, **kwargs):
        from storage import StorageError
        raise StorageError("connection refused")


def test_verify_says_so_when_the_checkpoint_cannot_be_read(make):
    populate(make)
    report = audit.verify_chain(UnreachableStore())
    assert not report.ok
    assert any("could not read the checkpoint" in p for p in report.problems)


def test_a_failed_checkpoint_write_is_not_fatal_and_is_retried_later(make, store):
    populate(make)
    assert audit.write_checkpoint(UnreachableStore(), force=True) is None
    db.session.commit()
    assert head().checkpoint_seq == 0
    assert audit.write_checkpoint(store)["seq"] == head().seq


def test_a_request_commits_its_change_even_when_the_store_is_down(app, make):
    from enforcement.web import commit

    team = make.team()
    app.extensions["object_store"] = UnreachableStore()
    with app.test_request_context("/"):
        people.deactivate_user(team["officer"], actor=team["admin"], reason="调离")
        commit()
    db.session.rollback()
    assert db.session.execute(text("SELECT active FROM users WHERE id = :id"),
                              {"id": team["officer"].id}).scalar() in (False, 0)
    assert audit.verify_chain().ok


# --- checkpoints ------------------------------------------------------------------------------------------

def test_a_checkpoint_records_the_head_in_the_object_store(make, store):
    populate(make)
    written = audit.write_checkpoint(store, force=True)
    db.session.commit()
    assert written["seq"] == head().seq and written["hash"] == head().last_hash
    assert head().checkpoint_seq == written["seq"]
    keys = list(store.list_keys(CHECKPOINT_PREFIX))
    assert keys and all(k.startswith(CHECKPOINT_PREFIX) for k in keys)
    assert audit.latest_checkpoint(store)["seq"] == written["seq"]


def test_no_new_checkpoint_without_new_events(make, store):
    make.team()
    assert audit.write_checkpoint(store) is not None
    db.session.commit()
    assert audit.write_checkpoint(store) is None


def test_the_latest_checkpoint_is_the_highest_sequence(make, store):
    team = make.team()
    audit.write_checkpoint(store, force=True)
    db.session.commit()
    make.case(team)
    audit.write_checkpoint(store, force=True)
    db.session.commit()
    assert audit.latest_checkpoint(store)["seq"] == head().seq
    assert len(list(store.list_keys(CHECKPOINT_PREFIX))) == 2


def test_every_request_commit_checkpoints_the_head(app, make, store):
    from enforcement.web import commit

    team = make.team()
    with app.test_request_context("/"):
        people.deactivate_user(team["officer"], actor=team["admin"], reason="调离")
        commit()
    assert audit.latest_checkpoint(store)["seq"] == head().seq


# --- the command ----------------------------------------------------------------------------------------

def test_audit_verify_command_exits_0_when_intact(make, runner, store):
    populate(make)
    audit.write_checkpoint(store, force=True)
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and str(head().seq) in result.output


def test_audit_verify_command_exits_1_and_names_the_broken_event(make, runner):
    populate(make)
    target = head().seq // 2
    drop_guard("update")
    db.session.execute(text("UPDATE audit_events SET object_label = 'x' WHERE id = :id"), {"id": target})
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"first broken event {target}" in result.output


def test_audit_verify_command_detects_deleted_newest_events(make, runner, store):
    populate(make)
    runner.invoke(args=["audit", "checkpoint"])
    last = head().seq
    drop_guard("delete")
    db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": last})
    db.session.execute(text("UPDATE audit_head SET seq = seq - 1, last_hash = "
                            "(SELECT hash FROM audit_events WHERE id = :prev) WHERE id = 1"), {"prev": last - 1})
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"first broken event {last}" in result.output


# --- concurrency: appends are serialised, the chain never forks --------------------------------------------

def _append_concurrently(app, threads: int, per_thread: int, *, checkpoint: bool = False) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                for i in range(per_thread):
                    audit.record("test.concurrent", "test", f"{n}-{i}", f"writer {n} event {i}")
                    db.session.commit()
                    if checkpoint:
                        audit.write_checkpoint(app.extensions["object_store"])
                        db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert not any(w.is_alive() for w in workers), "a writer hung"
    return errors


def test_twenty_concurrent_writers_never_fork_the_chain(app, make, store):
    """20 threads × 20 appends, each committed on its own: 400 events, one unbroken chain.
    (A naive 'read the last hash, insert' forked 229 of 400 rows on PostgreSQL 15.)"""
    make.team()
    db.session.commit()
    start = head().seq
    errors = _append_concurrently(app, 20, 20, checkpoint=True)
    assert errors == []
    db.session.expire_all()
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "test.concurrent")) == 400
    assert head().seq == start + 400 == event_count()
    report = audit.verify_chain(store)
    assert report.ok, report.problems


@pytest.mark.sqlite_only
def test_two_concurrent_appenders_on_sqlite_never_fork(app, make):
    make.team()
    start = head().seq
    errors = _append_concurrently(app, 2, 100)
    assert errors == []
    db.session.expire_all()
    assert head().seq == start + 200 == event_count()
    assert audit.verify_chain().ok


def test_verify_while_others_append_reports_no_false_alarm(app, make, store):
    """`audit verify` runs on a live system: events and checkpoints written during the scan
    must not be reported as broken."""
    team = make.team()
    for i in range(300):
        audit.record("test.bulk", "test", i, f"bulk {i}", actor=team["admin"])
    db.session.commit()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with app.app_context():
                i = 0
                while not stop.is_set():
                    audit.record("test.live", "test", i, f"live {i}")
                    db.session.commit()
                    audit.write_checkpoint(store)
                    db.session.commit()
                    i += 1
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        reports = []
        for _ in range(15):
            db.session.rollback()  # a fresh transaction per run, as the command has
            reports.append(audit.verify_chain(store, batch=50))
    finally:
        stop.set()
        thread.join(timeout=60)
    assert errors == []
    assert [r.problems for r in reports if not r.ok] == []
    db.session.rollback()
    assert audit.verify_chain(store).ok


def test_concurrent_filings_get_distinct_sequential_case_numbers(app, make):
    team = make.team(make.body(short_name="并发"))
    matter = make.matter(team["body"])
    body_id, matter_id = team["body"].id, matter.id
    officer_ids = [team["officer"].id, team["officer2"].id]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def file_one() -> None:
        from enforcement.models import Body, Matter, User
        from enforcement.services.cases import PartyData
        try:
            with app.app_context():
                actor = db.session.get(User, officer_ids[0])
                body, mat = db.session.get(Body, body_id), db.session.get(Matter, matter_id)
                barrier.wait(timeout=30)
                cases.file_case(actor=actor, body=body, matter=mat, route=mat.route, source="complaint",
                                source_detail="", party=PartyData(kind="person", name="并发"), village="东村",
                                place_detail="", summary="并发立案", act_began_on=date(2026, 1, 1),
                                act_ended_on=None, discovered_on=date(2026, 3, 1), filed_on=date(2026, 3, 2),
                                officer_ids=officer_ids)
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=file_one) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    from enforcement.models import Case
    numbers = sorted(db.session.scalars(select(Case.seq).where(Case.body_id == body_id)))
    assert numbers == list(range(1, 9))
    assert audit.verify_chain().ok
