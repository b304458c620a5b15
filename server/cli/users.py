"""``flask users``: create and disable accounts from the command line (first admin, scripted set-up)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from server.errors import GroundworkError
from server.models import Role
from server.services import accounts

users_cli = AppGroup("users", help="Create and manage user accounts.")


def _scope_option(value: str | None) -> tuple[str | None, str | None]:
    """``--scope`` is ``clp:CODE``, ``region:CODE`` or ``nation``."""
    if value is None or value == "nation":
        return None, None
    kind, _, code = value.partition(":")
    if kind in {"clp", "constituency"} and code:
        return code, None
    if kind == "region" and code:
        return None, code
    raise click.BadParameter("use clp:CODE, region:CODE or nation", param_hint="--scope")


def _fail(exc: GroundworkError) -> click.ClickException:
    lines = [exc.message]
    if isinstance(exc.details, dict):
        lines += [f"  {field}: {'; '.join(map(str, msgs))}" for field, msgs in exc.details.items()]
    return click.ClickException("\n".join(lines))


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--scope", help="clp:CODE for CLP roles, region:CODE for regional staff, nation for national admins")
@click.password_option(help="Prompted for (twice) when not given.")
def create(email: str, name: str, role: str, scope: str | None, password: str) -> None:
    """Create an account whose scope matches its role."""
    constituency_code, region_code = _scope_option(scope)
    try:
        user = accounts.create_user(
            email=email, name=name, password=password, role=role,
            constituency_code=constituency_code, region_code=region_code,
        )
    except GroundworkError as exc:
        raise _fail(exc) from exc
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}, scope {scope or 'nation'}).")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Disable an account and sign out all its devices; its records are kept."""
    try:
        user = accounts.deactivate_user(email)
    except GroundworkError as exc:
        raise _fail(exc) from exc
    click.echo(f"Deactivated {user.email}; {len(user.devices)} device(s) signed out.")
