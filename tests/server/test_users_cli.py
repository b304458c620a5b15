"""``flask users``: the first admin and scripted accounts are made from the command line."""
from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.models import AuditEvent, Role, User
from tests.factories import make_world


def test_an_operator_creates_a_clp_admin_from_the_command_line(runner, client):
    world = make_world()
    result = runner.invoke(args=[
        "users", "create", "--email", "New.Admin@example.test", "--name", "New Admin", "--role", "clp_admin",
        "--scope", f"clp:{world.home.constituency.code}", "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "new.admin@example.test"))
    assert user.role == Role.CLP_ADMIN and user.constituency_id == world.home.constituency.id
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create",
                                                      AuditEvent.target_id == str(user.id)))
    login = client.post("/api/v1/auth/login", json={"email": "new.admin@example.test",
                                                    "password": "a long enough password", "device_name": "laptop"})
    assert login.status_code == 201


def test_a_scope_that_does_not_fit_the_role_is_refused_with_the_reason(runner):
    make_world()
    result = runner.invoke(args=["users", "create", "--email", "r@example.test", "--name", "R",
                                 "--role", "regional_staff", "--scope", "clp:E14000001",
                                 "--password", "a long enough password"])
    assert result.exit_code != 0
    assert "region" in result.output
    result = runner.invoke(args=["users", "create", "--email", "c@example.test", "--name", "C",
                                 "--role", "canvasser", "--scope", "clp:NOPE", "--password", "a long enough password"])
    assert result.exit_code != 0
    assert "NOPE" in result.output


def test_a_short_password_and_a_duplicate_email_are_refused(runner):
    world = make_world()
    scope = f"clp:{world.home.constituency.code}"
    short = runner.invoke(args=["users", "create", "--email", "s@example.test", "--name", "S", "--role", "canvasser",
                                "--scope", scope, "--password", "short"])
    assert short.exit_code != 0 and "password" in short.output
    duplicate = runner.invoke(args=["users", "create", "--email", "canvasser@example.test", "--name", "S",
                                    "--role", "canvasser", "--scope", scope, "--password", "a long enough password"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output


def test_deactivating_a_volunteer_keeps_their_account_for_the_record(runner):
    make_world()
    result = runner.invoke(args=["users", "deactivate", "canvasser@example.test"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "canvasser@example.test"))
    assert user.active is False and user.deactivated_at is not None
