"""The home page: what each kind of user has to do today."""
from __future__ import annotations


from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..models import Role, Stage
from ..services import calendar, execution
from ..services import cases as case_service
from ..services.cases import CaseFilter
from ..services.clock import local_today
from .disclosure import due_counts

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("public.index"))


@bp.route("/home")
@login_required
def home():
    today = local_today()
    panels = {}
    if current_user.has_role(Role.HEAD):
        panels["awaiting_approval"] = case_service.list_cases(
            current_user, CaseFilter(stage=Stage.FILING.value), per_page=10)[0]
    if current_user.has_role(Role.OFFICER):
        panels["my_cases"] = case_service.list_cases(current_user, CaseFilter(officer_id=current_user.id),
                                                     per_page=10)[0]
    if current_user.has_role(Role.OFFICER, Role.HEAD, Role.AUDITOR):
        panels["overdue"] = case_service.list_cases(current_user, CaseFilter(overdue=True), per_page=10,
                                                    today=today)[0]
    follow_ups = execution.follow_ups(current_user, today) if current_user.has_role(Role.OFFICER, Role.HEAD) else None
    return render_template("main/home.html", panels=panels, today=today, follow_ups=follow_ups,
                           disclosure_due=due_counts(current_user, today),  # publication deadlines (行政执法公示)
                           calendar_warning=calendar.coverage_warning(today))
