"""Keyset pagination over any whitelisted sort visits every row exactly once, in order.

Runs the real SQL that `Paginator` builds against an in-memory SQLite table.
"""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, create_engine, insert, select
from sqlalchemy.engine import Engine

from agora.platform.db import UTCDateTime
from agora.platform.pagination import CursorCodec, CursorPage, Paginator, SortField, SortOrder

metadata = MetaData()
rows_table = Table(
    "rows",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String, nullable=False),
    Column("price", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
FIELDS = {
    "name": SortField("name", rows_table.c.name, str),
    "price": SortField("price", rows_table.c.price, int),
    "createdAt": SortField("createdAt", rows_table.c.created_at, datetime),
}
ID = SortField("id", rows_table.c.id, uuid.UUID)
codec = CursorCodec(b"keyset")


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(rows_table),
            [
                {
                    "id": uuid.UUID(int=n * 7919 % 2**32),
                    "name": "abcde"[n % 5] * (1 + n % 3),
                    "price": n % 4,
                    "created_at": base + timedelta(minutes=n % 6),
                }
                for n in range(60)
            ],
        )
    yield engine
    engine.dispose()


sort_specs = st.lists(
    st.tuples(st.sampled_from(sorted(FIELDS)), st.booleans()),
    min_size=1,
    max_size=3,
    unique_by=lambda x: x[0],
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=sort_specs, limit=st.integers(1, 17))
def test_walk_equals_full_order(engine: Engine, spec: list[tuple[str, bool]], limit: int) -> None:
    orders = [SortOrder(FIELDS[name], descending) for name, descending in spec]
    orders.append(SortOrder(ID, orders[0].descending))
    full = Paginator(tuple(orders), CursorPage(limit=1000), codec)
    with engine.connect() as connection:
        expected = [row.id for row in connection.execute(full.statement(select(rows_table)))]
        walked: list[uuid.UUID] = []
        after = None
        while True:
            pager = Paginator(tuple(orders), CursorPage(limit=limit, after=after), codec)
            rows = connection.execute(pager.statement(select(rows_table))).all()
            page = pager.result(rows)
            walked.extend(row.id for row in page.items)
            if page.meta.next_cursor is None:  # type: ignore[union-attr]
                break
            after = Paginator.decode_after(codec, page.meta.next_cursor, orders, "")  # type: ignore[union-attr]
    assert walked == expected
    assert len(walked) == 60
