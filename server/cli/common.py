"""What every file-loading command says when an import stops: in words, never a row of the file."""
from __future__ import annotations

import traceback
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from server.errors import GroundworkError


def import_stopped(exc: BaseException, file: Path) -> click.ClickException:
    """The message for an import that stopped on ``exc``: nothing was written, and why, without the row.

    A driver's message can quote the rows it was given, and a traceback's locals may hold one, so neither is
    shown: the SQLSTATE, or the place of a bug, is.
    """
    if isinstance(exc, GroundworkError):
        return click.ClickException(exc.message)
    if isinstance(exc, OSError):
        return click.ClickException(f"Cannot read {file}: {exc.strerror or exc}.")
    if isinstance(exc, SQLAlchemyError):
        state = getattr(getattr(exc, "orig", None), "sqlstate", None)
        return click.ClickException(
            f"The database refused the import ({type(exc).__name__}{', SQLSTATE ' + state if state else ''}); "
            "nothing was written. Please report this with the file's name.")
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return click.ClickException(
        f"The import stopped on an internal error ({type(exc).__name__} at {Path(frame.filename).name}:"
        f"{frame.lineno}); nothing was written. Please report this.")
