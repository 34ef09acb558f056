"""Forms of the staff disclosure screens (行政执法公示): the masked copy, publish, hold, release,
found unlawful, withdraw, the demolition notice and the disclosure settings.

Every action on a publication carries the version the user saw (optimistic locking: the service
answers Conflict when someone changed it first). The forms check the shape of the input only; the
conditions of the law (no personal data left, a lawful reason to hold back, a reason to withdraw)
are the service's and come back as a list of unmet conditions.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, RadioField, SelectField,
                     TextAreaField)
from wtforms.fields.choices import SelectChoice as C  # WTForms 3.3: options as SelectChoice, not tuples
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput


def _strip(value):
    return value.strip() if isinstance(value, str) else value


STRIP = [_strip]


class PublicationActionForm(FlaskForm):
    """Every action on a publication carries the version the user saw."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class MaskedTextForm(PublicationActionForm):
    """The masked copy the public will read, as the officer corrected it (Save, Check, Publish)."""

    text = TextAreaField(_l("Text to publish (masked copy)"), validators=[
        DataRequired(_l("The text to publish is empty.")), Length(max=20000)])


class HoldForm(PublicationActionForm):
    """The head holds a case back from publication, with a reason the law allows and words."""

    reason = SelectField(_l("Why it is not published"), validators=[
        InputRequired(_l("Choose the reason the case is not published."))])
    detail = TextAreaField(_l("Explanation (kept and shown to auditors)"), filters=STRIP, validators=[
        DataRequired(_l("Explain in words why this case is not published.")), Length(max=4000)])

    def __init__(self, *args, reasons=(), labels=None, **kwargs):
        super().__init__(*args, **kwargs)
        labels = labels or {}
        self.reason.choices = [C("", _l("— choose —"))] + [C(r, labels.get(r, r)) for r in reasons]


class FoundUnlawfulForm(PublicationActionForm):
    """The head records that the decision was found unlawful or invalid (e.g. by supervision)."""

    cause = TextAreaField(_l("Why the decision is found unlawful or invalid (internal)"), filters=STRIP, validators=[
        DataRequired(_l("Say why the decision is found unlawful or invalid.")), Length(max=4000)])


class WithdrawForm(PublicationActionForm):
    """Take a published notice down with the reason the public reads (行政处罚法 art. 48)."""

    reason = TextAreaField(_l("Reason the public reads"), filters=STRIP, validators=[
        DataRequired(_l("Give the reason the public will read.")), Length(max=4000)])


class DemolitionNoticeForm(FlaskForm):
    """限期自行拆除公告 (行政强制法 art. 44): the day by which the party is to demolish, and a note."""

    self_demolition_by = DateField(_l("The party is to demolish by"), validators=[
        InputRequired(_l("Enter the self-demolition deadline."))])
    note = TextAreaField(_l("Additional text of the notice (optional)"), filters=STRIP,
                         validators=[Optional(), Length(max=2000)])


def _lines_field(label, help_text=None):
    return TextAreaField(label, description=help_text, validators=[Optional(), Length(max=10000)])


class SettingsForm(FlaskForm):
    """The disclosure rules (one settings row). `loaded` is when the page's copy was last changed."""

    loaded = HiddenField()
    publish_scope = RadioField(_l("Which general-procedure penalties are published"), choices=[
        C("all", _l("Every general-procedure penalty (most provinces)")),
        C("social_impact", _l("Only penalties with social impact (行政处罚法 art. 48); the others are held back "
                              "by the head with that reason")),
    ], validators=[InputRequired(_l("Choose which penalties are published.")), AnyOf(["all", "social_impact"])])
    keep_online_months = IntegerField(_l("Months a notice stays online after publication"), validators=[
        InputRequired(_l("Enter the number of months.")),
        NumberRange(min=1, max=600, message=_l("The keep-online period is between 1 and 600 months."))])
    due_soon_days = IntegerField(_l("'Due soon': working days before the deadline"), validators=[
        InputRequired(_l("Enter the number of working days.")),
        NumberRange(min=0, max=20, message=_l("'Due soon' is between 0 and 20 working days."))])
    mask_party_name = BooleanField(_l("Shorten a natural person's name (张三 → 张某)"))
    remove_id_numbers = BooleanField(_l("Remove ID numbers"))
    remove_phones = BooleanField(_l("Remove phone numbers"))
    remove_bank_accounts = BooleanField(_l("Remove bank account numbers"))
    remove_health = BooleanField(_l("Remove health information"))
    remove_other_names = BooleanField(_l("Remove the names of natural persons other than the party"))
    village_level_address = BooleanField(_l("Give the place at village level only (no house number, no home "
                                            "address)"))
    health_terms = _lines_field(_l("Health terms to remove"), _l("One per line. Empty: the built-in list."))
    name_cues = _lines_field(_l("Words that introduce a person's name"),
                             _l("One per line (e.g. 证人, 邻居). Empty: the built-in list."))
    extra_terms = _lines_field(_l("Other words always removed"), _l("One per line."))

    BOOLEAN_FIELDS = ("mask_party_name", "remove_id_numbers", "remove_phones", "remove_bank_accounts",
                      "remove_health", "remove_other_names", "village_level_address")

    def values(self, names) -> dict:
        """The submitted values of these settings, as the service takes them."""
        return {name: getattr(self, name).data if getattr(self, name).data is not None else "" for name in names}
