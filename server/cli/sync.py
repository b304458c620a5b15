"""``flask sync``: operator commands for the sync engine."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from server.services import sync

sync_cli = AppGroup("sync", help="Sync engine maintenance.")


@sync_cli.command("rebuild")
@click.option("--chunk", default=10000, show_default=True, help="Electors folded per transaction.")
def rebuild(chunk: int) -> None:
    """Recompute every elector's derived state from all their events (same result as incremental)."""
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        click.echo(f"  {done:,} / {total:,} electors", err=True)

    count = sync.rebuild(chunk=chunk, progress=progress)
    click.echo(f"Rebuilt the state of {count:,} electors in {time.perf_counter() - started:.1f}s.")


@sync_cli.command("reconcile-queued")
def reconcile_queued() -> None:
    """Fold the electors waiting in the reconciliation queue now (the scheduler does this every minute)."""
    total = 0
    while (done := sync.reconcile_queued()):
        total += done
    click.echo(f"Reconciled {total:,} queued electors.")
