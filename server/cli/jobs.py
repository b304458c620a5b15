"""``flask jobs``: list the scheduler's jobs, or run one by name, now (server/jobs/scheduler.py JOBS)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="The scheduler's jobs, run by hand.")


def _shown(result: object) -> str:
    if isinstance(result, dict):
        return ", ".join(f"{key}={value}" for key, value in result.items()) or "nothing"
    return str(result)


@jobs_cli.command("list")
def list_command() -> None:
    """Every scheduled job: its name, when it runs, and the function it calls."""
    from server.jobs.scheduler import JOBS, describe_trigger

    width = max(len(j.name) for j in JOBS)
    for j in JOBS:
        click.echo(f"{j.name:<{width}}  {describe_trigger(j.trigger):<28}  {j.func.__module__}.{j.func.__name__}")


@jobs_cli.command("run")
@click.argument("name")
def run_command(name: str) -> None:
    """Run the job NAME now (its short name from `flask jobs list`, or its function's name)."""
    from server.jobs.scheduler import JOBS, find

    job = find(name)
    if job is None:
        raise click.BadParameter(f"no job is called {name!r}. The jobs are: {', '.join(j.name for j in JOBS)}.",
                                 param_hint="NAME")
    result = job.func()
    click.echo(f"{job.name}: {_shown(result)}")
