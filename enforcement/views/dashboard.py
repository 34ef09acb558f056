"""The auditors' dashboard: totals and the cross-case table, a case's scorecard, the exports.

Read only. Auditors and admins see their body and those below, a head the own body; others 403.
"""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db, login_manager
from ..models import Body, Case, Matter, Stage, User
from ..services import checks as checks_service
from ..services import dashboard as service
from ..services import permissions
from ..services.workflow import stage_label
from ..services.clock import local_today
from ..services.errors import NotFound

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.before_request
def require_login():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.app_template_global("can_view_dashboard")
def can_view_dashboard(user) -> bool:
    return service.can_view_dashboard(user)


def _user():
    user = current_user._get_current_object()
    permissions.require(service.can_view_dashboard(user), _("Only auditors, heads and admins see the dashboard."))
    return user


def _int(name):
    value = request.args.get(name, type=int)
    return value if value and value > 0 else None


def _month(name):
    value = (request.args.get(name) or "").strip()
    if len(value) == 7 and value[4] == "-" and value[:4].isdigit() and value[5:].isdigit() and 1 <= int(value[5:]) <= 12:
        return value
    return None


def _filters() -> service.Filters:
    stage = request.args.get("stage") or None
    return service.Filters(
        body_id=_int("body"), matter_id=_int("matter"), officer_id=_int("officer"),
        stage=stage if stage in {s.value for s in Stage} else None,
        month_from=_month("from"), month_to=_month("to"), only_problems=request.args.get("problems") == "1")


def _sort():
    sort = request.args.get("sort", "filed_on")
    return (sort if sort in service.SORTS else "filed_on"), request.args.get("dir") == "desc"


def _choices(scope):
    bodies = db.session.execute(select(Body.id, Body.name).where(Body.id.in_(scope)).order_by(Body.name)).all()
    matters = db.session.execute(select(Matter.id, Matter.name).where(Matter.body_id.in_(scope))
                                 .order_by(Matter.name)).all()
    officers = db.session.execute(select(User.id, User.name).where(User.body_id.in_(scope))
                                  .order_by(User.name)).all()
    return bodies, matters, officers


@bp.route("/")
def index():
    user = _user()
    filters = _filters()
    sort, descending = _sort()
    group_by = request.args.get("group", "month")
    group_by = group_by if group_by in service.GROUPINGS else "month"
    today = local_today()
    rows = service.totals(user, group_by=group_by, filters=filters, today=today)
    page = service.case_rows(user, filters, sort, descending, request.args.get("page", 1, type=int), today=today,
                             total=sum(r["cases"] for r in rows))
    args = {k: v for k, v in request.args.items() if k not in ("page",) and v}

    def link(**changes) -> str:
        merged = {**args, **changes}
        return url_for("dashboard.index", **{k: v for k, v in merged.items() if v not in (None, "")})

    def sort_link(column: str) -> str:
        flip = "desc" if sort == column and not descending else ""
        return link(sort=column, dir=flip, page=None)

    bodies, matters, officers = _choices(service.dashboard_scope(user))
    return render_template(
        "dashboard/index.html", totals=rows, group_by=group_by, page=page, sort=sort, descending=descending,
        args=args, link=link, sort_link=sort_link, bodies=bodies, matters=matters, officers=officers,
        stages=[(s.value, stage_label(s)) for s in Stage], today=today, runs=checks_service.recent_runs(user),
        can_run_checks=service.can_run_checks(user))


@bp.route("/cases/<int:case_id>")
def case(case_id: int):
    user = _user()
    found = db.session.get(Case, case_id)
    if found is None or found.body_id not in service.dashboard_scope(user):
        raise NotFound(_("No such case."))
    today = local_today()
    return render_template("dashboard/case.html", case=found, items=service.scorecard(found, today), today=today,
                           state_labels=service.STATE_LABELS)


EXPORT_COLUMNS = ("number", "matter", "officer", "stage", "filed_on", "decision_due_on", "decided_on",
                  "publication", "problem")


def _headers() -> list[str]:
    return [_("Case number"), _("Matter"), _("Lead officer"), _("Stage"), _("Filed on"), _("Decision due"),
            _("Decided on"), _("Publication"), _("Problem")]


def _export_rows(user) -> list[list]:
    sort, descending = _sort()
    rows = service.all_case_rows(user, _filters(), sort, descending, today=local_today())
    out = []
    for row in rows:
        values = []
        for key in EXPORT_COLUMNS:
            value = row.get(key)
            if key == "problem":
                value = _("yes") if value else ""
            values.append("" if value is None else value)
        out.append(values)
    return out


def _filename(ext: str) -> str:
    return f"dashboard-{local_today().isoformat()}.{ext}"


@bp.route("/export.csv")
def export_csv():
    user = _user()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_headers())
    for values in _export_rows(user):
        writer.writerow([v.isoformat() if hasattr(v, "isoformat") else v for v in values])
    data = "\ufeff" + buffer.getvalue()  # the BOM lets Excel read the Chinese as UTF-8
    return Response(data.encode("utf-8"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={_filename('csv')}"})


@bp.route("/export.xlsx")
def export_xlsx():
    from openpyxl import Workbook

    user = _user()
    book = Workbook()
    sheet = book.active
    sheet.title = "cases"
    sheet.append(_headers())
    for values in _export_rows(user):
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(buffer.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={_filename('xlsx')}"})


# --- the integrity checks (POST, CSRF by the app-wide protection) -----------------------------------

def _run(kind: str):
    user = current_user._get_current_object()
    permissions.require(service.can_run_checks(user), _("Only auditors and admins run the checks."))
    if kind == "audit_chain":
        run = checks_service.run_audit_check(user)
    else:
        run = checks_service.run_storage_check(user)
    db.session.commit()
    if run.ok:
        flash(_("The check passed."), "success")
    else:
        flash(_("The check found problems: see the list of runs."), "error")
    return redirect(url_for("dashboard.index") + "#checks")


@bp.route("/checks/audit", methods=["POST"])
def run_audit_check():
    return _run("audit_chain")


@bp.route("/checks/storage", methods=["POST"])
def run_storage_check():
    return _run("storage")
