"""The auditors' dashboard: a per-case scorecard of the three systems and the legal deadlines, and
cross-case totals and rows computed with SQL aggregates over the cases in the viewer's scope.

Read only: nothing here changes a case. Who may look: auditors and admins for their body and those
below it, a head for the own body (`dashboard_scope`); everyone else has an empty scope.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case as when, func, or_, select

from ..extensions import db
from ..models import (Body, Case, CaseOfficer, Decision, DecisionKind, Matter, Publication, PublicationKind,
                      PublicationStatus, ReviewStatus, Role, Stage, User)
from . import decisions as decisions_service
from . import permissions
from . import records as records_service

OK, LATE, MISSING, PENDING, NOT_APPLICABLE = "ok", "late", "missing", "pending", "not_applicable"
STATE_LABELS = {OK: _l("OK"), LATE: _l("Late"), MISSING: _l("Missing"), PENDING: _l("Pending"),
                NOT_APPLICABLE: _l("Not applicable")}
OPEN_STAGES = tuple(s.value for s in (Stage.FILING, Stage.INVESTIGATION, Stage.NOTICE, Stage.REVIEW, Stage.DECISION))
PAGE_SIZE = 50


def dashboard_scope(user) -> set[int]:
    """Ids of the bodies whose cases the user sees on the dashboard (empty: no access)."""
    if not permissions._active(user):
        return set()
    if user.has_role(Role.AUDITOR, Role.ADMIN):
        return permissions.descendant_body_ids(user.body_id)
    if user.has_role(Role.HEAD):
        return {user.body_id}
    return set()


def can_view_dashboard(user) -> bool:
    return bool(dashboard_scope(user))


def can_run_checks(user) -> bool:
    return permissions._active(user) and user.has_role(Role.AUDITOR, Role.ADMIN)


# --- the scorecard of one case ------------------------------------------------------------------

@dataclass
class Item:
    key: str
    label: str
    state: str
    detail: str

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])


def _decision_publication(decision: Decision | None) -> Publication | None:
    if decision is None:
        return None
    return db.session.scalar(select(Publication).where(Publication.decision_id == decision.id,
                                                       Publication.kind == PublicationKind.DECISION.value))


def _disclosure_item(pub: Publication | None, decision: Decision | None, today: date) -> Item:
    label = _("Disclosure on time")
    if decision is None:
        return Item("disclosure", label, PENDING, _("No decision yet: nothing to publish."))
    if pub is None:
        return Item("disclosure", label, MISSING, _("The decision has no publication."))
    if pub.status == PublicationStatus.HELD.value:
        from .disclosure import HOLD_REASON_LABELS

        reason = str(HOLD_REASON_LABELS.get(pub.hold_reason, pub.hold_reason))
        return Item("disclosure", label, OK, _("Not published, with the reason: %(reason)s",
                                               reason=reason + (f" ({pub.hold_detail})" if pub.hold_detail else "")))
    if pub.status == PublicationStatus.SUPERSEDED.value:
        return Item("disclosure", label, NOT_APPLICABLE, _("The decision was replaced before publication."))
    if pub.published_on is not None:
        if pub.due_on is not None and pub.published_on > pub.due_on:
            return Item("disclosure", label, LATE, _("Published on %(on)s, due by %(due)s.",
                                                     on=pub.published_on, due=pub.due_on))
        return Item("disclosure", label, OK, _("Published on %(on)s (due by %(due)s).",
                                               on=pub.published_on, due=pub.due_on or "—"))
    if pub.due_on is not None and pub.due_on < today:
        return Item("disclosure", label, LATE, _("Not published; it was due by %(due)s.", due=pub.due_on))
    return Item("disclosure", label, PENDING, _("Not published yet; due by %(due)s.", due=pub.due_on or "—"))


def _records_item(case: Case) -> Item:
    label = _("Records complete per stage")
    # The stages the case has been in and left (not execution for a case closed straight after service).
    passed = [s.value for s in records_service.stages_visited(case) if s.value != case.stage]
    missing = [item for item in records_service.checklist(case) if item.stage in passed and not item.met]
    if missing:
        names = ", ".join(sorted({records_service.type_label(m.record_type) for m in missing}))
        return Item("records", label, MISSING, _("Missing for the stages passed: %(names)s", names=names))
    if not passed:
        return Item("records", label, PENDING, _("No stage passed yet."))
    return Item("records", label, OK, _("Every record required for the stages passed is there."))


def _review_item(decision: Decision | None) -> Item:
    label = _("Review passed on the final dossier")
    if decision is None:
        return Item("review", label, PENDING, _("No decision yet."))
    if not decision.major:
        return Item("review", label, NOT_APPLICABLE, _("Not a major decision: no legal review required."))
    request = decision.review_request
    if request is None or request.status != ReviewStatus.PASSED.value:
        return Item("review", label, MISSING, _("A major decision without a passed legal review."))
    if request.digest != decision.digest:
        return Item("review", label, MISSING, _("The review passed on another dossier than the one decided on."))
    return Item("review", label, OK, _("Review passed on the dossier decided on."))


def _decision_item(case: Case, decision: Decision | None, today: date) -> Item:
    label = _("Decision within 90 days")
    due = case.decision_due_on
    if decision is not None:
        if decision.decided_on > due:
            return Item("decision_deadline", label, LATE, _("Decided on %(on)s, due by %(due)s.",
                                                            on=decision.decided_on, due=due))
        return Item("decision_deadline", label, OK, _("Decided on %(on)s (due by %(due)s).",
                                                      on=decision.decided_on, due=due))
    if case.stage not in OPEN_STAGES:
        return Item("decision_deadline", label, NOT_APPLICABLE, _("Closed without a decision."))
    if due < today:
        return Item("decision_deadline", label, LATE, _("Not decided; it was due by %(due)s.", due=due))
    return Item("decision_deadline", label, PENDING, _("Not decided yet; due by %(due)s.", due=due))


def _withdrawal_item(pub: Publication | None, today: date) -> Item:
    label = _("Withdrawal within 3 working days")
    if pub is None or pub.withdraw_due_on is None:
        return Item("withdrawal", label, NOT_APPLICABLE, _("No withdrawal required."))
    if pub.withdrawn_on is not None:
        state = LATE if pub.withdrawn_on > pub.withdraw_due_on else OK
        return Item("withdrawal", label, state, _("Withdrawn on %(on)s, due by %(due)s.",
                                                  on=pub.withdrawn_on, due=pub.withdraw_due_on))
    if pub.withdraw_due_on < today:
        return Item("withdrawal", label, LATE, _("Not withdrawn; it was due by %(due)s.", due=pub.withdraw_due_on))
    return Item("withdrawal", label, PENDING, _("To be withdrawn by %(due)s.", due=pub.withdraw_due_on))


def _service_item(case: Case, today: date) -> Item:
    from . import serving

    label = _("Service within 7 working days")
    state = serving.decision_service(case, today)
    if state.state == "not_applicable":
        return Item("service", label, PENDING if case.stage in OPEN_STAGES else NOT_APPLICABLE,
                    _("No decision in force to serve."))
    row = state.service
    if row is not None:
        detail = _("Served on %(on)s, due by %(due)s (%(method)s).", on=row.served_on,
                   method=serving.method_label(row.method), due=state.due_on)
        return Item("service", label, LATE if state.state == "late" else OK, detail)
    if state.state == "overdue":
        return Item("service", label, LATE, _("Not served; it was due by %(due)s.", due=state.due_on))
    return Item("service", label, PENDING, _("Not served yet; due by %(due)s.", due=state.due_on))


def scorecard(case: Case, today: date) -> list[Item]:
    decision = decisions_service.original_decision(case)
    pub = _decision_publication(decision)
    disclosure = _disclosure_item(pub, decision, today)
    publication = Item("publication_deadline", _("Publication deadline"), disclosure.state, disclosure.detail)
    return [
        disclosure,
        _records_item(case),
        _review_item(decision),
        _decision_item(case, decision, today),
        _service_item(case, today),
        publication,
        _withdrawal_item(pub, today),
    ]


# --- cross-case figures (SQL aggregates) --------------------------------------------------------

GROUPINGS = ("body", "matter", "officer", "month")
CASE_SORTS = ("number", "stage", "filed_on", "decision_due_on")  # columns of the case itself
SORTS = ("number", "matter", "officer", "stage", "filed_on", "decision_due_on", "decided_on", "publication")


@dataclass
class Filters:
    body_id: int | None = None
    matter_id: int | None = None
    officer_id: int | None = None
    stage: str | None = None
    month_from: str | None = None  # "YYYY-MM", on the filing date
    month_to: str | None = None
    only_problems: bool = False


def _month(column):
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(column, 1, 7)


def _month_start(value: str) -> date:
    year, month = value.split("-")
    return date(int(year), int(month), 1)


def _month_after(value: str) -> date:
    start = _month_start(value)
    return date(start.year + (start.month == 12), start.month % 12 + 1, 1)


def _problem(flags: dict):
    """A case with a missed deadline: decision overdue or late, publication or withdrawal late or overdue."""
    return or_(flags["overdue"], flags["pub_late"], flags["pub_overdue"], flags["wd_late"], flags["wd_overdue"])


def _base(scope: set[int], filters: Filters, today: date, *, need_lead: bool = True):
    """The joined selectable and the per-case flags, with the filters applied.

    Each case joins its original decision, that decision's publication and its lead officer by
    index lookups (no aggregate subquery), so one pass over the cases in scope gives every figure.
    """
    d = Decision.__table__.alias("dec")
    p = Publication.__table__.alias("pub")
    lead = CaseOfficer.__table__.alias("lead")
    joined = (Case.__table__
              .outerjoin(d, and_(d.c.case_id == Case.id, d.c.kind == DecisionKind.DECISION.value))
              .outerjoin(p, and_(p.c.decision_id == d.c.id, p.c.kind == PublicationKind.DECISION.value)))
    if need_lead or filters.officer_id:
        joined = joined.outerjoin(lead, and_(lead.c.case_id == Case.id, lead.c.lead.is_(True),
                                             lead.c.removed_at.is_(None)))
    overdue = or_(and_(d.c.id.is_(None), Case.stage.in_(OPEN_STAGES), Case.decision_due_on < today),
                  d.c.decided_on > Case.decision_due_on)
    flags = {
        "decided": d.c.id.is_not(None),
        "overdue": overdue,
        "pub_late": and_(p.c.published_on.is_not(None), p.c.due_on.is_not(None), p.c.published_on > p.c.due_on),
        "pub_overdue": and_(p.c.status == PublicationStatus.DRAFT.value, p.c.due_on < today),
        "wd_late": and_(p.c.withdrawn_on.is_not(None), p.c.withdrawn_on > p.c.withdraw_due_on),
        "wd_overdue": and_(p.c.status == PublicationStatus.PUBLISHED.value, p.c.withdraw_due_on < today),
    }
    conds = [Case.body_id.in_(scope)]
    if filters.body_id:
        conds.append(Case.body_id == filters.body_id)
    if filters.matter_id:
        conds.append(Case.matter_id == filters.matter_id)
    if filters.officer_id:
        conds.append(lead.c.user_id == filters.officer_id)
    if filters.stage:
        conds.append(Case.stage == filters.stage)
    if filters.month_from:
        conds.append(Case.filed_on >= _month_start(filters.month_from))
    if filters.month_to:
        conds.append(Case.filed_on < _month_after(filters.month_to))
    if filters.only_problems:
        conds.append(_problem(flags))
    return joined, conds, flags, d, lead, p


def totals(user, *, group_by: str = "month", filters: Filters | None = None, today: date | None = None) -> list[dict]:
    """Counts per body, matter, lead officer or filing month, one GROUP BY query."""
    from .clock import local_today

    if group_by not in GROUPINGS:
        raise ValueError(group_by)
    scope = dashboard_scope(user)
    if not scope:
        return []
    today = today or local_today()
    joined, conds, flags, _d, lead, _p = _base(scope, filters or Filters(), today, need_lead=group_by == "officer")
    count = lambda cond: func.sum(when((cond, 1), else_=0))  # noqa: E731
    # Grouped by the key alone (no join to the names over every case); the few names are read after.
    names = {"body": Body, "matter": Matter, "officer": User}.get(group_by)
    key = {"body": Case.body_id, "matter": Case.matter_id, "officer": lead.c.user_id}.get(group_by)
    if key is None:
        key = _month(Case.filed_on)
    query = (select(key.label("key"), func.count().label("cases"),
                    *(count(cond).label(name) for name, cond in flags.items()))
             .select_from(joined).where(*conds).group_by(key))
    rows = [dict(row._mapping) for row in db.session.execute(query)]
    if names is None:
        for row in rows:
            row["label"] = row["key"]
    else:
        ids = [row["key"] for row in rows if row["key"] is not None]
        found = {i: n for i, n in db.session.execute(select(names.id, names.name).where(names.id.in_(ids)))}
        for row in rows:
            row["label"] = found.get(row["key"])
    return sorted(rows, key=lambda row: (row["label"] is None, str(row["label"] or "")))


@dataclass
class RowPage:
    rows: list[dict]
    total: int
    page: int
    pages: int


def case_rows(user, filters: Filters | None = None, sort: str = "filed_on", descending: bool = False,
              page: int = 1, *, per_page: int = PAGE_SIZE, today: date | None = None,
              total: int | None = None) -> RowPage:
    """One page of the cross-case table, sorted by a whitelisted column.

    `total`: the number of rows of the selection when the caller knows it already (the sum of the
    totals under the same filters), which saves a second pass over the cases."""
    from .clock import local_today

    scope = dashboard_scope(user)
    if not scope:
        return RowPage([], 0, 1, 1)
    today = today or local_today()
    joined, conds, flags, d, lead, pubs = _base(scope, filters or Filters(), today)
    joined = joined.join(Matter, Matter.id == Case.matter_id).outerjoin(User, User.id == lead.c.user_id)
    columns = {
        "number": Case.number, "matter": Matter.name, "officer": User.name, "stage": Case.stage,
        "filed_on": Case.filed_on, "decision_due_on": Case.decision_due_on, "decided_on": d.c.decided_on,
        "publication": pubs.c.status,
    }
    order = columns.get(sort, Case.filed_on)
    order = order.desc() if descending else order.asc()
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(joined).where(*conds)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    problem = _problem(flags)
    tiebreak = Case.id.desc() if descending else Case.id.asc()
    query = select(Case.id.label("id"), *(c.label(k) for k, c in columns.items()), problem.label("problem"))
    filters = filters or Filters()
    if sort in CASE_SORTS and not (filters.only_problems or filters.officer_id):
        # Sorted by a column of the case and filtered on the case only: pick the page's ids from
        # the cases alone (an index walk), then join the details of those rows only.
        ids = select(Case.id).where(*conds).order_by(order, tiebreak).limit(per_page).offset((page - 1) * per_page)
        query = query.select_from(joined).where(Case.id.in_(ids.scalar_subquery())).order_by(order, tiebreak)
    else:
        query = (query.select_from(joined).where(*conds).order_by(order, tiebreak)
                 .limit(per_page).offset((page - 1) * per_page))
    return RowPage([dict(row._mapping) for row in db.session.execute(query)], total, page, pages)


def all_case_rows(user, filters: Filters | None = None, sort: str = "filed_on", descending: bool = False,
                  *, today: date | None = None, limit: int = 100_000) -> list[dict]:
    """Every row of the selection (for the exports), in the table's order."""
    return case_rows(user, filters, sort, descending, 1, per_page=limit, today=today).rows
