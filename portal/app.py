"""The application factory, in named steps."""

from __future__ import annotations

import logging

from flask import Flask

from portal import database, errors, i18n, routing, security
from portal.audit import recording
from portal.config import PACKAGE_ROOT, load_config
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate


def create_app(env_name: str | None = None, overrides: dict | None = None) -> Flask:
    settings = load_config(env_name, overrides)
    app = Flask("portal", instance_path=settings["INSTANCE_PATH"], instance_relative_config=True)
    app.config.update(settings)
    configure_logging(app)
    register_extensions(app)
    register_url_converters(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_cli(app)
    security.init_app(app)
    return app


def configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register_extensions(app: Flask) -> None:
    import portal.models  # noqa: F401  (every model is known to the metadata)

    db.init_app(app)
    database.init_app(app)
    recording.init_app(app)
    from portal.search.models import include_object

    migrate.init_app(app, db, directory=str(PACKAGE_ROOT / "migrations"), render_as_batch=True,
                     include_object=include_object)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    limiter.init_app(app)
    login_manager.init_app(app)
    from portal.auth import loading

    loading.init_login_manager(login_manager)
    loading.init_app(app)


def register_url_converters(app: Flask) -> None:
    routing.init_app(app)


def register_blueprints(app: Flask) -> None:
    from portal.admin import views as admin_views
    from portal.api import admin_views as api_admin_views
    from portal.api import views as api_views
    from portal.auth import views as auth_views
    from portal.community import admin_bp as community_admin_bp
    from portal.community import bp as community_bp
    from portal.community import moderation_views as _community_moderation  # noqa: F401
    from portal.community import search_views as _community_search  # noqa: F401
    from portal.community import staff_views as _community_staff  # noqa: F401
    from portal.community import views as _community_views  # noqa: F401  (routes)
    from portal.engagement import views as engagement_views
    from portal.faq import admin_bp as faq_admin_bp
    from portal.faq import admin_views as _faq_admin  # noqa: F401  (routes)
    from portal.faq import bp as faq_bp
    from portal.faq import suggestions as _faq_suggestions  # noqa: F401  (inquiry hook)
    from portal.faq import views as _faq_views  # noqa: F401  (routes)
    from portal.imports import views as import_views
    from portal.inquiries import admin_bp as inquiries_admin_bp
    from portal.inquiries import admin_views as _inquiry_admin  # noqa: F401  (routes)
    from portal.inquiries import bp as inquiries_bp
    from portal.inquiries import loop as _inquiry_loop  # noqa: F401  (hooks, template globals)
    from portal.inquiries import settings_views as _inquiry_settings  # noqa: F401
    from portal.inquiries import views as _inquiry_views  # noqa: F401
    from portal.main import views as main_views
    from portal.open311 import admin_bp as open311_admin_bp
    from portal.open311 import admin_views as _open311_admin  # noqa: F401
    from portal.open311 import bp as open311_bp
    from portal.open311 import views as _open311_views  # noqa: F401
    from portal.outreach import admin_bp as outreach_admin_bp
    from portal.outreach import views as _outreach_views  # noqa: F401  (routes)
    from portal.playbooks import admin_bp as playbooks_admin_bp
    from portal.playbooks import views as _playbook_views  # noqa: F401  (routes)
    from portal.residents import admin_views as residents_admin_views
    from portal.residents import views as residents_views
    from portal.services import admin_views as services_admin_views
    from portal.services import views as services_views
    from portal.surveys import admin_views as _survey_admin  # noqa: F401  (routes)
    from portal.surveys import invitation_views as _invitations  # noqa: F401
    from portal.surveys import results_views as _results  # noqa: F401
    from portal.surveys import views as survey_views
    from portal.work import bp as work_bp
    from portal.work import start_views as _work_start  # noqa: F401  (routes)
    from portal.work import views as _work_views  # noqa: F401  (routes)

    app.register_blueprint(main_views.bp)
    app.register_blueprint(auth_views.bp, url_prefix="/account")
    app.register_blueprint(services_views.bp, url_prefix="/services")
    app.register_blueprint(residents_views.bp, url_prefix="/my")
    app.register_blueprint(admin_views.bp, url_prefix="/admin")
    app.register_blueprint(services_admin_views.admin_bp, url_prefix="/admin")
    app.register_blueprint(engagement_views.admin_bp, url_prefix="/admin")
    app.register_blueprint(residents_admin_views.admin_bp, url_prefix="/admin/residents")
    app.register_blueprint(import_views.bp, url_prefix="/admin/imports")
    app.register_blueprint(api_admin_views.admin_bp, url_prefix="/admin/api-tokens")
    app.register_blueprint(survey_views.bp, url_prefix="/surveys")
    app.register_blueprint(survey_views.admin_bp, url_prefix="/admin/surveys")
    app.register_blueprint(inquiries_bp, url_prefix="/inquiries")
    app.register_blueprint(inquiries_admin_bp, url_prefix="/admin/inquiries")
    app.register_blueprint(open311_admin_bp, url_prefix="/admin/open311")
    app.register_blueprint(open311_bp, url_prefix="/open311/v2")
    app.register_blueprint(playbooks_admin_bp, url_prefix="/admin/playbooks")
    app.register_blueprint(work_bp, url_prefix="/admin/work")
    app.register_blueprint(outreach_admin_bp, url_prefix="/admin/outreach")
    app.register_blueprint(community_bp, url_prefix="/community")
    app.register_blueprint(community_admin_bp, url_prefix="/admin/community")
    app.register_blueprint(faq_bp, url_prefix="/faq")
    app.register_blueprint(faq_admin_bp, url_prefix="/admin/faq")
    csrf.exempt(open311_bp)  # api_key in the form, no cookies: CSRF does not apply
    app.register_blueprint(api_views.bp, url_prefix="/api/v1")
    csrf.exempt(api_views.bp)  # bearer tokens, no cookies: CSRF does not apply


def register_errorhandlers(app: Flask) -> None:
    errors.init_app(app)


def register_template_helpers(app: Flask) -> None:
    from portal.forms import EmptyForm
    from portal.i18n_fields import localized, localized_pair
    from portal.permissions import can

    i18n.init_app(app)
    app.jinja_env.add_extension("jinja2.ext.do")
    from portal.audit.labels import ACTION_LABELS, action_label, target_label
    from portal.engagement.explain import (
        BAND_LABELS,
        MEASURE_LABELS,
        NEEDS_ATTENTION,
        NEEDS_ATTENTION_DEFINITION,
        TREND_LABELS,
        band_badge,
        trend_word,
    )
    from portal.inquiries.labels import CATEGORY_LABELS as INQUIRY_CATEGORY_LABELS
    from portal.inquiries.labels import CHANNEL_LABELS as INQUIRY_CHANNEL_LABELS
    from portal.inquiries.labels import STATUS_LABELS as INQUIRY_STATUS_LABELS
    from portal.inquiries.sla import due_day
    from portal.residents.districts import district_name
    from portal.residents.operations import CONTACT_LABELS
    from portal.services.eligibility import describe
    from portal.services.usage import CHANNEL_LABELS, kind_label, source_label

    def empty_form() -> EmptyForm:
        # never reads the request body: pages such as the 413 page render it too
        return EmptyForm(formdata=None)

    app.jinja_env.globals.update(can=can, localized=localized, localized_pair=localized_pair,
                                 empty_form=empty_form, describe_rule=describe,
                                 CHANNEL_LABELS=CHANNEL_LABELS, BAND_LABELS=BAND_LABELS,
                                 TREND_LABELS=TREND_LABELS, MEASURE_LABELS=MEASURE_LABELS,
                                 NEEDS_ATTENTION=NEEDS_ATTENTION,
                                 NEEDS_ATTENTION_DEFINITION=NEEDS_ATTENTION_DEFINITION,
                                 CONTACT_LABELS=CONTACT_LABELS, ACTION_LABELS=ACTION_LABELS,
                                 band_badge=band_badge, trend_word=trend_word,
                                 INQUIRY_CATEGORY_LABELS=INQUIRY_CATEGORY_LABELS,
                                 INQUIRY_CHANNEL_LABELS=INQUIRY_CHANNEL_LABELS,
                                 INQUIRY_STATUS_LABELS=INQUIRY_STATUS_LABELS)
    # stored codes → words in the reader's language (no raw code on a page)
    app.jinja_env.filters.update(kind_label=kind_label, source_label=source_label,
                                 action_label=action_label, target_label=target_label,
                                 district_name=district_name, due_day=due_day)

    @app.context_processor
    def municipality():
        from portal.i18n_fields import current_locale

        locale = current_locale()
        return {"municipality_name": i18n.municipality_name(locale), "current_locale": locale}


def register_cli(app: Flask) -> None:
    from portal.cli import register

    register(app)
