"""Pagination: opaque signed keyset cursors (the default) and offset pages (on request).

A cursor carries the sort keys of the last row it returned, the sort it was made for and a
fingerprint of the filters, signed with HMAC-SHA256. The next page is `WHERE (keys) > (last)`,
so page 10,000 costs what page 1 costs and rows inserted meanwhile cause no duplicates or gaps.
A cursor that was altered, or is reused with another sort or other filters, is a 400.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

import orjson
from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from agora.platform.envelope import CursorMeta, OffsetMeta
from agora.platform.errors import BadRequest

MAX_CURSOR_LENGTH = 2048
_CURSOR_VERSION = 1
_MAC_BYTES = 16

T = TypeVar("T")


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    default_message = "The cursor is malformed, was altered, or belongs to another query."


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Signs and verifies cursor payloads. The key never leaves the server."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"agora.cursor\x00" + secret).digest()

    def _mac(self, raw: bytes) -> bytes:
        return hmac.new(self._key, raw, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, payload: dict[str, Any]) -> str:
        raw = orjson.dumps(payload)
        return f"{_b64encode(raw)}.{_b64encode(self._mac(raw))}"

    def decode(self, token: str) -> dict[str, Any]:
        if not token or len(token) > MAX_CURSOR_LENGTH or token.count(".") != 1:
            raise InvalidCursor(field="cursor")
        body, mac = token.split(".")
        try:
            raw, given = _b64decode(body), _b64decode(mac)
        except (binascii.Error, ValueError):
            raise InvalidCursor(field="cursor") from None
        if not hmac.compare_digest(self._mac(raw), given):
            raise InvalidCursor(field="cursor")
        payload = orjson.loads(raw)
        if not isinstance(payload, dict):  # pragma: no cover - we only ever sign dicts
            raise InvalidCursor(field="cursor")
        return payload


# --- cursor values --------------------------------------------------------------


def to_cursor_value(value: Any) -> Any:
    """A sort-key value as JSON (datetimes and UUIDs as text)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    return value


def from_cursor_value(value: Any, kind: type) -> Any:
    """The inverse of `to_cursor_value` for a sort key of Python type `kind`."""
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is UUID:
        return UUID(value)
    if kind is Decimal:
        return Decimal(value)
    if type(value) is not kind:
        # JSON keeps int, str and float faithfully; anything else means the payload is not ours.
        raise ValueError(f"cursor value {value!r} is not a {kind.__name__}")
    return value


# --- sorting and keysets ------------------------------------------------------------


@dataclass(frozen=True)
class SortField:
    """A sortable field: its API name, the column, the attribute on a row, its Python type.

    Only NOT NULL columns may be sort fields: NULLs have no place in a keyset comparison.
    """

    name: str
    column: Any
    kind: type
    attribute: str = ""

    def value_of(self, row: Any) -> Any:
        return getattr(row, self.attribute or self.column.key)


@dataclass(frozen=True)
class SortOrder:
    field: SortField
    descending: bool = False

    @property
    def spec(self) -> str:
        return f"-{self.field.name}" if self.descending else self.field.name


def keyset_after(orders: Sequence[SortOrder], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order given by `orders` (keys must be unique)."""
    bound = [
        bindparam(None, value, type_=order.field.column.type)
        for order, value in zip(orders, values, strict=True)
    ]
    columns = [order.field.column for order in orders]
    if len({order.descending for order in orders}) == 1:
        left, right = tuple_(*columns), tuple_(*bound)
        return left < right if orders[0].descending else left > right
    # Mixed directions: (a > x) OR (a = x AND b < y) OR (a = x AND b = y AND c > z) ...
    clauses: list[ColumnElement[bool]] = []
    for index, order in enumerate(orders):
        column, value = columns[index], bound[index]
        step = column < value if order.descending else column > value
        equal_before = [columns[i] == bound[i] for i in range(index)]
        clauses.append(and_(*equal_before, step))
    return or_(false(), *clauses)


def order_by(orders: Sequence[SortOrder]) -> list[Any]:
    return [
        order.field.column.desc() if order.descending else order.field.column.asc()
        for order in orders
    ]


# --- page requests ----------------------------------------------------------------------


@dataclass(frozen=True)
class CursorPage:
    """Cursor pagination: `limit` rows after the keyset position `after` (None: first page)."""

    limit: int
    after: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class OffsetPage:
    """Offset pagination: `page` (1-based) of `page_size` rows, with the total count."""

    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass
class PageResult(Generic[T]):
    items: list[T]
    meta: CursorMeta | OffsetMeta


@dataclass(frozen=True)
class Paginator:
    """Turns a base `SELECT` into the statement for one page, and rows into a page.

    `orders` ends with a unique tiebreaker (the id), so that keysets never skip equal rows.
    """

    orders: tuple[SortOrder, ...]
    page: CursorPage | OffsetPage
    codec: CursorCodec = field(repr=False)
    fingerprint: str = ""

    @property
    def needs_total(self) -> bool:
        return isinstance(self.page, OffsetPage)

    def statement(self, base: Select[Any]) -> Select[Any]:
        statement = base.order_by(*order_by(self.orders))
        if isinstance(self.page, OffsetPage):
            return statement.offset(self.page.offset).limit(self.page.page_size)
        if self.page.after is not None:
            statement = statement.where(keyset_after(self.orders, self.page.after))
        return statement.limit(self.page.limit + 1)

    def count_statement(self, base: Select[Any]) -> Select[Any]:
        return select(func.count()).select_from(base.order_by(None).subquery())

    async def fetch(self, session: AsyncSession, base: Select[Any]) -> PageResult[Any]:
        """One page of the ORM objects `base` selects (and the total, for an offset page)."""
        rows = list((await session.scalars(self.statement(base))).all())
        total = None
        if self.needs_total:
            total = int((await session.execute(self.count_statement(base))).scalar_one())
        return self.result(rows, total)

    async def fetch_rows(
        self, fetch_all: Callable[[Select[Any]], Awaitable[Sequence[Any]]], base: Select[Any]
    ) -> PageResult[Any]:
        """One page of the rows `base` selects, through `fetch_all` (e.g. `Database.fetch_all`)."""
        rows = await fetch_all(self.statement(base))
        total = None
        if self.needs_total:
            total = int((await fetch_all(self.count_statement(base)))[0][0])
        return self.result(rows, total)

    def result(self, rows: Sequence[T], total: int | None = None) -> PageResult[T]:
        if isinstance(self.page, OffsetPage):
            meta: CursorMeta | OffsetMeta = OffsetMeta(
                page=self.page.page, page_size=self.page.page_size, total=total or 0
            )
            return PageResult(list(rows), meta)
        items = list(rows[: self.page.limit])
        has_more = len(rows) > self.page.limit
        next_cursor = self.cursor_after(items[-1]) if has_more and items else None
        return PageResult(
            items, CursorMeta(limit=self.page.limit, next_cursor=next_cursor, has_more=has_more)
        )

    def sort_spec(self) -> str:
        return ",".join(order.spec for order in self.orders)

    def cursor_after(self, row: Any) -> str:
        keys = [to_cursor_value(order.field.value_of(row)) for order in self.orders]
        return self.codec.encode(
            {"v": _CURSOR_VERSION, "s": self.sort_spec(), "f": self.fingerprint, "k": keys}
        )

    @staticmethod
    def decode_after(
        codec: CursorCodec, token: str, orders: Sequence[SortOrder], fingerprint: str
    ) -> tuple[Any, ...]:
        """The keyset position in `token`, checked against this query's sort and filters."""
        payload = codec.decode(token)
        spec = ",".join(order.spec for order in orders)
        keys = payload.get("k")
        if (
            payload.get("v") != _CURSOR_VERSION
            or payload.get("s") != spec
            or payload.get("f") != fingerprint
            or not isinstance(keys, list)
            or len(keys) != len(orders)
        ):
            raise InvalidCursor(field="cursor")
        try:
            return tuple(
                from_cursor_value(value, order.field.kind)
                for value, order in zip(keys, orders, strict=True)
            )
        except (TypeError, ValueError):
            raise InvalidCursor(field="cursor") from None
