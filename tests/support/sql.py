"""Counting the SQL statements a request runs (every engine of the app)."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

_COUNTING: ContextVar[bool] = ContextVar("counting_sql", default=False)


@contextmanager
def counting_sql(app: FastAPI) -> Iterator[list[str]]:
    """The statements the code inside the block runs (and tasks it starts), not those of the
    app's background jobs that happen to run meanwhile."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        if _COUNTING.get():
            statements.append(args[2])

    engines = app.state.runtime.database.sync_engines
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    token = _COUNTING.set(True)
    try:
        yield statements
    finally:
        _COUNTING.reset(token)
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
