"""No race wins (issue 4, item 6): on SQLite and on PostgreSQL, with two connections at once.

(a) Two qualified, uninvolved reviewers sign the same pending request at the same instant: exactly
    one outcome is kept — one review.decided event, one 法制审核意见书 — and the other reviewer gets
    Conflict. The services decide it with a conditional UPDATE (status still pending).
(b) A record upload finishes while the head makes the decision final. Both take the case's row lock
    (`records.lock_case`), so one of them sees the other's commit: either the record landed first and
    the decision is refused (the review no longer matches the dossier), or the decision came first
    and the record, of a stage before the decision, is refused (evidence closed). Never a decision
    over a dossier other than the one its review passed.

Each thread has its own app context, hence its own session and connection (as tests/test_audit.py
does). A Barrier releases the threads together; hooks (monkeypatched service functions that wait
on an Event) force each order for certain, and measure that the second party really waited for
the first one's lock.
"""
from __future__ import annotations

import hashlib
import io
import threading
import time
from datetime import date

import flask_babel
import pytest
from sqlalchemy import func, select

from enforcement import sample_files
from enforcement.extensions import db
from enforcement.models import (AuditEvent, Case, Decision, Record, ReviewRequest, ReviewStatus, Role, Stage, Upload,
                                User)
from enforcement.services import decisions, documents, dossier, records, review, workflow
from enforcement.services.errors import Conflict, DomainError, GateRefused
from tests.factories import PASSWORD, add_record

# Fixed dates in 2026 (the last year the working-day calendar knows), whatever today is.
FILED = date(2026, 6, 1)
DAY = date(2026, 6, 15)
ROUNDS = 5
STAGGER = 0.03  # seconds: how much later the head signs in each further round of the same-instant race
HOLD = 0.6  # seconds a hooked thread keeps its lock while the other one tries to take it


def digest_up_to(case: Case, last_record_id: int | None) -> str:
    """The dossier digest over the case facts and the records with id <= last_record_id.

    This is the dossier a decision rested on (records after its `last_record_id` are post-decision),
    computed the way services.dossier computes the digest of the dossier now.
    """
    manifest = dossier.manifest(case)
    rows = [r for r in records.case_records(case) if r.id <= (last_record_id or 0)]
    replaced = records.superseded_ids(rows)
    current = sorted((r for r in rows if r.id not in replaced and r.type_code not in dossier.PROCESS_TYPES),
                     key=lambda r: r.id)
    manifest["records"] = [{name: getattr(r, name) for name in dossier.RECORD_FIELDS} for r in current]
    return hashlib.sha256(dossier.canonical(manifest)).hexdigest()


# --- setting the scene ---------------------------------------------------------------------------

def _case_in_review(make, team) -> Case:
    """A major case (demolition route) with its notice, submitted for review: one pending request."""
    case = make.case(team, approve=True, filed_on=FILED, matter=make.matter(team["body"], in_major_catalogue=True))
    make.required_records(case, actor=team["officer"])
    workflow.advance(case, Stage.NOTICE, actor=team["officer"], today=DAY)
    db.session.commit()
    make.notice(case, actor=team["officer"], served_on=DAY, today=DAY)
    make.required_records(case, actor=team["officer"])
    make.submit_review(case, actor=team["officer"], today=DAY)
    assert case.stage == Stage.REVIEW.value
    return case


def _ready_for_decision(make, team) -> Case:
    """A case whose review passed and whose collective discussion is recorded: the head may sign."""
    case = _case_in_review(make, team)
    make.sign_review(review.latest_request(case), team["reviewer"], today=DAY)
    make.discussion(case, team["head"], today=DAY)
    with flask_babel.force_locale("en"):
        assert decisions.decision_problems(case, decisions.proposal_for(case), performance="十五日内", today=DAY) == []
    return case


def _prepared_upload(case: Case, officer: User) -> tuple[str, bytes]:
    """An upload begun (and committed) in the review stage; its bytes are sent during the race."""
    content = sample_files.pdf("supplementary survey", case.number)
    upload = records.begin_upload(case, officer, filename="补充测量记录.pdf", size=len(content),
                                  type_code="survey_record", description="补充测量记录")
    db.session.commit()
    assert upload.fields and '"stage": "review"' in upload.fields
    return upload.id, content


# --- running threads --------------------------------------------------------------------------------

class Outcome:
    def __init__(self):
        self.value = None      # what the work returned
        self.error = None      # the domain error it raised (an expected refusal)
        self.crash = None      # anything else: fails the test
        self.message = ""


def _run(app, works: dict[str, callable], *, barrier: bool = True) -> dict[str, Outcome]:
    """Run each work in its own thread (named by its key) with its own app context and session.

    The works are released together by a Barrier. A work returns a value or raises; a DomainError
    is kept as the expected refusal, its transaction rolled back.
    """
    gate = threading.Barrier(len(works))
    outcomes = {name: Outcome() for name in works}

    def run(name: str) -> None:
        outcome = outcomes[name]
        try:
            with app.app_context(), flask_babel.force_locale("en"):
                try:
                    if barrier:
                        gate.wait(timeout=30)
                    outcome.value = works[name]()
                    db.session.commit()
                except DomainError as exc:
                    db.session.rollback()
                    outcome.error, outcome.message = exc, str(getattr(exc, "message", exc))
                finally:
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcome.crash = exc

    threads = [threading.Thread(target=run, args=(name,), name=name) for name in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    crashes = {name: o.crash for name, o in outcomes.items() if o.crash is not None}
    assert not crashes, crashes
    return outcomes


# --- (a) two reviewers, one request -------------------------------------------------------------------

def _sign(request_id: int, reviewer_id: int, outcome: str):
    def work():
        request = db.session.get(ReviewRequest, request_id)
        reviewer = db.session.get(User, reviewer_id)
        checks = {code: (True, "") for code in review.CHECK_CODES}
        if outcome != ReviewStatus.PASSED.value:
            checks["evidence_sufficient"] = (False, "缺少测量记录")
        review.review(request, actor=reviewer, password=PASSWORD, no_conflict=True, checks=checks,
                      opinion=f"{outcome} by {reviewer.username}", outcome=outcome, today=DAY)
        return outcome
    return work


@pytest.mark.parametrize("hooked", [True, False], ids=["held-at-the-update", "released-together"])
def test_two_reviewers_signing_the_same_request_at_once_give_exactly_one_outcome(app, make, monkeypatch, hooked):
    """Both reviewers may review; each signs a different outcome at the same instant, ROUNDS times.

    hooked: each thread is held just before the conditional UPDATE (at `review.utcnow`, which
    `review.review` calls right before it) until both got there: both passed every check, and the
    request each holds in memory still says "pending", so only the database decides. Otherwise the
    threads are only released together by the Barrier (the one returning has less to check than the
    one passing, which computes the dossier digest first, so it usually gets there first).
    """
    if hooked:
        held = threading.Barrier(2)
        waited: set[str] = set()
        now = review.utcnow

        def now_when_both_are_here():
            name = threading.current_thread().name
            if name in ("first", "second") and name not in waited:
                waited.add(name)
                held.wait(timeout=30)
            return now()
        monkeypatch.setattr(review, "utcnow", now_when_both_are_here)

    team = make.team()
    other = make.user(Role.REVIEWER, body=team["body"])
    for round_ in range(ROUNDS):
        case = _case_in_review(make, team)
        request = review.latest_request(case)
        for reviewer in (team["reviewer"], other):
            assert review.reviewer_problems(reviewer, case) == []
        # Alternate who passes and who returns, so that either outcome may win.
        outcomes = ("passed", "returned") if round_ % 2 == 0 else ("returned", "passed")
        if hooked:
            waited.clear()
        result = _run(app, {"first": _sign(request.id, team["reviewer"].id, outcomes[0]),
                            "second": _sign(request.id, other.id, outcomes[1])})

        won = [name for name, o in result.items() if o.error is None]
        lost = [name for name, o in result.items() if o.error is not None]
        assert len(won) == 1 and len(lost) == 1, {n: o.message for n, o in result.items()}
        assert isinstance(result[lost[0]].error, Conflict), result[lost[0]].message
        winner = result[won[0]].value
        winner_id = team["reviewer"].id if won[0] == "first" else other.id

        db.session.expire_all()
        request = db.session.get(ReviewRequest, request.id)
        assert (request.status, request.reviewer_id) == (winner, winner_id)
        assert request.opinion.startswith(winner)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review.decided",
                                                             AuditEvent.object_id == str(request.id))).all()
        assert len(events) == 1 and events[0].actor_id == winner_id
        opinions = db.session.scalars(select(Record).where(Record.case_id == case.id,
                                                           Record.type_code == "legal_review_opinion")).all()
        assert [r.id for r in opinions] == [request.opinion_record_id]
        case = db.session.get(Case, case.id)
        assert case.stage == (Stage.REVIEW.value if winner == "passed" else Stage.INVESTIGATION.value)
        print(f"round {round_}: {won[0]} won ({winner}), {lost[0]}: {result[lost[0]].message}")


# --- (b) a record lands while the head signs ---------------------------------------------------------

def _finalise(case_id: int, head_id: int):
    def work():
        case = db.session.get(Case, case_id)
        decision = decisions.finalise(case, actor=db.session.get(User, head_id), password=PASSWORD,
                                      proposal=decisions.proposal_for(case), performance="自收到本决定书之日起十五日内履行",
                                      today=DAY)
        return decision.id
    return work


def _receive(upload_id: str, officer_id: int, content: bytes):
    def work():
        upload = db.session.get(Upload, upload_id)
        received = records.receive(upload, db.session.get(User, officer_id), io.BytesIO(content), offset=0,
                                   before_transfer=db.session.commit)  # as the upload view does
        return received.record.id
    return work


def _assert_one_lawful_order(case_id: int, result: dict[str, Outcome]) -> str:
    """Exactly one of the two succeeded, for the right reason; the decision, if any, rests on the
    dossier its review passed. Returns which came first: "record" or "decision"."""
    decide, upload = result["A"], result["B"]
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    decision = decisions.original_decision(case)
    request = review.latest_request(case)
    assert request.status == ReviewStatus.PASSED.value
    if decide.error is None:
        # The decision came first: the record of the review stage is refused, evidence is closed.
        assert upload.error is not None, "a review-stage record was added after the decision"
        assert "Evidence closed with the decision" in upload.message, upload.message
        assert decision is not None and decision.id == decide.value
        assert case.stage == Stage.DECISION.value
        assert decision.digest == request.digest
        assert digest_up_to(case, decision.last_record_id) == decision.digest
        assert dossier.digest(case) == decision.digest  # nothing was added to the dossier after it
        later = db.session.scalars(select(Record).where(Record.case_id == case.id,
                                                        Record.id > (decision.last_record_id or 0))).all()
        assert [r.id for r in later] == [decision.document_record_id]
        assert not db.session.scalar(select(func.count(Record.id)).where(Record.case_id == case.id,
                                                                         Record.type_code == "survey_record"))
        return "decision"
    # The record came first: the decision is refused because the review no longer matches.
    assert upload.error is None, (decide.message, upload.message)
    assert isinstance(decide.error, GateRefused)
    assert "no longer matches the dossier" in decide.message, decide.message
    assert decision is None and case.stage == Stage.REVIEW.value
    assert db.session.scalar(select(func.count(Decision.id)).where(Decision.case_id == case.id)) == 0
    record = db.session.get(Record, upload.value)
    assert record.type_code == "survey_record" and record.stage == Stage.REVIEW.value
    assert dossier.digest(case) != request.digest
    return "record"


def _scene(make, team):
    case = _ready_for_decision(make, team)
    upload_id, content = _prepared_upload(case, team["officer"])
    return case, {"A": _finalise(case.id, team["head"].id), "B": _receive(upload_id, team["officer"].id, content)}


def test_record_and_decision_at_the_same_instant_never_decide_over_a_changed_dossier(app, make):
    """Released together by a Barrier, ROUNDS times: whichever wins, one lawful order."""
    team = make.team()
    seen = []
    for round_ in range(ROUNDS):
        case, works = _scene(make, team)
        finalise = works["A"]

        def late_by(delay=STAGGER * round_, finalise=finalise):
            # The upload has more to do before it takes the lock than the head's signature has: the head
            # starts a little later each round, so that the rounds cross from one order to the other.
            time.sleep(delay)
            return finalise()
        works["A"] = late_by
        seen.append(_assert_one_lawful_order(case.id, _run(app, works)))
    assert set(seen) <= {"record", "decision"}
    print("first in each round:", seen)  # shown with -s: which order the database let win


def _timed_lock(monkeypatch) -> dict[str, float]:
    """Measure how long each named thread waits for the case lock (records.lock_case)."""
    waited: dict[str, float] = {}
    lock = records.lock_case

    def timed(case):
        started = time.monotonic()
        lock(case)
        name = threading.current_thread().name
        waited[name] = max(waited.get(name, 0.0), time.monotonic() - started)
    monkeypatch.setattr(records, "lock_case", timed)
    return waited


def test_a_record_that_lands_first_blocks_the_decision(app, make, monkeypatch):
    """B stores its record under the case lock and holds the lock a moment before committing; A,
    started meanwhile, must wait for B's commit, then sees the changed dossier and refuses."""
    waited = _timed_lock(monkeypatch)
    stored = threading.Event()
    make_record = records._make_record

    def make_then_hold(*args, **kwargs):
        record = make_record(*args, **kwargs)
        if threading.current_thread().name == "B":
            stored.set()
            time.sleep(HOLD)  # B holds the lock (row lock / SQLite write lock) until it commits after this
        return record
    monkeypatch.setattr(records, "_make_record", make_then_hold)

    team = make.team()
    for _ in range(2):
        case, works = _scene(make, team)
        finalise = works["A"]

        def after_b(finalise=finalise):
            assert stored.wait(timeout=30)
            return finalise()
        works["A"] = after_b
        stored.clear()
        result = _run(app, works, barrier=False)
        assert _assert_one_lawful_order(case.id, result) == "record"
        assert waited["A"] >= HOLD / 3, waited  # A really waited for B's lock
        print("waited for the case lock (s):", {k: round(v, 2) for k, v in waited.items()})


def test_a_decision_made_first_closes_the_evidence_for_the_record(app, make, monkeypatch):
    """A holds the case lock while its 决定书 is produced (gate passed, digest taken); B finishes its
    upload meanwhile, must wait for A's commit, then finds the evidence closed."""
    waited = _timed_lock(monkeypatch)
    locked = threading.Event()
    render = documents.decision_pdf

    def render_slowly(doc):
        data = render(doc)
        if threading.current_thread().name == "A":
            locked.set()
            time.sleep(HOLD)
        return data
    monkeypatch.setattr(documents, "decision_pdf", render_slowly)

    team = make.team()
    for _ in range(2):
        case, works = _scene(make, team)
        receive = works["B"]

        took: list[float] = []

        def after_a(receive=receive, took=took):
            assert locked.wait(timeout=30)
            started = time.monotonic()
            try:
                return receive()
            finally:
                took.append(time.monotonic() - started)
        works["B"] = after_a
        locked.clear()
        result = _run(app, works, barrier=False)
        assert _assert_one_lawful_order(case.id, result) == "decision"
        # B waited for A's commit: at the case lock on PostgreSQL; on SQLite already at its first write
        # (the upload's bookkeeping), since SQLite has one writer at a time.
        assert took[0] >= HOLD / 3, took
        print(f"upload waited {took[0]:.2f} s, of which for the case lock {waited.get('B', 0):.2f} s")

    # A record of the decision stage or later is still taken after the decision, marked post-decision
    # (证据规定 art. 60): the decision keeps resting on the dossier its review passed.
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    decision = decisions.original_decision(case)
    later = add_record(case, "other", actor=team["officer"], description="决定后补充的材料")
    assert later.stage == Stage.DECISION.value and decisions.is_post_decision(later)
    assert digest_up_to(case, decision.last_record_id) == decision.digest == review.latest_request(case).digest
    assert dossier.digest(case) != decision.digest
