"""Forms of the challenge screens: record a reconsideration (行政复议) or suit (行政诉讼), and its outcome.

The forms check the shape of the input only (a readable date, lengths). Whether the challenge may
be recorded — a decision in force, a known kind, the forum named, a day not in the future — is
the service's (services.challenges) and comes back as the list of every unmet condition, so the
fields the service checks are optional here.

Several outcome forms share the case page: each is made with its own prefix (`outcome_prefix`),
so the ids of their fields stay unique.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice as C  # WTForms 3.3: options as SelectChoice, not tuples
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

RECORD_PREFIX = "new-challenge"


def outcome_prefix(challenge_id: int) -> str:
    return f"challenge-{challenge_id}"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


STRIP = [_strip]


def _choices(labels: dict) -> list:
    return [C("", _l("— choose —"))] + [C(code, label) for code, label in labels.items()]


class ChallengeForm(FlaskForm):
    """A reconsideration or suit, from the day the body received the copy of the application."""

    kind = SelectField(_l("Kind"), validate_choice=False)
    forum = StringField(_l("Reconsideration body or court"), filters=STRIP, validators=[Optional(), Length(max=120)])
    reference = StringField(_l("Its case number (optional)"), filters=STRIP, validators=[Optional(), Length(max=80)])
    received_on = DateField(_l("Copy of the application or complaint received on"), validators=[Optional()])

    def __init__(self, *args, labels=None, **kwargs):
        kwargs.setdefault("prefix", RECORD_PREFIX)
        super().__init__(*args, **kwargs)
        self.kind.choices = _choices(labels or {})


class OutcomeForm(FlaskForm):
    """The outcome of one challenge; it carries the version of the challenge the user saw."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    outcome = SelectField(_l("Outcome"), validate_choice=False)
    outcome_on = DateField(_l("Day of the outcome"), validators=[Optional()])
    note = TextAreaField(_l("Note (e.g. the number of the reconsideration decision or judgment)"), filters=STRIP,
                         validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, challenge_id: int, labels=None, **kwargs):
        kwargs.setdefault("prefix", outcome_prefix(challenge_id))
        super().__init__(*args, **kwargs)
        self.outcome.choices = _choices(labels or {})


def defence_prefix(challenge_id: int) -> str:
    return f"defence-{challenge_id}"


class DefenceForm(FlaskForm):
    """The day the defence and all the evidence were handed in; carries the challenge's version."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    submitted_on = DateField(_l("Defence and evidence handed in on"), validators=[Optional()])

    def __init__(self, *args, challenge_id: int, **kwargs):
        kwargs.setdefault("prefix", defence_prefix(challenge_id))
        super().__init__(*args, **kwargs)
