"""API tokens in the console (administrators only)."""

from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api import admin_bp, tokens
from portal.api.forms import NewApiTokenForm
from portal.api.models import ApiToken
from portal.extensions import db
from portal.forms import EmptyForm
from portal.permissions import can_manage_api_tokens, permission_required


@admin_bp.get("/")
@permission_required(can_manage_api_tokens)
def tokens_list():
    stmt = (select(ApiToken).options(selectinload(ApiToken.created_by))
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                      ApiToken.id.desc()))
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("api_tokens/list.html", page=page)


@admin_bp.route("/new", methods=["GET", "POST"])
@permission_required(can_manage_api_tokens)
def token_new():
    form = NewApiTokenForm()
    if form.validate_on_submit():
        token, value = tokens.create_token(actor=current_user, name=form.name.data,
                                           departments=form.selected_departments())
        db.session.commit()
        # The value is shown once, on this very response: never in a URL, the session
        # or a flash message, and never cached.
        response = make_response(render_template("api_tokens/created.html", token=token,
                                                 value=value))
        response.headers["Cache-Control"] = "no-store"
        return response
    return render_template("api_tokens/new.html", form=form)


@admin_bp.post("/<int:token_id>/revoke")
@permission_required(can_manage_api_tokens)
def token_revoke(token_id: int):
    token = db.get_or_404(ApiToken, token_id)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("api_tokens.tokens_list"))
    if tokens.revoke_token(actor=current_user, token=token):
        db.session.commit()
        flash(_("The token “%(name)s” has been revoked. Requests with it are refused from now "
                "on.", name=token.name), "success")
    else:
        flash(_("The token “%(name)s” was revoked already.", name=token.name), "info")
    return redirect(url_for("api_tokens.tokens_list"))
