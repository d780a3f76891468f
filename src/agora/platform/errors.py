"""Errors Agora raises, and the one place where they become the error envelope.

    AgoraError                    500 internal_error
     ├── BadRequest               400 bad_request
     │    └── ValidationFailed    400 validation_failed      (one entry per field)
     ├── Unauthorized             401 unauthorized           (WWW-Authenticate: Bearer)
     ├── Forbidden                403 forbidden
     ├── NotFound                 404 not_found
     ├── MethodNotAllowed         405 method_not_allowed     (Allow)
     ├── Conflict                 409 conflict
     ├── PreconditionFailed       412 precondition_failed
     ├── PayloadTooLarge          413 payload_too_large
     ├── UriTooLong               414 uri_too_long
     ├── UnsupportedMediaType     415 unsupported_media_type
     ├── RuleViolation            422 rule_violation
     ├── TooManyRequests          429 rate_limited           (Retry-After)
     ├── HeadersTooLarge          431 headers_too_large
     └── DependencyUnavailable    503 dependency_unavailable (Retry-After)

Services raise these (or a module's subclass with its own `code`); routes never raise
`HTTPException` for business cases. Starlette finds the handler by walking the exception's MRO,
so one handler serves the whole tree.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar, cast

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

from agora.platform.ids import new_id
from agora.platform.observability import get_logger, request_id_var

log = get_logger("agora.errors")


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of the envelope's `errors` list."""

    field: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "code": self.code, "message": self.message}


class AgoraError(Exception):
    """Base of every error Agora turns into an envelope."""

    status_code: int = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Internal server error."
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
        field: str | None = None,
        status_code: int | None = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code
        self.message = message or self.default_message
        self.error_code = code or self.code
        self.errors = list(errors) or [FieldError(field, self.error_code, self.message)]
        self.headers = {**self.default_headers, **(headers or {})}
        super().__init__(self.message)


class BadRequest(AgoraError):
    status_code = 400
    code = "bad_request"
    default_message = "The request could not be understood."


class ValidationFailed(BadRequest):
    code = "validation_failed"
    default_message = "The request is not valid; see errors for each field."


class Unauthorized(AgoraError):
    status_code = 401
    code = "unauthorized"
    default_message = "Authentication is required."
    default_headers: ClassVar[Mapping[str, str]] = {"WWW-Authenticate": "Bearer"}


class Forbidden(AgoraError):
    status_code = 403
    code = "forbidden"
    default_message = "You are not allowed to do this."


class NotFound(AgoraError):
    status_code = 404
    code = "not_found"
    default_message = "The resource was not found."


class MethodNotAllowed(AgoraError):
    status_code = 405
    code = "method_not_allowed"
    default_message = "The method is not allowed on this resource."


class Conflict(AgoraError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state of the resource."


class PreconditionFailed(AgoraError):
    status_code = 412
    code = "precondition_failed"
    default_message = "If-Match does not match the current ETag of the resource."


class PayloadTooLarge(AgoraError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class UriTooLong(AgoraError):
    status_code = 414
    code = "uri_too_long"
    default_message = "The request URL is too long."


class UnsupportedMediaType(AgoraError):
    status_code = 415
    code = "unsupported_media_type"
    default_message = "The Content-Type of the request is not supported here."


class RuleViolation(AgoraError):
    status_code = 422
    code = "rule_violation"
    default_message = "The request breaks a business rule."


class TooManyRequests(AgoraError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many requests; slow down."


class HeadersTooLarge(AgoraError):
    status_code = 431
    code = "headers_too_large"
    default_message = "The request headers are too large."


class DependencyUnavailable(AgoraError):
    status_code = 503
    code = "dependency_unavailable"
    default_message = "A service this request needs is unavailable; try again shortly."


# --- rendering ---------------------------------------------------------------


def current_trace_id() -> str:
    """The request id of the request being served (the envelope's `traceId`)."""
    return request_id_var.get() or new_id().hex


def error_body(
    status_code: int, message: str, errors: Iterable[FieldError], trace_id: str | None = None
) -> bytes:
    return orjson.dumps(
        {
            "success": False,
            "message": message,
            "statusCode": status_code,
            "errors": [error.as_dict() for error in errors],
            "traceId": trace_id or current_trace_id(),
        }
    )


def error_response(error: AgoraError) -> Response:
    return Response(
        error_body(error.status_code, error.message, error.errors),
        status_code=error.status_code,
        headers=dict(error.headers),
        media_type="application/json",
    )


async def send_error(send: Send, error: AgoraError, *, head_only: bool = False) -> None:
    """Send an error envelope from ASGI middleware, where there is no Response object."""
    body = error_body(error.status_code, error.message, error.errors)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head_only else body})


# --- translating what the framework raises ------------------------------------

_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})
_CODE_ALIASES = {
    "missing": "required",
    "json_invalid": "malformed_json",
    "extra_forbidden": "unknown_field",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_short",
    "too_long": "too_long",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "enum": "invalid_choice",
    "literal_error": "invalid_choice",
    "string_pattern_mismatch": "invalid_format",
    "int_from_float": "invalid_type",
    "value_error": "invalid",
    "assertion_error": "invalid",
}


def field_path(loc: Sequence[int | str]) -> str | None:
    """`("body", "items", 0, "quantity")` -> `items[0].quantity`."""
    parts = loc[1:] if loc and loc[0] in _LOCATIONS else loc
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or None


def _error_code(kind: str) -> str:
    if kind in _CODE_ALIASES:
        return _CODE_ALIASES[kind]
    if kind.endswith(("_type", "_parsing")):
        return "invalid_type"
    return kind


def translate_validation_errors(errors: Sequence[Any]) -> AgoraError:
    """Pydantic/FastAPI errors -> one 400 with a precise entry per field."""
    details: list[FieldError] = []
    for error in errors:
        kind = str(error.get("type", "invalid"))
        loc = tuple(error.get("loc", ()))
        if kind == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "malformed JSON")
            return BadRequest(
                f"The request body is not valid JSON: {reason}.",
                code="malformed_json",
                field="body",
            )
        if kind == "missing" and loc == ("body",):
            return BadRequest(
                "A JSON request body is required.", code="body_required", field="body"
            )
        details.append(FieldError(field_path(loc), _error_code(kind), str(error.get("msg", ""))))
    return ValidationFailed(errors=details)


def _from_http_exception(request: Request, exc: HTTPException) -> AgoraError:
    method, path = request.method, request.url.path
    if exc.status_code == 404:
        return NotFound(f"No resource at {method} {path}.", code="route_not_found")
    if exc.status_code == 405:
        allowed = ", ".join(_allowed_methods(request, exc))
        return MethodNotAllowed(
            f"Method {method} is not allowed on {path}; allowed: {allowed}.",
            headers={**(exc.headers or {}), "Allow": allowed},
        )
    return AgoraError(
        str(exc.detail),
        headers=exc.headers,
        code=_phrase_code(exc.status_code),
        status_code=exc.status_code,
    )


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request, exc: HTTPException) -> list[str]:
    """Every method some route serves at this path (the router stops at the first route).

    A route counts only if the path's values fit its parameters: `/users/me` is not
    `/users/{id}` (an id is a UUID), so DELETE, which only the latter has, is not allowed there.
    """
    methods: set[str] = set()
    path = request.scope["path"]
    for route in iter_route_contexts(request.app.router.routes):
        pattern = getattr(route, "path_regex", None)
        match = pattern.match(path) if pattern is not None else None
        if match is not None and _parameters_fit(route, match.groupdict()):
            methods |= route.methods or set()
    if not methods:
        methods = {m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip()}
    if "GET" in methods:
        methods.add("HEAD")  # HeadAsGetMiddleware serves HEAD wherever GET is served
    return sorted(methods, key=lambda m: (*_METHOD_ORDER, m).index(m))


def _parameters_fit(route: Any, values: dict[str, str]) -> bool:
    dependant = getattr(route, "dependant", None)
    for field in getattr(dependant, "path_params", ()):
        _, errors = field.validate(values.get(field.alias), loc=("path", field.alias))
        if errors:
            return False
    return True


def _phrase_code(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"


# --- handlers ----------------------------------------------------------------

DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)


async def _handle_agora_error(_: Request, exc: Exception) -> Response:
    error = cast(AgoraError, exc)
    if error.status_code >= 500:
        log.error("request_failed", code=error.error_code, error=error.message)
    return error_response(error)


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    return error_response(_from_http_exception(request, cast(HTTPException, exc)))


async def _handle_validation_error(_: Request, exc: Exception) -> Response:
    errors = cast(RequestValidationError, exc).errors()
    return error_response(translate_validation_errors(errors))


async def _handle_dependency_down(request: Request, exc: Exception) -> Response:
    error = database_unavailable(exc, request.app.state.runtime.settings.retry_after_seconds)
    if error is None:
        raise exc  # anything else is a bug: the last-resort layer logs it and answers 500
    return error_response(error)


# PostgreSQL's SQLSTATEs that mean "not now" rather than "wrong": a connection exception (class
# 08), a statement cancelled for time (57014, AGORA_DB_TIMEOUT), a server shutting down or still
# starting up (57P01-57P03), no connection slot free (53300). The driver raises them as plain
# DBAPIErrors: a connection refused with "the database system is starting up" is not flagged as
# a disconnect, so without this list a request during a restart answered 500.
_NOT_NOW_CLASSES = ("08",)
_NOT_NOW_STATES = frozenset({"57014", "57P01", "57P02", "57P03", "53300"})


def _not_now(sqlstate: object) -> bool:
    return isinstance(sqlstate, str) and (
        sqlstate in _NOT_NOW_STATES or sqlstate.startswith(_NOT_NOW_CLASSES)
    )


def database_unavailable(exc: BaseException, retry_after: int) -> DependencyUnavailable | None:
    """The 503 for an error that says the database cannot answer now (unreachable, timed out,
    a dropped connection, a statement cancelled for time, a server restarting or out of
    connection slots), or None for any other error.

    Used by the error handlers and by the outermost layer, for errors raised outside FastAPI
    (an API key or an Idempotency-Key looked up while the database restarts)."""
    if isinstance(exc, sa_exc.DBAPIError) and not isinstance(exc, DEPENDENCY_ERRORS):
        not_now = _not_now(getattr(exc.orig, "sqlstate", None))
        if not (not_now or exc.connection_invalidated):  # invalidated: the connection died
            return None
    elif not isinstance(exc, DEPENDENCY_ERRORS):
        return None
    log.warning("dependency_unavailable", error_type=type(exc).__name__, error=str(exc)[:300])
    return unavailable("database", retry_after)


def unavailable(what: str, retry_after: int) -> DependencyUnavailable:
    """The 503 for a dependency that is down, naming it in `errors[0].field`."""
    return DependencyUnavailable(
        f"The {what} is unavailable; try again shortly.",
        headers={"Retry-After": str(retry_after)},
        field=what,
    )


async def _handle_unexpected(_: Request, exc: Exception) -> Response:
    # Logged with its traceback by the request-context layer, which sees it re-raised.
    del exc
    return error_response(AgoraError())


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the framework or Agora raises into the error envelope."""
    app.add_exception_handler(Exception, _handle_unexpected)
    app.add_exception_handler(AgoraError, _handle_agora_error)
    app.add_exception_handler(HTTPException, _handle_http_exception)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    for error_type in (*DEPENDENCY_ERRORS, sa_exc.DBAPIError):
        app.add_exception_handler(error_type, _handle_dependency_down)
