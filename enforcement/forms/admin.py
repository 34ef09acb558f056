"""Forms of the master-data screens: bodies, users, the certificate ledger, the powers catalogue,
API tokens and the audit-trail filters. The rules themselves stay in services; these forms only
say what is missing or malformed, beside the field."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DecimalField, IntegerField, PasswordField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice as C  # WTForms 3.3: options as SelectChoice, not tuples
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import BodyKind, CertificateStatus, MatterCategory, Role
from ..models.catalogue import PowerSource

# Labels for stored values, shared by the forms and the templates of this blueprint.
ROLE_LABELS = {
    Role.OFFICER.value: _l("Officer (执法人员)"),
    Role.REVIEWER.value: _l("Legal reviewer (法制审核人员)"),
    Role.HEAD.value: _l("Head (负责人)"),
    Role.AUDITOR.value: _l("Auditor (监督人员)"),
    Role.ADMIN.value: _l("Administrator"),
}
BODY_KIND_LABELS = {
    BodyKind.TOWN.value: _l("Town or subdistrict government (乡镇人民政府/街道办事处)"),
    BodyKind.COUNTY_DEPARTMENT.value: _l("County department (县级行政执法部门)"),
    BodyKind.COUNTY.value: _l("County government or supervising body (县级人民政府/司法局)"),
    BodyKind.OTHER.value: _l("Other"),
}
MATTER_CATEGORY_LABELS = {
    MatterCategory.PENALTY.value: _l("Penalty (行政处罚)"),
    MatterCategory.COERCION.value: _l("Coercion (行政强制)"),
    MatterCategory.INSPECTION.value: _l("Inspection (行政检查)"),
    MatterCategory.PERMIT.value: _l("Permit (行政许可)"),
    MatterCategory.LEVY.value: _l("Levy (行政征收)"),
    MatterCategory.OTHER.value: _l("Other"),
}
POWER_SOURCE_LABELS = {
    PowerSource.OWN.value: _l("Own statutory power (法定职权)"),
    PowerSource.DELEGATED.value: _l("Delegated by the province (赋权/委托)"),
}
ROUTE_LABELS = {
    "": _l("None"),
    "planning": _l("Planning (城乡规划法 art. 65)"),
    "land": _l("Land (土地管理法 art. 78)"),
}
CERT_STATE_LABELS = {
    "valid": _l("valid"),
    "expiring": _l("expires within 60 days"),
    "expired": _l("expired"),
    "not_yet_valid": _l("not yet valid"),
    "suspended": _l("suspended (暂扣)"),
    "revoked": _l("revoked (注销/吊销)"),
    "none": _l("no certificate"),
}
# Badge colour per certificate state (CSS classes badge ok/warn/bad).
CERT_STATE_BADGE = {"valid": "ok", "expiring": "warn", "expired": "bad", "not_yet_valid": "warn",
                    "suspended": "bad", "revoked": "bad", "none": ""}
CERT_STATUS_LABELS = {
    CertificateStatus.VALID.value: _l("valid"),
    CertificateStatus.SUSPENDED.value: _l("suspended (暂扣)"),
    CertificateStatus.REVOKED.value: _l("revoked (注销/吊销)"),
}


def options(labels: dict) -> list[C]:
    """The options of a select, in the order of a label table (value -> label)."""
    return [C(value, label) for value, label in labels.items()]


class GroupCheckboxInput(CheckboxInput):
    """One checkbox of a group. A required group must not mark each box `required`: in HTML that
    would demand every box be ticked. The field's validator checks that at least one is."""

    validation_attrs = ("disabled",)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (a user's roles, the officers of a new case)."""

    widget = ListWidget(prefix_label=False)
    option_widget = GroupCheckboxInput()


def _strip(value):
    return value.strip() if isinstance(value, str) else value


STRIP = [_strip]


class BodyForm(FlaskForm):
    name = StringField(_l("Name (执法主体名称)"), filters=STRIP, validators=[
        DataRequired(message=_l("Enter the body's full name.")), Length(max=120)])
    short_name = StringField(_l("Short name"), filters=STRIP, validators=[
        DataRequired(message=_l("Enter the short name used in case numbers.")), Length(max=20)])
    kind = SelectField(_l("Kind"), choices=options(BODY_KIND_LABELS))
    area = StringField(_l("Area (行政区域)"), filters=STRIP, validators=[
        DataRequired(message=_l("Enter the area the body covers.")), Length(max=120)])
    parent_id = SelectField(_l("Parent body"), coerce=int, validate_choice=True)
    address = StringField(_l("Address"), filters=STRIP, validators=[Length(max=200)])
    phone = StringField(_l("Phone"), filters=STRIP, validators=[Length(max=40)])
    complaint_channel = TextAreaField(_l("Complaint channel (投诉举报渠道)"), filters=STRIP)
    remedy_info = TextAreaField(_l("Remedies (救济途径: reconsideration and litigation)"), filters=STRIP)
    case_number_pattern = StringField(_l("Case number pattern"), filters=STRIP, default="{short}罚〔{year}〕{seq}号",
                                      validators=[DataRequired(message=_l("Enter the case number pattern.")),
                                                  Length(max=80)])
    active = BooleanField(_l("Active"), default=True)


class _UserFields(FlaskForm):
    name = StringField(_l("Full name"), filters=STRIP, validators=[
        DataRequired(message=_l("Enter the person's name.")), Length(max=60)])
    body_id = SelectField(_l("Body"), coerce=int)
    unit = StringField(_l("Unit (科室/所)"), filters=STRIP, validators=[Length(max=80)])
    roles = MultiCheckboxField(_l("Roles"), choices=options(ROLE_LABELS), validators=[
        DataRequired(message=_l("Choose at least one role."))])
    legal_qualification_no = StringField(_l("Legal qualification number (法律职业资格证书编号)"), filters=STRIP,
                                         validators=[Length(max=60)])
    legal_adviser_appointment = StringField(_l("Appointment as legal adviser (法律顾问聘任)"), filters=STRIP,
                                            validators=[Length(max=200)])
    auxiliary = BooleanField(_l("Auxiliary staff (协管): never acts alone"))


class UserForm(_UserFields):
    username = StringField(_l("Username"), filters=STRIP, validators=[
        DataRequired(message=_l("Enter a username.")), Length(max=60)])
    password = PasswordField(_l("Initial password"), validators=[
        DataRequired(message=_l("Enter an initial password.")),
        Length(min=10, message=_l("The password must have at least 10 characters."))])
    confirm = PasswordField(_l("Repeat the password"), validators=[
        EqualTo("password", message=_l("The two passwords differ."))])


class UserEditForm(_UserFields):
    pass


class DeactivateForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), filters=STRIP, validators=[
        DataRequired(message=_l("Give the reason for deactivating the user.")), Length(max=500)])


class CalendarOverrideForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Enter a date."))])
    workday = SelectField(_l("That day is"), choices=[C("0", _l("a day off")), C("1", _l("a working day"))],
                          default="0")
    reason = StringField(_l("Reason"), filters=STRIP, validators=[
        DataRequired(message=_l("Give the reason for the change, e.g. the notice that decided it.")),
        Length(max=200)])


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(message=_l("Enter a new password.")),
        Length(min=10, message=_l("The password must have at least 10 characters."))])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        EqualTo("password", message=_l("The two passwords differ."))])


class CertificateForm(FlaskForm):
    number = StringField(_l("Certificate number (执法证号)"), filters=STRIP, validators=[
        DataRequired(message=_l("Enter the certificate number.")), Length(max=60)])
    issuer = StringField(_l("Issued by"), filters=STRIP, validators=[
        DataRequired(message=_l("Enter who issued the certificate.")), Length(max=120)])
    category = StringField(_l("Enforcement category (执法类别)"), filters=STRIP, validators=[
        DataRequired(message=_l("Enter the enforcement category.")), Length(max=120)])
    area = StringField(_l("Enforcement area (执法区域)"), filters=STRIP, validators=[
        DataRequired(message=_l("Enter the enforcement area.")), Length(max=120)])
    valid_from = DateField(_l("Valid from"), validators=[DataRequired(message=_l("Enter a date."))])
    valid_until = DateField(_l("Valid until"), validators=[DataRequired(message=_l("Enter a date."))])

    def validate_valid_until(self, field):
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(_l("The certificate cannot expire before it becomes valid."))


class CertificateStatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=options(CERT_STATUS_LABELS))
    reason = StringField(_l("Reason"), filters=STRIP, validators=[
        DataRequired(message=_l("Give the reason for the change of status.")), Length(max=200)])


class MatterForm(FlaskForm):
    body_id = SelectField(_l("Body"), coerce=int)
    code = StringField(_l("Code"), filters=STRIP, validators=[Length(max=40)])
    name = StringField(_l("Name of the matter"), filters=STRIP, validators=[Length(max=200)])
    category = SelectField(_l("Kind of power"), choices=options(MATTER_CATEGORY_LABELS))
    enforcement_category = StringField(_l("Enforcement category (执法类别) a certificate must cover"),
                                       filters=STRIP, validators=[Length(max=60)])
    legal_basis = TextAreaField(_l("Legal basis"), filters=STRIP)
    procedure = TextAreaField(_l("Procedure"), filters=STRIP)
    route = SelectField(_l("Legal route (rural houses)"), choices=options(ROUTE_LABELS))
    power_source = SelectField(_l("Source of the power"), choices=options(POWER_SOURCE_LABELS))
    delegation_document = StringField(_l("Delegation document (赋权文件)"), filters=STRIP,
                                      validators=[Length(max=200)])
    delegation_published_on = DateField(_l("Delegation published on"), validators=[Optional()])
    in_major_catalogue = BooleanField(_l("In the major-decision catalogue (重大执法决定法制审核目录)"))
    major_fine_person = DecimalField(_l("Fine that makes a decision major: natural person (¥)"), places=2,
                                     validators=[Optional(), NumberRange(min=0, message=_l("Cannot be negative."))])
    major_fine_org = DecimalField(_l("Fine that makes a decision major: organisation (¥)"), places=2,
                                  validators=[Optional(), NumberRange(min=0, message=_l("Cannot be negative."))])
    major_confiscation_value = DecimalField(
        _l("Value confiscated that makes a decision major (¥)"), places=2,
        validators=[Optional(), NumberRange(min=0, message=_l("Cannot be negative."))])
    active = BooleanField(_l("Active (inactive matters stay listed but cannot be used for new cases)"),
                          default=True)

    SERVICE_FIELDS = ("code", "name", "category", "enforcement_category", "legal_basis", "procedure", "route",
                      "power_source", "delegation_document", "delegation_published_on", "in_major_catalogue",
                      "major_fine_person", "major_fine_org", "major_confiscation_value", "active")

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in self.SERVICE_FIELDS}


class DiscretionBandForm(FlaskForm):
    """One band of a matter's discretion standard (裁量基准)."""

    circumstance = StringField(_l("Circumstance (情节)"), filters=STRIP, validators=[
        DataRequired(message=_l("Name the circumstance, e.g. 情节轻微, 一般, 严重.")), Length(max=120)])
    measures = TextAreaField(_l("What the band provides (处罚措施)"), filters=STRIP, validators=[Length(max=2000)])
    fine_min = DecimalField(_l("Lowest fine (¥)"), places=2,
                            validators=[Optional(), NumberRange(min=0, message=_l("Cannot be negative."))])
    fine_max = DecimalField(_l("Highest fine (¥)"), places=2,
                            validators=[Optional(), NumberRange(min=0, message=_l("Cannot be negative."))])
    sort = IntegerField(_l("Order in the list"), default=0, validators=[Optional()])

    def values(self) -> dict:
        return {"circumstance": self.circumstance.data or "", "measures": self.measures.data or "",
                "fine_min": self.fine_min.data, "fine_max": self.fine_max.data, "sort": self.sort.data or 0}


class TokenForm(FlaskForm):
    name = StringField(_l("Name of the token (e.g. the device)"), filters=STRIP, validators=[
        DataRequired(message=_l("Name the token (for example the device it is for).")), Length(max=80)])


# --- filters (GET, no CSRF) -------------------------------------------------------------

class _Filter(FlaskForm):
    class Meta:
        csrf = False


class UserFilterForm(_Filter):
    body = SelectField(_l("Body"), coerce=int, validate_choice=False)
    role = SelectField(_l("Role"), choices=[C("", _l("All"))] + options(ROLE_LABELS), validate_choice=False)
    active = SelectField(_l("Status"), choices=[C("", _l("All")), C("1", _l("Active")), C("0", _l("Deactivated"))],
                         validate_choice=False)


class CertificateFilterForm(_Filter):
    state = SelectField(_l("Show"), choices=[C("", _l("All")), C("expired", _l("Expired")),
                                             C("expiring", _l("Expiring within 60 days")),
                                             C("valid", _l("Valid")), C("not_yet_valid", _l("Not yet valid")),
                                             C("suspended", _l("Suspended")), C("revoked", _l("Revoked"))],
                        validate_choice=False)


class MatterFilterForm(_Filter):
    body = SelectField(_l("Body"), coerce=int, validate_choice=False)
    category = SelectField(_l("Kind of power"), choices=[C("", _l("All"))] + options(MATTER_CATEGORY_LABELS),
                           validate_choice=False)
    active = SelectField(_l("Status"), choices=[C("", _l("All")), C("1", _l("Active")), C("0", _l("Inactive"))],
                         validate_choice=False)


class AuditFilterForm(_Filter):
    action = StringField(_l("Action starts with"), filters=STRIP, validators=[Length(max=60)])
    object_type = StringField(_l("Object type"), filters=STRIP, validators=[Length(max=40)])
    case_id = IntegerField(_l("Case id"), validators=[Optional(), NumberRange(min=1)])
    actor = SelectField(_l("Actor"), coerce=int, validate_choice=False)
