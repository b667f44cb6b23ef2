"""The one exception type for bad input, and how the command line reports it."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input from outside the program: a file, an event, a field, a config value.

    The command line prints it as one line and exits with status 1; a bug in the program still
    raises with its traceback.

    Parameters
    ----------
    path : str or Path or None
        The file the problem is in.
    message : str
        What is wrong, in words a physicist can act on.
    event : int or None
        The event number (the ``event`` branch), or the entry index when that is all there is.
    field : str or None
        The branch, config key or column at fault.
    """

    def __init__(
        self,
        path: str | Path | None,
        message: str,
        *,
        event: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.event = event
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.event is not None:
            where.append(f"event {self.event}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message
