"""Collection queries: filters, sort, sparse fields, expansion and pagination from the query string.

A module describes what its collection allows in a `CollectionSpec`; `collection_query(spec)`
turns that into a FastAPI dependency whose parameters appear in the OpenAPI document and whose
result is a typed `CollectionQuery`. Anything not in the whitelist is a 400 naming the parameter.
"""

import hashlib
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query, Request
from sqlalchemy import ColumnElement, Select

from agora.platform.errors import FieldError, ValidationFailed
from agora.platform.inputs import INT64_MAX, INT64_MIN
from agora.platform.pagination import (
    MAX_CURSOR_LENGTH,
    CursorCodec,
    CursorPage,
    OffsetPage,
    Paginator,
    SortField,
    SortOrder,
    to_cursor_value,
)

PAGINATION_PARAMS = frozenset({"limit", "cursor", "page", "pageSize"})
SHAPE_PARAMS = frozenset({"sort", "fields", "expand"})


@dataclass(frozen=True)
class Filter:
    """A query-string filter: `?{name}=value`, validated as `kind`, applied as `clause(value)`."""

    name: str
    kind: Any
    clause: Callable[[Any], ColumnElement[bool]]
    description: str = ""


@dataclass(frozen=True)
class CollectionSpec:
    """What one collection endpoint allows. `tiebreaker` must be unique (the id).

    `name` binds cursors to the collection: a cursor made for one is refused by every other.
    """

    name: str
    filters: tuple[Filter, ...]
    sorts: tuple[SortField, ...]
    default_sort: str
    tiebreaker: SortField
    fields: frozenset[str]
    expand: frozenset[str] = frozenset()
    default_limit: int = 20
    max_limit: int = 100

    def filter(self, name: str) -> Filter:
        return next(item for item in self.filters if item.name == name)

    def sort_field(self, name: str) -> SortField | None:
        return next((item for item in (*self.sorts, self.tiebreaker) if item.name == name), None)


@dataclass(frozen=True)
class CollectionQuery:
    """A parsed, validated collection request."""

    spec: CollectionSpec = field(repr=False)
    filters: Mapping[str, Any]
    paginator: Paginator
    fields: frozenset[str] | None = None
    expand: frozenset[str] = frozenset()

    def where(self, statement: Select[Any]) -> Select[Any]:
        """`statement` restricted by the filters that were given."""
        for name, value in self.filters.items():
            statement = statement.where(self.spec.filter(name).clause(value))
        return statement


# --- parsing -----------------------------------------------------------------------------


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",")]


def parse_sort(
    value: str | None, spec: CollectionSpec, errors: list[FieldError]
) -> list[SortOrder]:
    text = value if value is not None else spec.default_sort
    orders: list[SortOrder] = []
    seen: set[str] = set()
    sortable = ", ".join(item.name for item in spec.sorts)
    for part in _csv(text):
        name = part.removeprefix("-")
        sort_field = spec.sort_field(name)
        if not name or sort_field is None:
            errors.append(
                FieldError(
                    "sort", "unknown_sort_field", f"Cannot sort by {part!r}; use {sortable}."
                )
            )
            continue
        if name in seen:
            continue  # named twice: the first direction given counts
        seen.add(name)
        orders.append(SortOrder(sort_field, descending=part.startswith("-")))
    if orders and spec.tiebreaker.name not in seen:
        orders.append(SortOrder(spec.tiebreaker, descending=orders[0].descending))
    return orders


def parse_names(
    value: str | None, allowed: frozenset[str], parameter: str, errors: list[FieldError]
) -> frozenset[str] | None:
    if value is None:
        return None
    names = _csv(value)
    unknown = [name for name in names if name not in allowed]
    if unknown:
        errors.append(
            FieldError(
                parameter,
                f"unknown_{parameter}_name",
                f"Unknown {parameter}: {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(sorted(allowed))}.",
            )
        )
    return frozenset(names)


def expand_parameter(allowed: frozenset[str]) -> Any:
    """`Query(...)` of a single resource's `?expand=`, documented like a collection's."""
    return Query(
        description=f"Related resources to embed: {', '.join(sorted(allowed))}.",
        json_schema_extra={"pattern": _list_pattern(sorted(allowed))},
    )


def parse_expand(value: str | None, allowed: frozenset[str]) -> frozenset[str]:
    """`?expand=` of a single resource: the names, or a 400 naming the unknown ones."""
    errors: list[FieldError] = []
    names = parse_names(value, allowed, "expand", errors)
    if errors:
        raise ValidationFailed(errors=errors)
    return names or frozenset()


def fingerprint(collection: str, filters: Mapping[str, Any]) -> str:
    """A short digest of the collection and its filters: a cursor is bound to both."""
    canonical = orjson.dumps(
        [collection, sorted((key, to_cursor_value(value)) for key, value in filters.items())]
    )
    return hashlib.blake2b(canonical, digest_size=8).hexdigest()


def build_query(
    spec: CollectionSpec,
    codec: CursorCodec,
    query_keys: set[str],
    *,
    filters: Mapping[str, Any],
    limit: int | None = None,
    cursor: str | None = None,
    page: int | None = None,
    page_size: int | None = None,
    sort: str | None = None,
    fields: str | None = None,
    expand: str | None = None,
) -> CollectionQuery:
    """Validate a collection request; raise one 400 listing every problem found."""
    errors: list[FieldError] = []
    allowed = PAGINATION_PARAMS | SHAPE_PARAMS | {item.name for item in spec.filters}
    if not spec.expand:
        allowed -= {"expand"}
    for key in sorted(query_keys - allowed):
        errors.append(
            FieldError(key, "unknown_parameter", f"{key!r} is not a parameter of this collection.")
        )

    orders = parse_sort(sort, spec, errors)
    field_names = parse_names(fields, spec.fields, "fields", errors)
    expansions = parse_names(expand, spec.expand, "expand", errors) if spec.expand else None
    given = {name: value for name, value in filters.items() if value is not None}
    digest = fingerprint(spec.name, given)

    page_request: CursorPage | OffsetPage
    if page is not None or page_size is not None:
        if cursor is not None or limit is not None:
            errors.append(
                FieldError(
                    "page",
                    "mixed_pagination",
                    "Use either cursor pagination (limit, cursor) or pages (page, pageSize).",
                )
            )
        page_request = OffsetPage(page=page or 1, page_size=page_size or spec.default_limit)
    else:
        page_request = CursorPage(limit=limit or spec.default_limit)

    if errors:
        raise ValidationFailed(errors=errors)
    if cursor is not None and isinstance(page_request, CursorPage):
        after = Paginator.decode_after(codec, cursor, orders, digest)
        page_request = CursorPage(limit=page_request.limit, after=after)
    return CollectionQuery(
        spec=spec,
        filters=given,
        paginator=Paginator(tuple(orders), page_request, codec, digest),
        fields=(field_names | {"id"}) if field_names is not None else None,
        expand=expansions or frozenset(),
    )


def collection_query(spec: CollectionSpec) -> Any:
    """`Depends(...)` for `spec`: use as `Annotated[CollectionQuery, collection_query(SPEC)]`.

    The dependency's signature is built from the spec, so that every filter, the sort, the
    fieldset and the pagination parameters appear (typed and described) in OpenAPI.
    """
    sortable = ", ".join(item.name for item in spec.sorts)
    sort_names = [item.name for item in (*spec.sorts, spec.tiebreaker)]
    parameters = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        _query_param(
            "limit",
            int,
            Query(
                ge=1,
                le=spec.max_limit,
                description=f"Page size for cursor pagination "
                f"(1-{spec.max_limit}, default {spec.default_limit}).",
            ),
        ),
        _query_param(
            "cursor",
            str,
            Query(max_length=MAX_CURSOR_LENGTH, description="`meta.nextCursor` of the last page."),
        ),
        _query_param(
            "page",
            int,
            # The offset, (page - 1) * pageSize, must still fit a 64-bit integer.
            Query(ge=1, le=INT64_MAX // spec.max_limit, description="Offset pagination: page."),
        ),
        _query_param(
            "page_size",
            int,
            Query(alias="pageSize", ge=1, le=spec.max_limit, description="Offset page size."),
        ),
        _query_param(
            "sort",
            str,
            Query(
                description=f"Comma-separated, `-` for descending; one of: {sortable}. "
                f"Default `{spec.default_sort}`.",
                json_schema_extra={"pattern": _list_pattern(sort_names, signed=True)},
            ),
        ),
        _query_param(
            "fields",
            str,
            Query(
                description="Sparse fieldset, comma-separated; `id` is always included. "
                f"One of: {', '.join(sorted(spec.fields))}.",
                json_schema_extra={"pattern": _list_pattern(sorted(spec.fields))},
            ),
        ),
    ]
    if spec.expand:
        parameters.append(
            _query_param(
                "expand",
                str,
                Query(
                    description=f"Related resources to embed: {', '.join(sorted(spec.expand))}.",
                    json_schema_extra={"pattern": _list_pattern(sorted(spec.expand))},
                ),
            )
        )
    filter_params = {f"filter_{index}": item for index, item in enumerate(spec.filters)}
    for param_name, item in filter_params.items():
        # Integers are bounded like every integer Agora accepts (agora.platform.inputs).
        integer = item.kind is int
        parameters.append(
            _query_param(
                param_name,
                item.kind,
                Query(
                    alias=item.name,
                    description=item.description,
                    ge=INT64_MIN if integer else None,
                    le=INT64_MAX if integer else None,
                ),
            )
        )

    async def dependency(request: Request, **values: Any) -> CollectionQuery:
        filters = {item.name: values.pop(name) for name, item in filter_params.items()}
        return build_query(
            spec,
            request.app.state.runtime.cursor_codec,
            set(request.query_params.keys()),
            filters=filters,
            **values,
        )

    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=CollectionQuery
    )
    return Depends(dependency)


def _list_pattern(names: list[str], *, signed: bool = False) -> str:
    """The documented shape of a comma-separated list of `names` (validated by the parsers
    above, which name what is wrong more precisely than a pattern could)."""
    one = ("-?" if signed else "") + "(" + "|".join(re.escape(name) for name in names) + ")"
    return f"^{one}(,{one})*$"


def _query_param(name: str, kind: Any, query: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[kind | None, query],
    )
