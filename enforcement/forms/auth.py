from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(message=_l("Enter your username."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(message=_l("Enter your password."))])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(message=_l("Enter your current password."))])
    new = PasswordField(_l("New password"), validators=[
        DataRequired(message=_l("Enter a new password.")),
        Length(min=10, message=_l("The password must have at least 10 characters."))])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        EqualTo("new", message=_l("The two passwords differ."))])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change state."""
