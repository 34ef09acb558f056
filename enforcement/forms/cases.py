"""Forms of the case screens: the case-list filters, filing (立案) and the actions on a case.

Forms check the shape of the input (required, length, format) and show errors beside the
fields; the conditions of the law (two certified officers, limitation, competence) are checked
by the services, which list every unmet one.
"""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, RadioField, SelectField, StringField,
                     TextAreaField)
from wtforms.fields.choices import SelectChoice as C  # WTForms 3.3: options as SelectChoice, not tuples
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import HiddenInput

from ..models import PartyKind, Route, Source, Stage
from ..services.cases import party_kind_label, source_label
from ..services.workflow import stage_label
from .admin import MultiCheckboxField

# 居民身份证号码 (18 characters, the last may be X) or an old 15-digit number.
ID_NUMBER = re.compile(r"^(\d{17}[\dXx]|\d{15})$")
# 统一社会信用代码: 18 characters from digits and capital letters without I, O, S, V, Z.
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


def optional_int(value) -> int | None:
    """Coerce a select's value to int; the empty placeholder becomes None."""
    if value in (None, "", "None"):
        return None
    return int(value)


# --- the case list --------------------------------------------------------------------------

class CaseFilterForm(FlaskForm):
    """Filters of the case list, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)],
                    render_kw={"placeholder": _l("Number, party or village")})
    stage = SelectField(_l("Stage"), validators=[Optional()])
    matter = SelectField(_l("Matter"), coerce=optional_int, validators=[Optional()])
    officer = SelectField(_l("Officer"), coerce=optional_int, validators=[Optional()])
    overdue = BooleanField(_l("Past the 90-day decision limit"))

    def __init__(self, *args, matters=(), officers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.stage.choices = [C("", _l("All stages"))] + [C(s.value, stage_label(s)) for s in Stage]
        self.matter.choices = [C("", _l("All matters"))] + [C(m.id, f"{m.code} {m.name}") for m in matters]
        self.officer.choices = [C("", _l("All officers"))] + [
            C(u.id, u.name if u.active else _l("%(name)s (deactivated)", name=u.name)) for u in officers]


# --- filing -----------------------------------------------------------------------------------

ROUTE_HELP = _l(
    "Planning: 城乡规划法 art. 65 — building without a rural construction permit; the town government acts "
    "itself. Land: 土地管理法 art. 78 — a villager occupying land for a house without approval; the county "
    "department acts unless the province delegated the power to the town and published it. Leave empty when "
    "the matter is not a building case.")


class FilingForm(FlaskForm):
    """立案: where the case came from, the party, the place, the facts, the dates and the officers."""

    source = SelectField(_l("Source (案件来源)"), validators=[InputRequired(_l("Choose where the case came from."))])
    source_detail = StringField(_l("Source detail"), validators=[Optional(), Length(max=200)],
                                render_kw={"placeholder": _l("e.g. the grid member's report, the complaint's reference")})
    matter = SelectField(_l("Matter (执法事项)"), coerce=optional_int,
                         validators=[InputRequired(_l("Choose the matter from the powers catalogue."))])
    route = RadioField(_l("Legal route"), default="")

    party_kind = RadioField(_l("The party is"), default=PartyKind.PERSON.value,
                            validators=[InputRequired(_l("Say whether the party is a person or an organisation."))])
    party_name = StringField(_l("Name of the party"), validators=[
        DataRequired(_l("The party's name is required.")), Length(max=120)])
    party_id_number = StringField(_l("ID number or unified social credit code"),
                                  validators=[Optional(), Length(max=40)], render_kw={"autocomplete": "off"})
    party_phone = StringField(_l("Phone"), validators=[
        Optional(), Length(max=40),
        Regexp(r"^[0-9+\-() ]{5,20}$", message=_l("A phone number has digits, spaces, + - ( ) only."))],
        render_kw={"inputmode": "tel", "autocomplete": "off"})
    party_address = StringField(_l("Address"), validators=[Optional(), Length(max=200)],
                                render_kw={"autocomplete": "off"})
    party_is_minor = BooleanField(_l("The party is a minor (under 18)"))

    village = StringField(_l("Village (村)"), validators=[DataRequired(_l("The place (village) is required.")),
                                                          Length(max=80)])
    place_detail = StringField(_l("Place in detail"), validators=[Optional(), Length(max=200)])
    summary = TextAreaField(_l("Summary of the facts (案情摘要)"), validators=[
        DataRequired(_l("Describe the facts in the summary.")), Length(max=4000)])

    act_began_on = DateField(_l("The act began on"), validators=[InputRequired(_l("Enter when the act began."))])
    act_ended_on = DateField(_l("The act ended on"), validators=[Optional()])
    discovered_on = DateField(_l("Discovered on"), validators=[InputRequired(_l("Enter when the act was discovered."))])
    filed_on = DateField(_l("Filed on"), default=date.today,
                         validators=[InputRequired(_l("Enter the filing date."))])

    # Checkboxes, not a multiple select: easy to tick on a phone, no Ctrl-click.
    officers = MultiCheckboxField(_l("Officers (承办人)"), coerce=int,
                                  validators=[DataRequired(_l("Choose the officers who handle the case."))])
    lead_officer = SelectField(_l("Lead officer (主办人)"), coerce=optional_int, validators=[Optional()])

    def __init__(self, *args, matters=(), officers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.source.choices = [C("", _l("— choose —"))] + [C(s.value, source_label(s.value)) for s in Source]
        self.matter.choices = [C("", _l("— choose —"))] + [C(m.id, f"{m.code} {m.name}") for m in matters]
        self.route.choices = [
            C("", _l("Not a building case (no route)")),
            C(Route.PLANNING.value, _l("Planning (城乡规划法 art. 65): the town acts itself")),
            C(Route.LAND.value, _l("Land (土地管理法 art. 78): the county department, unless delegated")),
        ]
        self.party_kind.choices = [C(k.value, party_kind_label(k.value)) for k in PartyKind]
        people = [C(u.id, f"{u.name} · {u.unit}" if u.unit else u.name) for u in officers]
        self.officers.choices = people
        self.lead_officer.choices = [C("", _l("The first officer chosen"))] + people

    def validate_party_id_number(self, field):
        value = (field.data or "").strip()
        if not value:
            return
        if self.party_kind.data == PartyKind.ORGANISATION.value:
            if not CREDIT_CODE.match(value.upper()):
                raise ValidationError(_l("A unified social credit code (统一社会信用代码) has 18 digits and capital "
                                         "letters."))
        elif not ID_NUMBER.match(value):
            raise ValidationError(_l("An ID number (身份证号码) has 18 characters: 17 digits, then a digit or X."))


# --- actions on a case --------------------------------------------------------------------------

class CaseActionForm(FlaskForm):
    """Every action on a case carries the version the user saw, so a concurrent change is noticed."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class ApproveFilingForm(CaseActionForm):
    pass


class AdvanceForm(CaseActionForm):
    target = HiddenField(validators=[InputRequired(), AnyOf([s.value for s in Stage])])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class AssignOfficerForm(CaseActionForm):
    user_id = SelectField(_l("Add an officer"), coerce=optional_int,
                          validators=[InputRequired(_l("Choose an officer."))])

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.user_id.choices = [C("", _l("— choose —"))] + [C(u.id, u.name) for u in candidates]


class RemoveOfficerForm(CaseActionForm):
    user_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    reason = StringField(_l("Reason"), validators=[
        DataRequired(_l("Give the reason for taking the officer off the case (e.g. recusal).")), Length(max=500)])


class MarkComplexForm(CaseActionForm):
    reason = TextAreaField(_l("Why the case is complex"), validators=[
        DataRequired(_l("Say why the case is complex.")), Length(max=2000)])
