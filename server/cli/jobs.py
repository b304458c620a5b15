"""``flask jobs``: list the scheduler's jobs with each one's last run, or run one by name now (docs/jobs.md)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="The scheduler's jobs, run by hand.")


def _shown(result: object) -> str:
    if isinstance(result, dict):
        return ", ".join(f"{key}={value}" for key, value in result.items()) or "nothing"
    return str(result)


def _last(run) -> str:
    if run is None:
        return "never run"
    when = run.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    if run.status == "ok":
        return f"{when} ok: {_shown(run.result.get('result') if set(run.result or {}) == {'result'} else run.result)}"
    if run.status == "failed":
        return f"{when} FAILED: {(run.error or '').splitlines()[-1] if run.error else 'no detail'}"
    return f"{when} {run.status}"


@jobs_cli.command("list")
def list_command() -> None:
    """Every scheduled job: its name, when it runs, the function it calls and its last run; then whether a
    scheduler is running."""
    from server.jobs.scheduler import JOBS, describe_trigger
    from server.services.system import last_runs, scheduler_status

    runs = last_runs()
    width = max(len(j.name) for j in JOBS)
    for j in JOBS:
        click.echo(f"{j.name:<{width}}  {describe_trigger(j.trigger):<32}  {j.func.__module__}.{j.func.__name__}"
                   f"  last: {_last(runs.get(j.name))}")
    status = scheduler_status()
    if status["status"] == "running":
        click.echo(f"\nScheduler running: {status['lease']['owner']} (fence {status['lease']['fence']}), "
                   f"last heartbeat {status['lease']['heartbeat_at']:%H:%M:%S} UTC.")
    else:
        click.echo(f"\n{status['alert']}")


@jobs_cli.command("run")
@click.argument("name")
def run_command(name: str) -> None:
    """Run the job NAME now (its short name from `flask jobs list`, or its function's name), logged as a run
    by hand. Every job is idempotent: running it while the scheduler also runs it changes nothing twice."""
    from server.jobs.scheduler import JOBS, find, run_by_hand

    job = find(name)
    if job is None:
        raise click.BadParameter(f"no job is called {name!r}. The jobs are: {', '.join(j.name for j in JOBS)}.",
                                 param_hint="NAME")
    try:
        result = run_by_hand(job)
    except Exception as exc:
        raise click.ClickException(f"{job.name} failed: {type(exc).__name__}: {exc}") from None
    click.echo(f"{job.name}: {_shown(result)}")
