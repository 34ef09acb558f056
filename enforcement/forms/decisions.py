"""Forms of the notice, hearing and decision screens.

Forms check the shape of the input (a date, an amount in yuan, a choice from the list) and show
errors beside the fields; the conditions of the law (the 5 working days, the review of this
dossier, the notice's ceiling, the 90 days) are checked by the services, which list every unmet one.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice as C  # WTForms 3.3: options as SelectChoice, not tuples
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, ValidationError

from ..models import DecisionKind, DecisionType
from ..services.errors import DomainError
from ..services.major import decision_type_label
from ..services.notice import parse_money
from .cases import CaseActionForm, optional_int


def _money(what):
    """A validator: the field holds an amount in yuan (or nothing), as the services read it."""
    def check(_form, field):
        try:
            parse_money(field.data, str(what))
        except DomainError as exc:
            raise ValidationError(exc.message) from exc
    return check


class ProposalFields(CaseActionForm):
    """What a notice, a decision or a change orders: type, amounts, content and legal basis."""

    decision_type = SelectField(_l("Kind of decision"), validators=[
        InputRequired(_l("Choose the kind of decision.")), AnyOf([t.value for t in DecisionType],
                                                                  message=_l("Choose the kind of decision."))])
    fine_amount = StringField(_l("Fine (yuan)"), validators=[Optional(), Length(max=30), _money(_l("The fine"))],
                              render_kw={"inputmode": "decimal", "placeholder": "10000.00"})
    confiscation_value = StringField(_l("Value confiscated (yuan)"), validators=[
        Optional(), Length(max=30), _money(_l("The value confiscated"))],
        render_kw={"inputmode": "decimal"})
    content = TextAreaField(_l("The decision in words"), validators=[
        DataRequired(_l("Write out the decision: what is ordered and by when.")), Length(max=4000)])
    legal_basis = TextAreaField(_l("Legal basis"), validators=[
        DataRequired(_l("Give the legal basis.")), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision_type.choices = [C("", _l("— choose —"))] + [
            C(t.value, decision_type_label(t.value)) for t in DecisionType]


# --- notice and hearing (告知/听证) ------------------------------------------------------------------

class NoticeForm(ProposalFields):
    """行政处罚（听证）告知书: the intended decision told to the party, and how it was served."""

    served_on = DateField(_l("Served on"), default=date.today,
                          validators=[InputRequired(_l("Enter the date the notice was served."))])
    service_method = StringField(_l("How it was served"), validators=[Optional(), Length(max=200)],
                                 render_kw={"placeholder": _l("e.g. 直接送达, 留置送达 with a witness, 邮寄送达")})
    hearing_offered = BooleanField(_l("The notice tells the party of the right to a hearing (听证)"), default=True)


class StatementForm(CaseActionForm):
    """陈述申辩: what the party said in their defence, or that they expressly waived it."""

    statement = TextAreaField(_l("What the party said"), validators=[Optional(), Length(max=8000)])
    waived = BooleanField(_l("The party expressly waived the statement and defence"))


class HearingRequestForm(CaseActionForm):
    requested_on = DateField(_l("The party asked for a hearing on"), default=date.today,
                             validators=[InputRequired(_l("Enter the date of the request."))])


class HearingForm(CaseActionForm):
    held_on = DateField(_l("The hearing was held on"), validators=[InputRequired(_l("Enter the date of the hearing."))])
    record_id = SelectField(_l("Hearing record (听证笔录)"), coerce=optional_int,
                            validators=[InputRequired(_l("Choose the hearing record."))])

    def __init__(self, *args, records=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.record_id.choices = [C("", _l("— choose —"))] + [
            C(r.id, f"{r.original_filename} · {r.uploaded_at:%Y-%m-%d}") for r in records]


# --- the decision (决定) --------------------------------------------------------------------------------

class SignatureFields(ProposalFields):
    performance = TextAreaField(_l("How and by when it is to be carried out"), validators=[
        DataRequired(_l("Say how and by when the decision is to be carried out.")), Length(max=2000)],
        render_kw={"placeholder": _l("e.g. 自收到本决定书之日起十五日内自行拆除，罚款缴至指定银行")})
    password = PasswordField(_l("Your password (to sign)"), validators=[
        DataRequired(_l("Enter your password to sign."))], render_kw={"autocomplete": "current-password"})


class DecisionForm(SignatureFields):
    """The head's decision: the proposal, the discretion band, the performance and the signature."""

    discretion_band = SelectField(_l("Circumstance of the discretion standard (裁量基准)"), coerce=optional_int,
                                  validators=[Optional()])
    outside_band_reason = TextAreaField(_l("Why the fine departs from the band"), validators=[
        Optional(), Length(max=2000)])

    def __init__(self, *args, bands=(), band_label=str, **kwargs):
        super().__init__(*args, **kwargs)
        self.discretion_band.choices = [C("", _l("— none —"))] + [C(b.id, band_label(b)) for b in bands]


class ReplaceForm(SignatureFields):
    """Revoke (撤销) or change (变更) a final decision by a new one, with the reason."""

    kind = RadioField(_l("What is done"), default=DecisionKind.CHANGE.value, validators=[
        InputRequired(_l("Choose: revoke or change."))])
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(_l("Give the reason for revoking or changing the decision.")), Length(max=4000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [
            C(DecisionKind.REVOCATION.value, _l("Revoke the decision (撤销)")),
            C(DecisionKind.CHANGE.value, _l("Change the decision (变更): a new decision replaces it")),
        ]

    def validate(self, extra_validators=None):
        # A revocation orders nothing new: the proposal fields are not asked for.
        if self.kind.data == DecisionKind.REVOCATION.value:
            for name in ("decision_type", "fine_amount", "confiscation_value", "content", "legal_basis",
                         "performance"):
                field = getattr(self, name)
                field.validators = [Optional()]
                if name == "decision_type":
                    field.validate_choice = False
        return super().validate(extra_validators)


class ExtensionForm(CaseActionForm):
    """The head's approval to decide after the 90 days (行政处罚法 art. 60)."""

    new_due = DateField(_l("New limit"), validators=[InputRequired(_l("Enter the new limit."))])
    reason = TextAreaField(_l("Reason for the extension"), validators=[
        DataRequired(_l("Give the reason for the extension.")), Length(max=2000)])
