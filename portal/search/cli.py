"""``portal search …``"""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext


@click.group("search")
def search_group() -> None:
    """The search index of the community and the FAQ."""


@search_group.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Build the search index from scratch (every published post and FAQ entry)."""
    from portal.extensions import db
    from portal.search.indexing import reindex

    started = time.perf_counter()
    count = reindex()
    db.session.commit()
    seconds = time.perf_counter() - started
    click.echo(f"Indexed {count} documents in {seconds:.1f} s "
               f"({count / seconds if seconds else 0:.0f} rows/s).")
