"""Oversight screens for the auditors: "Who looked" (every view of a party's personal data and of
audio/video evidence).

Thin like the other screens: parse the filters, check who may read (services.access.audit_scope:
auditors and admins for their bodies and those below, a head for their own body; everyone else
403), list one page. The rows and their words come from services.access.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice as C  # WTForms 3.3: options as SelectChoice, not tuples
from wtforms.validators import Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from ..extensions import db, login_manager
from ..models import Case
from ..services import access as access_service
from ..services import people, permissions

bp = Blueprint("oversight", __name__, url_prefix="/oversight")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AccessFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    case = StringField(_l("Case number"), filters=[_strip], validators=[Optional(), Length(max=60)])
    case_id = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(min=1)])
    user = SelectField(_l("Who"), coerce=int, validate_choice=False)
    kind = SelectField(_l("What"), choices=[C(k, v) for k, v in access_service.KIND_LABELS.items()],
                       default=access_service.KIND_DEFAULT)
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_("The end of the period comes before its start."))


@bp.before_request
def require_login():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.app_template_global("can_view_access_log")
def can_view_access_log(user, case=None) -> bool:
    """For the menu and the case page: whether to offer the link to "Who looked"."""
    return access_service.can_view_access_log(user, case)


@bp.route("/access")
def access():
    user = current_user._get_current_object()
    scope = access_service.audit_scope(user)
    permissions.require(bool(scope), _("Only auditors, and the head for the own body, see who looked."))
    filters = AccessFilterForm(request.args)
    filters.user.choices = [C(0, _("Anyone"))] + [
        C(u.id, f"{u.name} ({u.username})") for u in db.session.scalars(people.users_query(scope))]
    filters.validate()

    def valid(field):
        return None if field.errors else field.data

    kind = valid(filters.kind) or access_service.KIND_DEFAULT
    page = request.args.get("page", 1, type=int)
    result = access_service.access_events(
        scope, case_id=valid(filters.case_id), case_number=valid(filters.case), user_id=valid(filters.user) or None,
        kind=kind, since=valid(filters.since), until=valid(filters.until), page=page)
    args = {k: v for k, v in request.args.items() if k != "page" and v}

    def page_url(number: int) -> str:
        return url_for("oversight.access", **args, **({"page": number} if number > 1 else {}))

    filtered = bool(args)
    case = db.session.get(Case, valid(filters.case_id)) if valid(filters.case_id) else None
    if case is not None and case.body_id not in scope:
        case = None  # named only within the scope
    return render_template(
        "oversight/access.html", filters=filters, result=result, kind=kind, filtered=filtered, case=case,
        prev_url=page_url(result.page - 1) if result.has_prev else None,
        next_url=page_url(result.page + 1) if result.has_next else None,
        viewable=permissions.case_scope(user), kind_label=access_service.kind_label,
        kind_title=str(access_service.KIND_LABELS.get(kind, "")))
