"""Structured logs: one JSON object per line on stdout, request and trace ids on every line.

structlog renders with orjson and writes bytes straight to stdout; the stdlib loggers of uvicorn,
SQLAlchemy and Alembic are routed through the same renderer so that a deployment sees one format.
"""

import logging
import sys
from contextvars import ContextVar
from typing import IO, Any, Literal

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogFormat = Literal["json", "console"]

request_id_var: ContextVar[str | None] = ContextVar("agora_request_id", default=None)
trace_id_var: ContextVar[str | None] = ContextVar("agora_trace_id", default=None)

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _add_request_context(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    request_id = request_id_var.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
        event.setdefault("trace_id", trace_id_var.get())
    return event


def _orjson_text(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


class _LineLogger:
    """A structlog logger that writes each rendered line to a binary stream.

    Without an explicit stream it looks `sys.stdout` up on every write, so that a replaced stdout
    (pytest's capture, a supervisor) is honoured.
    """

    def __init__(self, stream: IO[bytes] | None, name: str | None = None) -> None:
        self._stream = stream
        self.name = name

    def msg(self, message: bytes | str) -> None:
        line = (message if isinstance(message, bytes) else message.encode()) + b"\n"
        if self._stream is not None:
            self._stream.write(line)
            self._stream.flush()
            return
        out = sys.stdout
        out.buffer.write(line)
        out.flush()

    debug = info = warning = warn = error = critical = exception = fatal = msg


class _LineLoggerFactory:
    def __init__(self, stream: IO[bytes] | None) -> None:
        self._stream = stream

    def __call__(self, *args: Any) -> _LineLogger:
        return _LineLogger(self._stream, args[0] if args else None)


def _add_logger_name(logger: WrappedLogger, _: str, event: EventDict) -> EventDict:
    name = getattr(logger, "name", None)
    if name is not None:
        event.setdefault("logger", name)
    return event


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes stdlib log records to the current `sys.stdout` (or the given text stream)."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        super().__init__()
        self._bytes = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _LineLogger(self._bytes).msg(self.format(record))
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def configure_logging(
    level: str = "info", fmt: LogFormat = "json", stream: IO[bytes] | None = None
) -> None:
    """Configure structlog and the stdlib root logger. Safe to call more than once."""
    numeric = _LEVELS.get(level, logging.INFO)
    shared: list[Processor] = [
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        structlog.processors.add_log_level,
        _add_request_context,
    ]
    renderer: Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps, default=str)
    structlog.configure(
        processors=[
            *shared,
            _add_logger_name,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_LineLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )

    text_renderer: Processor = (
        renderer if fmt == "console" else structlog.processors.JSONRenderer(serializer=_orjson_text)
    )
    handler = _StdoutHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                text_renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    # uvicorn's own access log would duplicate ours; its error log goes through the handler above.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "alembic"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A named structlog logger (the name is carried as `logger` on each line)."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger
