"""Challenges to a decision: administrative reconsideration (行政复议) and suit (行政诉讼).

A challenge is recorded from the day the body received the copy of the application or complaint;
from then the body has 10 days (reconsideration, 行政复议法 art. 48) or 15 days (suit, 行政诉讼法
art. 67) to hand in its defence and all its evidence. An outcome that revokes or changes the
decision, or finds it unlawful or invalid, starts the withdrawal of its publication (行政处罚法
art. 48).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import (WITHDRAWING_OUTCOMES, Case, Challenge, ChallengeKind, ChallengeOutcome, Publication, Stage,
                      User)
from . import audit, disclosure
from .calendar import add_calendar_days
from .clock import local_today
from .errors import Conflict, DomainError, GateRefused, PermissionDenied

DEFENCE_DAYS = {ChallengeKind.RECONSIDERATION.value: 10, ChallengeKind.SUIT.value: 15}
KIND_LABELS = {ChallengeKind.RECONSIDERATION.value: _l("Administrative reconsideration"),
               ChallengeKind.SUIT.value: _l("Administrative suit")}
OUTCOME_LABELS = {
    ChallengeOutcome.UPHELD.value: _l("Decision upheld / claim dismissed"),
    ChallengeOutcome.REVOKED.value: _l("Decision revoked"),
    ChallengeOutcome.CHANGED.value: _l("Decision changed"),
    ChallengeOutcome.UNLAWFUL.value: _l("Decision found unlawful or invalid"),
    ChallengeOutcome.WITHDRAWN.value: _l("Withdrawn by the applicant"),
    ChallengeOutcome.OTHER.value: _l("Other outcome"),
}


def _require_actor(actor: User, case: Case) -> None:
    if not disclosure.can_manage(actor, case):
        raise PermissionDenied(_("Only the officers on the case or the head of %(body)s record a challenge.",
                                 body=case.body.name))
    if case.stage == Stage.ARCHIVED.value:
        raise DomainError(_("The case is archived: its file is read-only."))


def challenges_of(case: Case) -> list[Challenge]:
    return list(db.session.scalars(select(Challenge).where(Challenge.case_id == case.id).order_by(Challenge.id)))


def record_challenge(case: Case, *, actor: User, kind: str, forum: str, received_on: date | None,
                     reference: str = "", today: date | None = None) -> Challenge:
    """Record a reconsideration or suit from the day its copy was received; the defence deadline follows."""
    from .decisions import current_decision

    today = today or local_today()
    _require_actor(actor, case)
    problems = []
    decision = current_decision(case)
    if decision is None:
        problems.append(_("There is no decision in force to challenge."))
    if kind not in DEFENCE_DAYS:
        problems.append(_("Say whether it is a reconsideration or a suit."))
    if not (forum or "").strip():
        problems.append(_("Name the reconsideration body or the court."))
    if received_on is None:
        problems.append(_("Give the day the copy was received."))
    elif received_on > today:
        problems.append(_("The copy cannot be received in the future."))
    if problems:
        raise GateRefused(problems)
    row = Challenge(case_id=case.id, decision_id=decision.id, kind=kind, forum=forum.strip(),
                    reference=(reference or "").strip(), received_on=received_on,
                    defence_due_on=add_calendar_days(received_on, DEFENCE_DAYS[kind]), recorded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record("challenge.recorded", "challenge", row.id, case.number, actor=actor,
                 after={"kind": kind, "forum": row.forum, "received_on": received_on,
                        "defence_due_on": row.defence_due_on}, body_id=case.body_id, case_id=case.id)
    return row


def record_outcome(challenge: Challenge, *, actor: User, outcome: str, outcome_on: date | None, note: str = "",
                   today: date | None = None) -> Challenge:
    """The outcome; one that revokes, changes or finds the decision unlawful starts the withdrawal."""
    today = today or local_today()
    case = challenge.case
    _require_actor(actor, case)
    problems = []
    if challenge.outcome is not None:
        raise DomainError(_("The outcome of this challenge is recorded already."))
    if outcome not in OUTCOME_LABELS:
        problems.append(_("Choose the outcome."))
    if outcome_on is None:
        problems.append(_("Give the day of the outcome."))
    elif outcome_on < challenge.received_on or outcome_on > today:
        problems.append(_("The outcome must lie between the day the copy was received and today."))
    if problems:
        raise GateRefused(problems)
    challenge.outcome, challenge.outcome_on, challenge.outcome_note = outcome, outcome_on, (note or "").strip()
    audit.record("challenge.outcome", "challenge", challenge.id, case.number, actor=actor,
                 after={"outcome": outcome, "outcome_on": outcome_on, "note": challenge.outcome_note},
                 body_id=case.body_id, case_id=case.id)
    if ChallengeOutcome(outcome) in WITHDRAWING_OUTCOMES and challenge.decision_id is not None:
        forum = challenge.forum
        words = {"revoked": "撤销", "changed": "变更", "unlawful": "确认违法或者无效"}[outcome]  # public words
        cause = f"{forum}于{outcome_on.year}年{outcome_on.month}月{outcome_on.day}日{words}该决定"
        for pub in db.session.scalars(select(Publication).where(Publication.decision_id == challenge.decision_id)):
            disclosure.require_withdrawal(pub, cause=cause, actor=actor, today=today)
    return challenge


def defence_late(challenge: Challenge) -> bool | None:
    """Whether the defence was handed in after its deadline (None: not handed in yet)."""
    if challenge.defence_submitted_on is None:
        return None
    return challenge.defence_submitted_on > challenge.defence_due_on


def record_defence(challenge: Challenge, *, actor: User, submitted_on: date | None,
                   today: date | None = None) -> Challenge:
    """The defence and all the evidence handed in (on time or late, as the dates say)."""
    today = today or local_today()
    case = challenge.case
    _require_actor(actor, case)
    if challenge.defence_submitted_on is not None:
        raise DomainError(_("The defence of this challenge was handed in on %(day)s already.",
                            day=challenge.defence_submitted_on))
    if challenge.outcome is not None:
        raise DomainError(_("The outcome of this challenge is recorded already."))
    problems = []
    if submitted_on is None:
        problems.append(_("Give the day the defence and the evidence were handed in."))
    elif submitted_on < challenge.received_on or submitted_on > today:
        problems.append(_("The defence is handed in between the day the copy was received and today."))
    if problems:
        raise GateRefused(problems)
    challenge.defence_submitted_on = submitted_on
    audit.record("challenge.defence", "challenge", challenge.id, case.number, actor=actor,
                 after={"defence_submitted_on": submitted_on, "defence_due_on": challenge.defence_due_on,
                        "late": defence_late(challenge)}, body_id=case.body_id, case_id=case.id)
    return challenge


# --- what is due: the defence and its evidence ------------------------------------------------------------

# A defence deadline this many calendar days away or closer is "due soon" (the periods are calendar days).
DEFENCE_DUE_SOON_DAYS = 3


@dataclass(frozen=True)
class DefenceObligation:
    """A challenge whose defence is still to be handed in, and where its deadline stands as of a day
    ("overdue" means the deadline has passed). Once the defence is handed in, or the outcome is
    recorded, nothing is due."""

    challenge: Challenge
    due_on: date
    state: str      # "overdue", "due_soon" or "open"
    days_left: int  # calendar days until the deadline; negative when it has passed


def defence_state(due_on: date, today: date) -> str:
    if due_on < today:
        return "overdue"
    return "due_soon" if (due_on - today).days <= DEFENCE_DUE_SOON_DAYS else "open"


def defence_obligation(challenge: Challenge, today: date | None = None) -> DefenceObligation | None:
    """Where the defence of one challenge stands (None once it is handed in or the outcome is recorded)."""
    if challenge.outcome is not None or challenge.defence_submitted_on is not None:
        return None
    today = today or local_today()
    due = challenge.defence_due_on
    return DefenceObligation(challenge, due, defence_state(due, today), (due - today).days)


def defence_obligations(body_ids, today: date | None = None, *, case_ids=None) -> list[DefenceObligation]:
    """Open challenges against the cases of these bodies, the earliest defence deadline (so the
    overdue ones) first."""
    today = today or local_today()
    query = (select(Challenge).join(Case, Case.id == Challenge.case_id)
             .where(Case.body_id.in_(list(body_ids) or [-1]), Challenge.outcome.is_(None),
                    Challenge.defence_submitted_on.is_(None))
             .order_by(Challenge.defence_due_on, Challenge.id))
    if case_ids is not None:
        query = query.where(Challenge.case_id.in_(list(case_ids) or [-1]))
    return [defence_obligation(row, today) for row in db.session.scalars(query)]


def check_version(challenge: Challenge, version: int | None) -> None:
    """The form was made from this version of the challenge; someone else's change first is a conflict."""
    if version is not None and int(version) != challenge.version:
        raise Conflict(_("Someone else changed this challenge in the meantime; reload and check it again."))


def withdrawals_started(challenge: Challenge) -> list[Publication]:
    """The published notices of the challenged decision that must now come down."""
    if challenge.decision_id is None:
        return []
    pubs = db.session.scalars(select(Publication).where(Publication.decision_id == challenge.decision_id)
                              .order_by(Publication.id))
    return [pub for pub in pubs if pub.withdrawal_pending]


def _register_timeline() -> None:
    from .cases import EVENT_LABELS, FIELD_LABELS, SHOWN_FIELDS

    EVENT_LABELS.update({"challenge.defence": _l("Defence and evidence handed in"),
                         "challenge.recorded": _l("Reconsideration or suit recorded"),
                         "challenge.outcome": _l("Outcome of the reconsideration or suit")})
    SHOWN_FIELDS.update({"challenge.recorded": ("kind", "forum", "received_on", "defence_due_on"),
                         "challenge.outcome": ("outcome", "outcome_on", "note"),
                         "challenge.defence": ("defence_submitted_on", "defence_due_on", "late")})
    for key, label in (("forum", _l("Reconsideration body or court")), ("received_on", _l("Copy received on")),
                       ("defence_due_on", _l("Defence due on")), ("outcome", _l("Outcome")),
                       ("outcome_on", _l("Outcome on")), ("note", _l("Note")),
                       ("defence_submitted_on", _l("Defence handed in on"))):
        FIELD_LABELS.setdefault(key, label)


_register_timeline()
