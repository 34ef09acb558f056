"""Forms of the legal-review screens (法制审核): the officer's request, the reviewer's opinion, a
dispute, the collective discussion and lending the case to a reviewer of another body.

The forms check the shape of the input and show errors beside the fields; the conditions of the
law (the attestation, the discretion band, separation of duties, the outcome's consistency) are
the services' and come back as a list of unmet conditions.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, DateField, DecimalField, PasswordField, RadioField, SelectField, StringField,
                     TextAreaField)
from wtforms.fields.choices import SelectChoice as C  # WTForms 3.3: options as SelectChoice, not tuples
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from flask_wtf import FlaskForm

from ..models import DecisionType, ReviewStatus
from ..services.major import decision_type_label
from ..services.review import CHECKS, band_range
from .cases import optional_int


def _strip(value):
    return value.strip() if isinstance(value, str) else value


STRIP = [_strip]
MONEY = [Optional(), NumberRange(min=0, message=_l("Cannot be negative."))]


def band_fine(band) -> str:
    """A band's range of fines in words ("no fine range" when it sets none)."""
    if band.fine_min is None and band.fine_max is None:
        return str(_l("no fine range"))
    return band_range(band)


def band_label(band) -> str:
    """A band as an option: the circumstance, its range and what it provides."""
    label = f"{band.circumstance} · {band_fine(band)}"
    if band.measures:
        measures = band.measures if len(band.measures) <= 80 else band.measures[:79] + "…"
        label += f" · {measures}"
    return label


def _password() -> PasswordField:
    return PasswordField(_l("Your password (to sign)"), render_kw={"autocomplete": "current-password"},
                         validators=[DataRequired(message=_l("Enter your password: it signs this act."))])


class SubmitReviewForm(FlaskForm):
    """法制审核申请: the proposed decision, the discretion band, the handling unit's opinion, the attestation."""

    decision_type = SelectField(_l("Proposed decision"), validators=[
        InputRequired(message=_l("Choose the kind of decision."))])
    fine_amount = DecimalField(_l("Fine (¥)"), places=2, validators=MONEY)
    confiscation_value = DecimalField(_l("Value confiscated (¥)"), places=2, validators=MONEY)
    content = TextAreaField(_l("The decision in words (what is ordered and by when)"), filters=STRIP,
                            validators=[Length(max=4000)])
    legal_basis = TextAreaField(_l("Legal basis"), filters=STRIP, validators=[Length(max=2000)])
    discretion_band = SelectField(_l("Discretion standard (裁量基准): the circumstance that applies"),
                                  coerce=optional_int, validators=[Optional()])
    outside_band_reason = TextAreaField(_l("Reason for departing from the discretion standard"), filters=STRIP,
                                        validators=[Length(max=4000)])
    handler_opinion = TextAreaField(_l("Opinion of the handling unit (承办机构意见)"), filters=STRIP,
                                    validators=[Length(max=4000)])
    attest = BooleanField(_l("I attest that the case file is complete and true."))
    password = _password()

    def __init__(self, *args, bands=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.decision_type.choices = [C("", _l("— choose —"))] + [
            C(t.value, decision_type_label(t.value)) for t in DecisionType]
        self.discretion_band.choices = [C("", _l("— no band applies —"))] + [C(b.id, band_label(b)) for b in bands]


class SignReviewForm(FlaskForm):
    """法制审核意见: the nine checks (pass or problem, with a note), the opinion and the outcome."""

    opinion = TextAreaField(_l("Overall opinion (审核意见)"), filters=STRIP, validators=[
        DataRequired(message=_l("Write the overall opinion.")), Length(max=8000)])
    outcome = RadioField(_l("Outcome"), choices=[
        C(ReviewStatus.PASSED.value, _l("Pass (同意): the decision may be made on this dossier")),
        C(ReviewStatus.RETURNED.value, _l("Return for correction (退回补充、修改): the case goes back to investigation")),
        C(ReviewStatus.FAILED.value, _l("Fail (不同意): the proposed decision is not lawful")),
    ], validators=[InputRequired(message=_l("Choose the outcome."))])
    no_conflict = BooleanField(_l("I declare that I have no conflict of interest in this case (无利害关系)."))
    password = _password()

    def validate(self, extra_validators=None) -> bool:
        """Besides each field's own checks: a check answered "problem" needs its note, beside it."""
        valid = super().validate(extra_validators)
        for _code, _label, radio, note in self.check_fields():
            if radio.data == "problem" and not note.data:
                note.errors = [*note.errors, _l("Say what the problem is.")]
                valid = False
        return valid

    def check_fields(self) -> list[tuple[str, str, object, object]]:
        """(code, label, the radio, the note) for each of the nine checks, in order."""
        return [(code, str(label), getattr(self, f"check_{code}"), getattr(self, f"note_{code}"))
                for code, label in CHECKS]

    def checks(self) -> dict:
        """The answers as the review service takes them: code -> (passed or None, note)."""
        answers = {}
        for code, _label, radio, note in self.check_fields():
            passed = {"pass": True, "problem": False}.get(radio.data)
            answers[code] = (passed, note.data or "")
        return answers


for _code, _label in CHECKS:
    setattr(SignReviewForm, f"check_{_code}", RadioField(
        _label, choices=[C("pass", _l("pass")), C("problem", _l("problem"))],
        validators=[InputRequired(message=_l("Answer this check: pass or problem."))]))
    setattr(SignReviewForm, f"note_{_code}", StringField(
        _l("Note"), filters=STRIP, validators=[Length(max=2000)]))


class DisputeForm(FlaskForm):
    reason = TextAreaField(_l("Why you disagree with the review"), filters=STRIP, validators=[
        DataRequired(message=_l("Say why you disagree with the review.")), Length(max=4000)])


class DiscussionForm(FlaskForm):
    """集体讨论: held on, who took part, the conclusion and its uploaded record."""

    held_on = DateField(_l("Held on"), validators=[InputRequired(message=_l("Enter the date of the discussion."))])
    participants = TextAreaField(_l("Participants"), filters=STRIP, validators=[
        DataRequired(message=_l("Name the participants.")), Length(max=2000)])
    conclusion = TextAreaField(_l("Conclusion"), filters=STRIP, validators=[
        DataRequired(message=_l("Write the conclusion of the discussion.")), Length(max=8000)])
    record_id = SelectField(_l("Record of the discussion (集体讨论记录)"), coerce=optional_int, validators=[
        InputRequired(message=_l("Choose the record of the discussion."))])
    upholds_review = RadioField(_l("Does the discussion uphold the reviewer's opinion?"), choices=[
        C("yes", _l("Yes: the review stands; the officer corrects the case")),
        C("no", _l("No: the review is overruled; another reviewer reviews the case again"))],
        validators=[Optional()])

    def __init__(self, *args, records=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.record_id.choices = [C("", _l("— choose —"))] + [
            C(r.id, f"{r.original_filename} · {r.uploaded_at:%Y-%m-%d} · {r.sha256[:12]}…") for r in records]

    def upholds(self):
        return {"yes": True, "no": False}.get(self.upholds_review.data)


class AssignReviewerForm(FlaskForm):
    reviewer_id = SelectField(_l("Reviewer of another body"), coerce=optional_int, validators=[
        InputRequired(message=_l("Choose the reviewer."))])
    reason = TextAreaField(_l("Why a reviewer of another body reviews this case"), filters=STRIP, validators=[
        DataRequired(message=_l("Say why a reviewer of another body reviews this case.")), Length(max=2000)])

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.reviewer_id.choices = [C("", _l("— choose —"))] + [
            C(u.id, f"{u.name} · {u.body.name}" + (f" · {u.unit}" if u.unit else "")) for u in candidates]

