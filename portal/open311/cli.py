"""``portal open311 create-key --name NAME --department CODE [--department CODE …]``
(prints the key once), ``portal open311 list-keys`` and ``portal open311
revoke-key ID``: Open311 api_keys from the command line, as in the console."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.group("open311")
def open311_group() -> None:
    """Open311 GeoReport v2 api_keys."""


@open311_group.command("create-key")
@click.option("--name", required=True, help="Which app uses the key.")
@click.option("--department", "departments", multiple=True, required=True, metavar="CODE",
              help="A department whose services the key may post requests for (repeat for "
                   "several).")
@with_appcontext
def create_key_command(name: str, departments: tuple[str, ...]) -> None:
    """Create a key and print it (only this once: the portal keeps its digest)."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.open311 import keys
    from portal.services.models import Department

    codes = list(dict.fromkeys(d.strip() for d in departments))
    found = {d.code: d for d in db.session.scalars(
        select(Department).where(Department.code.in_(codes)))}
    unknown = [c for c in codes if c not in found]
    if unknown:
        known = ", ".join(db.session.scalars(select(Department.code).order_by(Department.code)))
        click.echo(f"error: no department {', '.join(unknown)} (departments: {known})", err=True)
        sys.exit(1)
    try:
        key, value = keys.create_key(actor=None, name=name,
                                     departments=[found[c] for c in codes])
    except keys.Open311KeyError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Open311 key {key.id} “{key.name}” for {', '.join(codes)}. "
               "Copy it now: it is not shown again.", err=True)
    click.echo(value)


@open311_group.command("list-keys")
@with_appcontext
def list_keys_command() -> None:
    """The keys: id, beginning, name, departments, status."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.inquiries.models import Open311Key

    for key in db.session.scalars(select(Open311Key).order_by(Open311Key.id)):
        status = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d}"
        departments = ",".join(d.code for d in key.departments)
        click.echo(f"{key.id}\t{key.prefix}…\t{key.name}\t{departments}\t{status}")


@open311_group.command("revoke-key")
@click.argument("key_id", type=int)
@with_appcontext
def revoke_key_command(key_id: int) -> None:
    """Revoke key KEY_ID (see list-keys): requests with it are refused from now on."""
    from portal.extensions import db
    from portal.inquiries.models import Open311Key
    from portal.open311 import keys

    key = db.session.get(Open311Key, key_id)
    if key is None:
        click.echo(f"error: there is no Open311 key {key_id}", err=True)
        sys.exit(1)
    if keys.revoke_key(actor=None, key=key):
        db.session.commit()
        click.echo(f"Open311 key {key_id} “{key.name}” revoked.")
    else:
        click.echo(f"Open311 key {key_id} was revoked already.")
