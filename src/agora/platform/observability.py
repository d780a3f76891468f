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


_sink: IO[bytes] | None = None
"""Where log lines go: the stream given to `configure_logging`, else the current stdout."""


class _LineLogger:
    """A structlog logger that writes each rendered line to the sink.

    The sink is looked up on every write, so loggers cached before a reconfiguration, and a
    replaced stdout (pytest's capture, a supervisor), are honoured.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def msg(self, message: bytes | str) -> None:
        line = (message if isinstance(message, bytes) else message.encode()) + b"\n"
        if _sink is not None:
            _sink.write(line)
            _sink.flush()
            return
        out = sys.stdout
        out.buffer.write(line)
        out.flush()

    debug = info = warning = warn = error = critical = exception = fatal = msg


def _line_logger(*args: Any) -> _LineLogger:
    return _LineLogger(args[0] if args else None)


def _add_logger_name(logger: WrappedLogger, _: str, event: EventDict) -> EventDict:
    name = getattr(logger, "name", None)
    if name is not None:
        event.setdefault("logger", name)
    return event


class _SinkHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes stdlib log records to the same sink as structlog."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _LineLogger().msg(self.format(record))
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def configure_logging(
    level: str = "info", fmt: LogFormat = "json", stream: IO[bytes] | None = None
) -> None:
    """Configure structlog and the stdlib root logger. Safe to call more than once."""
    global _sink
    _sink = stream
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
        logger_factory=_line_logger,
        cache_logger_on_first_use=True,
    )

    text_renderer: Processor = (
        renderer if fmt == "console" else structlog.processors.JSONRenderer(serializer=_orjson_text)
    )
    handler = _SinkHandler()
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
