"""Who may do what, as pure predicates `can_<verb>(user, obj)`.

Views (403/404), templates (hide the button), the API and tests all use these. Every predicate
starts by refusing a missing or inactive user. Objects of another body are invisible: callers
answer 404, never 403, so their existence is not leaked.
"""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Body, Case, Role, Stage, User

CASE_ROLES = (Role.OFFICER, Role.HEAD, Role.REVIEWER, Role.AUDITOR)


def _active(user) -> bool:
    return bool(user) and getattr(user, "is_authenticated", False) and getattr(user, "active", False)


def descendant_body_ids(body_id: int) -> set[int]:
    """The body and every body below it (a county auditor sees its towns)."""
    found, frontier = {body_id}, [body_id]
    while frontier:
        children = db.session.scalars(select(Body.id).where(Body.parent_id.in_(frontier))).all()
        frontier = [c for c in children if c not in found]
        found.update(frontier)
    return found


def case_scope(user) -> set[int]:
    """Ids of the bodies whose cases the user may see (empty: none)."""
    if not _active(user) or not user.has_role(*CASE_ROLES):
        return set()
    if user.has_role(Role.AUDITOR):
        return descendant_body_ids(user.body_id)
    return {user.body_id}


def assigned_case_ids(user) -> set[int]:
    """Cases of other bodies lent to this reviewer for their review (open assignments only)."""
    if not _active(user) or not user.has_role(Role.REVIEWER):
        return set()
    from ..models import ReviewerAssignment

    return set(db.session.scalars(select(ReviewerAssignment.case_id).where(
        ReviewerAssignment.reviewer_id == user.id, ReviewerAssignment.ended_at.is_(None))))


def can_view_case(user, case: Case) -> bool:
    """Cases of the bodies in scope, and a case of another body assigned to the user for review."""
    return case.body_id in case_scope(user) or case.id in assigned_case_ids(user)


def is_case_officer(user, case: Case) -> bool:
    return _active(user) and any(o.user_id == user.id for o in case.active_officers)


def is_head_of(user, body_id: int) -> bool:
    return _active(user) and user.has_role(Role.HEAD) and user.body_id == body_id


def can_file_case(user, body_id: int | None = None) -> bool:
    if not _active(user) or not user.has_role(Role.OFFICER) or user.auxiliary:
        return False
    return body_id is None or user.body_id == body_id


def can_edit_case(user, case: Case) -> bool:
    """Officers on the case and the head of its body change it; archived cases are read-only."""
    if not _active(user) or case.stage == Stage.ARCHIVED.value:
        return False
    return (user.has_role(Role.OFFICER) and not user.auxiliary and is_case_officer(user, case)) or is_head_of(
        user, case.body_id)


def can_approve_filing(user, case: Case) -> bool:
    return case.stage == Stage.FILING.value and is_head_of(user, case.body_id)


def can_advance_case(user, case: Case) -> bool:
    return can_edit_case(user, case)


def can_see_personal_data(user, case: Case) -> bool:
    """The party's ID number, phone and address: the officers on the case, the head, reviewers of the body."""
    if not can_view_case(user, case):
        return False
    if is_case_officer(user, case) or is_head_of(user, case.body_id):
        return True
    return user.has_role(Role.REVIEWER) and (user.body_id == case.body_id or case.id in assigned_case_ids(user))


def can_manage_master_data(user) -> bool:
    return _active(user) and user.has_role(Role.ADMIN)


def can_view_master_data(user) -> bool:
    return _active(user)


def can_view_audit(user) -> bool:
    return _active(user) and user.has_role(Role.AUDITOR, Role.ADMIN)


def master_data_scope(user) -> set[int]:
    """Ids of the bodies whose master data (people, certificates, catalogue) the user may read.

    Everyone reads their own body's; auditors and admins also every body below it (a county
    supervises its towns). Objects outside the scope answer 404.
    """
    if not _active(user):
        return set()
    if user.has_role(Role.AUDITOR, Role.ADMIN):
        return descendant_body_ids(user.body_id)
    return {user.body_id}


def can_manage_body(user, body_id: int | None) -> bool:
    """Admins change the master data of the bodies in their scope (never cases)."""
    return can_manage_master_data(user) and body_id is not None and body_id in master_data_scope(user)


def sees_events_without_body(user) -> bool:
    """Audit events tied to no body (e.g. a failed login with an unknown name) are shown to the
    auditors and admins of a top-level body only."""
    return can_view_audit(user) and user.body.parent_id is None


def require(allowed: bool, message: str = "Not allowed") -> None:
    from .errors import PermissionDenied

    if not allowed:
        raise PermissionDenied(message)


def is_user(obj) -> bool:
    return isinstance(obj, User)
