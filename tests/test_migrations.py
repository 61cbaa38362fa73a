"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app

from portal.extensions import db


def test_migrations_match_the_models(app):
    # the test's own connection: a second one would wait for the write lock it holds
    # with the app's filter: the search index's dialect-specific tables and index
    # (portal.search.models.include_object) are the migration's, not the metadata's
    include = current_app.extensions["migrate"].configure_args["include_object"]
    context = MigrationContext.configure(db.session.connection(),
                                         opts={"compare_type": True, "include_object": include})
    differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_constraint_names_follow_the_convention(app):
    for table in db.metadata.sorted_tables:
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}"
