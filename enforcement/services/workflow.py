"""The stages of a case and the gate of every transition.

立案 → 调查取证 → 告知 → 法制审核 (when major) → 决定 → 送达 → 执行 → 结案 → 归档

A gate is a function `(case, today) -> list[str]` returning the unmet conditions in words;
an empty list means allowed. Gates are registered per transition with `@gate(FROM, TO)`, so
later modules (records, review, execution) add theirs to this same machine; every caller —
screen, API, CLI, tests — goes through `unmet()` and `advance()`.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..models import Case, Stage, User
from ..models._types import utcnow
from . import audit
from .errors import GateRefused, PermissionDenied
from .clock import local_today

Gate = Callable[[Case, date], list[str]]

TRANSITIONS: dict[Stage, tuple[Stage, ...]] = {
    Stage.FILING: (Stage.INVESTIGATION,),
    Stage.INVESTIGATION: (Stage.NOTICE,),
    Stage.NOTICE: (Stage.REVIEW, Stage.DECISION),
    Stage.REVIEW: (Stage.DECISION, Stage.INVESTIGATION),  # pass, or returned for correction
    Stage.DECISION: (Stage.SERVICE,),
    Stage.SERVICE: (Stage.EXECUTION, Stage.CLOSED),
    Stage.EXECUTION: (Stage.CLOSED,),
    Stage.CLOSED: (Stage.ARCHIVED,),
    Stage.ARCHIVED: (),
}

_GATES: dict[tuple[Stage, Stage], list[Gate]] = defaultdict(list)
_ALWAYS: list[Gate] = []


_STAGE_LABELS = {
    Stage.FILING: _l("Filing"), Stage.INVESTIGATION: _l("Investigation"), Stage.NOTICE: _l("Notice"),
    Stage.REVIEW: _l("Legal review"), Stage.DECISION: _l("Decision"), Stage.SERVICE: _l("Service"),
    Stage.EXECUTION: _l("Execution"), Stage.CLOSED: _l("Closed"), Stage.ARCHIVED: _l("Archived"),
}


def stage_label(stage: Stage | str) -> str:
    """The stage's name in the current language (one translation looked up, not nine: lists call this per row)."""
    return str(_STAGE_LABELS[Stage(stage)])


def gate(source: Stage | None, target: Stage | None = None):
    """Register a gate for one transition, or for every transition when both are None."""
    def register(fn: Gate) -> Gate:
        if source is None and target is None:
            _ALWAYS.append(fn)
        else:
            _GATES[(source, target)].append(fn)
        return fn
    return register


def next_stages(case: Case) -> tuple[Stage, ...]:
    return TRANSITIONS[Stage(case.stage)]


def unmet(case: Case, target: Stage | str, *, today: date | None = None, skip: tuple[Gate, ...] = ()) -> list[str]:
    """Every unmet condition for moving the case to `target` (empty = allowed).

    `skip` leaves out gates that the caller's own step satisfies (the head's approval of a
    filing is the step that meets `filing_approved`), so a screen can show the rest beforehand.
    """
    target = Stage(target)
    today = today or local_today()
    current = Stage(case.stage)
    if target not in TRANSITIONS[current]:
        return [_("A case in %(current)s cannot move to %(target)s.", current=stage_label(current),
                  target=stage_label(target))]
    problems: list[str] = []
    for fn in [*_ALWAYS, *_GATES[(current, target)]]:
        if fn not in skip:
            problems.extend(fn(case, today))
    return problems


def advance(case: Case, target: Stage | str, *, actor: User, today: date | None = None, reason: str = "",
            authorised: bool = False, skip: tuple[Gate, ...] = ()) -> None:
    """Move the case to `target` if every gate passes; otherwise raise GateRefused listing them all.

    `authorised` is for a service whose own act moves the case and which checked its actor
    itself (the reviewer's return sends the case back to investigation); the gates still run,
    except those in `skip` (as in `unmet`).
    """
    from .permissions import can_advance_case

    target = Stage(target)
    if not authorised and not can_advance_case(actor, case):
        raise PermissionDenied(_("Only the officers on the case or the head of the body move it on."))
    problems = unmet(case, target, today=today, skip=skip)
    if problems:
        raise GateRefused(problems)
    before = case.stage
    case.stage = target.value
    case.stage_since = utcnow()
    audit.record("case.stage_changed", "case", case.id, f"{case.number} {case.party_name}", actor=actor,
                 before={"stage": before}, after={"stage": target.value, **({"reason": reason} if reason else {})},
                 body_id=case.body_id, case_id=case.id)
    if target == Stage.ARCHIVED:
        from .closing import on_archived

        on_archived(case, actor)


# --- the gates this module knows -------------------------------------------------------------

@gate(Stage.FILING, Stage.INVESTIGATION)
def filing_approved(case: Case, today: date) -> list[str]:
    """立案审批: the head of the body approved the filing."""
    if not case.filing_approved_by_id:
        return [_("The head of the body has not approved the filing (立案审批).")]
    return []


@gate(Stage.FILING, Stage.INVESTIGATION)
def _filing_conditions(case: Case, today: date) -> list[str]:
    """立案: two certified officers on the filing date, limitation, competence."""
    from .cases import case_filing_problems

    return case_filing_problems(case, today)


@gate(None, None)
def _officers_valid_today(case: Case, today: date) -> list[str]:
    """Whoever acts on the case acts on a valid certificate today (two officers at least)."""
    if case.stage == Stage.FILING.value:
        return []  # the filing gate checks the officers on the filing date
    if case.stage in (Stage.CLOSED.value, Stage.ARCHIVED.value):
        return []
    from .cases import officer_problems

    return officer_problems([o.user for o in case.active_officers], today, matter=case.matter, body=case.body)


# Gates defined by later modules register themselves when imported: import them with the machine.
from . import records  # noqa: E402,F401  (required-records gates)
from . import notice, review, decisions  # noqa: E402,F401  (notice, review and decision gates)
from . import serving, execution, closing  # noqa: E402,F401  (service, execution and closing gates)
