from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import accounts, bp, sessions, tokens
from portal.auth.forms import (
    ChangePasswordForm,
    FinishRegistrationForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    SettingsForm,
)
from portal.auth.loading import current_session
from portal.auth.throttle import LoginThrottle
from portal.extensions import db, limiter
from portal.forms import EmptyForm
from portal.i18n import select_locale
from portal.mail.outbox import dispatch
from portal.security import absolute_url, safe_next


def login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def home_for(user) -> str:
    return url_for("admin.home") if user.is_staff_member else url_for("main.home")


def start_session(user) -> None:
    """Sign in on a fresh session: nothing from before sign-in carries over, and the
    sign-in gets a row of its own that sign-out deletes."""
    session.clear()
    sessions.start(user, ip=request.remote_addr, user_agent=request.user_agent.string)
    login_user(user)
    session.permanent = True
    accounts.note_login(user)


def locked_message() -> str:
    return _("There have been too many failed attempts to sign in with this e-mail "
             "address, so sign-in from your network is paused for up to an hour. You can "
             "still sign in from another network, or reset your password by e-mail.")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        throttle = LoginThrottle(form.email.data, request.remote_addr)
        if throttle.refused():
            flash(locked_message(), "error")
            return render_template("auth/login.html", form=form), 429
        under_attack = throttle.account_locked()
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            accounts.note_failed_login(form.email.data)
            db.session.commit()
            throttle.failed()
            if under_attack:
                flash(locked_message(), "error")
                return render_template("auth/login.html", form=form), 429
            flash(_("The e-mail address or password is not correct."), "error")
        else:
            start_session(user)
            db.session.commit()
            if under_attack:
                flash(ngettext(
                    "There was %(num)d failed attempt to sign in to your account in the last "
                    "hour. If it was not yours, change your password in your account settings.",
                    "There were %(num)d failed attempts to sign in to your account in the last "
                    "hour. If they were not yours, change your password in your account "
                    "settings.", throttle.recent_failures()), "warning")
            return redirect(safe_next(request.args.get("next"), home_for(user)))
    return render_template("auth/login.html", form=form)


def mail_rate_limit() -> str:
    return current_app.config["MAIL_RATE_LIMIT"]


def submitted_address() -> str:
    """Rate-limit key for pages that e-mail the address typed: nobody can flood one inbox."""
    return "mail:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
@limiter.limit(mail_rate_limit, methods=["POST"], key_func=submitted_address)
def register():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegisterForm()
    if request.method == "GET":
        form.locale.data = select_locale()
    if form.validate_on_submit():
        accounts.request_registration(
            email=form.email.data, display_name=form.display_name.data,
            locale=form.locale.data,
            url_for_token=lambda token: absolute_url("auth.finish_registration", token=token),
            sign_in_url=absolute_url("auth.login"),
            reset_url=absolute_url("auth.forgot_password"))
        db.session.commit()
        dispatch()
        # the same answer whether or not the address already has an account
        return redirect(url_for("auth.registration_sent"))
    return render_template("auth/register.html", form=form)


@bp.get("/register/sent")
def registration_sent():
    return render_template("auth/registration_sent.html")


@bp.route("/register/finish/<token>", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def finish_registration(token: str):
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    try:
        registration = tokens.registration_for_token(token)
    except tokens.TokenExpired:
        flash(_("This link has expired. Please register again."), "error")
        return redirect(url_for("auth.register"))
    except tokens.TokenInvalid:
        flash(_("This link is not valid. Please register again."), "error")
        return redirect(url_for("auth.register"))
    form = FinishRegistrationForm(email=registration.email)
    if form.validate_on_submit():
        try:
            user = accounts.complete_registration(registration, password=form.password.data)
        except accounts.AccountError as error:
            flash(str(error), "info")
            return redirect(url_for("auth.login"))
        start_session(user)
        db.session.commit()
        flash(_("Welcome! Your account has been created and you are signed in."), "success")
        return redirect(url_for("main.home"))
    return render_template("auth/finish_registration.html", form=form,
                           registration=registration)


@bp.post("/logout")
@login_required
def logout():
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("main.home"))
    row = current_session()
    if row is not None:
        sessions.end(row)  # a copy of the cookie opens nothing from now on
    accounts.note_logout(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("main.home"))


def _reset_link(purpose: str):
    endpoint = "auth.accept_invitation" if purpose == tokens.INVITATION else "auth.reset_password"
    return lambda token: absolute_url(endpoint, token=token)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
@limiter.limit(mail_rate_limit, methods=["POST"], key_func=submitted_address)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data, locale=select_locale(),
                                        url_for_token=_reset_link(tokens.RESET),
                                        register_url=absolute_url("auth.register"))
        db.session.commit()
        dispatch()
        flash(_("If an account uses this address, we have sent it a link to reset the "
                "password. Please check your e-mail."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


def _set_password_page(token: str, purpose: str):
    try:
        user = tokens.user_for_token(token, purpose)
    except tokens.TokenExpired:
        flash(_("This link has expired. Please ask for a new one."), "error")
        return redirect(url_for("auth.forgot_password"))
    except tokens.TokenInvalid:
        flash(_("This link is not valid or has already been used. Please ask for a new one."),
              "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm(email=user.email)
    if form.validate_on_submit():
        accounts.set_password(user, form.password.data, actor=user,
                              action=f"auth.{purpose.replace('-', '_')}")
        db.session.commit()
        LoginThrottle(user.email, request.remote_addr).forgive_address()
        logout_user()
        session.clear()
        flash(_("Your password has been set. You can sign in now."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form,
                           invitation=purpose == tokens.INVITATION)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def reset_password(token: str):
    return _set_password_page(token, tokens.RESET)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def accept_invitation(token: str):
    return _set_password_page(token, tokens.INVITATION)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = SettingsForm(obj=current_user)
    password_form = ChangePasswordForm(user=current_user, prefix="pw")
    if form.submit.data and form.validate_on_submit():
        accounts.update_settings(current_user, display_name=form.display_name.data,
                                 locale=form.locale.data)
        db.session.commit()
        response = redirect(url_for("auth.settings"))
        response.set_cookie(current_app.config["LOCALE_COOKIE"], form.locale.data,
                            max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
        flash(_("Your settings have been saved."), "success")
        return response
    if password_form.submit.data and password_form.validate_on_submit():
        accounts.set_password(current_user, password_form.password.data, actor=current_user,
                              action="account.password_change", keep=current_session())
        db.session.commit()
        # the login id changed: keep this session signed in
        login_user(current_user._get_current_object())
        flash(_("Your password has been changed. Other devices have been signed out."),
              "success")
        return redirect(url_for("auth.settings"))
    return render_template("auth/settings.html", form=form, password_form=password_form,
                           **_sessions_context())


def _sessions_context() -> dict:
    return {"sign_ins": sessions.active(current_user), "this_sign_in": current_session(),
            "describe_device": sessions.describe_device}


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    if not sessions.end_one(current_user, session_id, current=current_session()):
        abort(404)
    db.session.commit()
    flash(_("That device has been signed out."), "success")
    return redirect(url_for("auth.settings", _anchor="sessions-title"))


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions():
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    ended = sessions.end_others(current_user, current=current_session())
    db.session.commit()
    flash(ngettext("%(num)d other device has been signed out.",
                   "%(num)d other devices have been signed out.", ended), "success")
    return redirect(url_for("auth.settings", _anchor="sessions-title"))
