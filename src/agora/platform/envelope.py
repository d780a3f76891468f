"""The success and error envelopes (docs/api.md, "Conventions")."""

from functools import cache
from typing import Any, Generic, Literal, TypeVar

from pydantic import MISSING, BaseModel, Field, create_model

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


@cache
def sparse(model: type[BaseModel]) -> type[BaseModel]:
    """`model` as the items of a page carry it: `id` always, every other field unless the
    request's `?fields=` leaves it out. For the OpenAPI document (pages serialize `model`)."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            fields[name] = (info.annotation, Field(description=info.description))
        else:
            fields[name] = (
                info.annotation | MISSING,
                Field(default=MISSING, description=info.description),
            )
    return create_model(
        f"{model.__name__}Fields",
        __base__=ApiModel,
        __doc__=f"{model.__name__} in a page: fields not asked for with `fields` are left out.",
        **fields,
    )


def page_of(model: type[BaseModel]) -> Any:
    """The documented response of a collection of `model` (`response_model=page_of(X)`)."""
    return Page[sparse(model)]  # type: ignore[misc]
