from __future__ import annotations

from flask import current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text

from portal.auth import accounts
from portal.extensions import db, limiter
from portal.forms import LanguageForm
from portal.main import bp
from portal.security import safe_next


@bp.get("/")
def home():
    if current_user.is_authenticated and current_user.is_staff_member:
        return redirect(url_for("admin.home"))
    return render_template("main/home.html")


@bp.post("/language")
def set_language():
    form = LanguageForm()
    target = safe_next(form.next.data, url_for("main.home"))
    if not form.validate_on_submit():
        return redirect(target)
    if current_user.is_authenticated:
        accounts.set_locale(current_user, form.locale.data)
        db.session.commit()
    response = redirect(target)
    response.set_cookie(current_app.config["LOCALE_COOKIE"], form.locale.data,
                        max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """For load balancers: 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        current_app.logger.exception("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.app_context_processor
def language_switch():
    def language_form(code: str) -> LanguageForm:
        return LanguageForm(formdata=None, locale=code, next=request.full_path.rstrip("?"))

    return {"language_form": language_form}
