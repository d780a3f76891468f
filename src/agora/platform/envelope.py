"""The success and error envelopes of SPEC.md section 1."""

from typing import Any, Generic, Literal, TypeVar

from pydantic import Field

from agora.platform.schemas import ApiModel

T = TypeVar("T")


class CursorMeta(ApiModel):
    limit: int
    next_cursor: str | None
    has_more: bool


class OffsetMeta(ApiModel):
    page: int
    page_size: int
    total: int


class Envelope(ApiModel, Generic[T]):
    """`{"success": true, "data": ..., "meta": {...}}`; `meta` only where it says something."""

    success: Literal[True] = True
    data: T
    meta: dict[str, Any] | None = Field(default=None, exclude_if=lambda value: value is None)


class Page(ApiModel, Generic[T]):
    """A page of a collection, with cursor or offset pagination metadata."""

    success: Literal[True] = True
    data: list[T]
    meta: CursorMeta | OffsetMeta


class ErrorDetail(ApiModel):
    field: str | None = Field(description="The input the error is about (dotted path), if any.")
    code: str = Field(description="Stable snake_case code a client can branch on.")
    message: str


class ErrorEnvelope(ApiModel):
    """Every 4xx and 5xx answer has this shape."""

    success: Literal[False] = False
    message: str
    status_code: int
    errors: list[ErrorDetail]
    trace_id: str = Field(description="Equals the X-Request-ID response header.")
