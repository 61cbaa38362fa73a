from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from portal.auth import passwords
from portal.forms import Form, LocaleField

EMAIL_VALIDATORS = [DataRequired(), Email(message=_l("Enter a valid e-mail address.")),
                    Length(max=254)]


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    """Fresh fields, so each form lists them where it declares them."""
    return (
        PasswordField(_l("New password"), validators=[DataRequired()],
                      description=_l("At least 10 characters. A few unrelated words make a "
                                     "strong password."),
                      render_kw={"autocomplete": "new-password"}),
        PasswordField(_l("Repeat the new password"),
                      validators=[DataRequired(), EqualTo(
                          "password", message=_l("The two passwords do not match."))],
                      render_kw={"autocomplete": "new-password"}),
    )


class NewPasswordMixin:
    """Checks ``password`` against the policy; forms declare the fields themselves."""

    def email_for_policy(self) -> str | None:
        return None

    def validate_password(self, field):
        problem = passwords.password_problem(field.data or "", email=self.email_for_policy())
        if problem:
            raise ValidationError(problem)


class LoginForm(Form):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Sign in"))


class RegisterForm(Form):
    """The first step: whether the address has an account or not, the answer is the
    same ("check your e-mail"); the password is chosen through the e-mailed link."""

    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)],
                               render_kw={"autocomplete": "name"})
    email = EmailField(_l("E-mail address"), validators=EMAIL_VALIDATORS,
                       render_kw={"autocomplete": "email"})
    locale = LocaleField(_l("Language"))
    submit = SubmitField(_l("Send me the link"))


class FinishRegistrationForm(NewPasswordMixin, Form):
    password, confirm = new_password_fields()
    submit = SubmitField(_l("Create account"))

    def __init__(self, *args, email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._email = email

    def email_for_policy(self) -> str | None:
        return self._email


class ForgotPasswordForm(Form):
    email = EmailField(_l("E-mail address"), validators=EMAIL_VALIDATORS,
                       render_kw={"autocomplete": "email"})
    submit = SubmitField(_l("Send reset link"))


class ResetPasswordForm(NewPasswordMixin, Form):
    password, confirm = new_password_fields()
    submit = SubmitField(_l("Set password"))

    def __init__(self, *args, email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._email = email

    def email_for_policy(self) -> str | None:
        return self._email


class SettingsForm(Form):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)],
                               render_kw={"autocomplete": "name"})
    locale = LocaleField(_l("Language"))
    submit = SubmitField(_l("Save settings"))


class ChangePasswordForm(NewPasswordMixin, Form):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    password, confirm = new_password_fields()
    submit = SubmitField(_l("Change password"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user

    def email_for_policy(self) -> str | None:
        return self._user.email if self._user else None

    def validate_current_password(self, field):
        if not passwords.verify_password(self._user.password_hash, field.data or ""):
            raise ValidationError(_l("Your current password is not correct."))
