"""Sales reports: a CSV of the order lines paid in a date range, written by a background job.

Cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return
first) are written with a leading `'`, so a product named `=HYPERLINK(...)` stays text
(OWASP's advice on CSV injection). Numbers are written as numbers.
"""

import csv
import io
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from agora.jobs import Job, JobOutcome, JobQueue, JobRun
from agora.ordering.models import Order
from agora.platform.db import Database
from agora.platform.errors import RuleViolation
from agora.platform.idempotency import Attempt
from agora.platform.security import Principal
from agora.platform.storage import Storage

JOB_TYPE = "sales_report"
REPORT_QUEUED = "report_queued"
PAGE = 500
COLUMNS = (
    "orderId", "paidAt", "status", "customerId", "sku", "productName", "quantity",
    "unitPriceCents", "lineTotalCents", "currency",
)  # fmt: skip
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MAX_REPORT_BYTES = 2**40


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet shows as text, never runs: a formula-like start gets a `'`."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _period(params: dict[str, Any]) -> tuple[datetime, datetime]:
    """[from 00:00 UTC, the day after `to` 00:00 UTC)."""
    start = datetime.combine(date.fromisoformat(params["from"]), time(), tzinfo=UTC)
    end = datetime.combine(date.fromisoformat(params["to"]), time(), tzinfo=UTC)
    return start, end + timedelta(days=1)


class ReportService:
    """Queues reports."""

    def __init__(self, database: Database, queue: JobQueue) -> None:
        self.database = database
        self.queue = queue

    async def submit(self, start: date, end: date, owner: Principal, attempt: Attempt) -> Job:
        if end < start:
            raise RuleViolation(
                "`to` must not be before `from`.", code="invalid_period", field="to"
            )
        resumed = attempt.resumed(REPORT_QUEUED)
        async with self.database.unit_of_work() as uow:
            if resumed is not None:
                job = await uow.session.get(Job, uuid.UUID(resumed["jobId"]))
                if job is not None:
                    return job
            job = self.queue.submit(
                uow.session,
                type=JOB_TYPE,
                owner=owner,
                params={"type": "sales", "from": start.isoformat(), "to": end.isoformat()},
            )
            await attempt.reach(uow.session, REPORT_QUEUED, jobId=str(job.id))
            await uow.commit()
        return job


class SalesReport:
    """The `sales_report` job's handler: pages through the period's paid orders (by `paidAt`,
    then id) into a temporary file, then stores it. A run that resumes starts over: nothing
    is kept until the file is complete."""

    def __init__(self, database: Database, storage: Storage) -> None:
        self.database = database
        self.storage = storage

    async def __call__(self, run: JobRun) -> JobOutcome:
        start, end = _period(run.params)
        paid = and_(Order.paid_at >= start, Order.paid_at < end)
        async with self.database.session() as session:
            total = await session.scalar(select(func.count()).select_from(Order).where(paid))
        async with self.database.unit_of_work() as uow:
            await run.checkpoint(uow.session, done=0, total=total or 0)
            await uow.commit()
        lines = orders = 0
        with tempfile.TemporaryFile() as output:
            text = io.TextIOWrapper(output, encoding="utf-8", newline="")
            writer = csv.writer(text)
            writer.writerow(COLUMNS)
            after: tuple[datetime | None, Any] | None = None
            while True:
                page = await self._page(paid, after)
                if not page:
                    break
                for order in page:
                    lines += _write_order(writer, order)
                orders += len(page)
                last = page[-1]
                after = (last.paid_at, last.id)
                async with self.database.unit_of_work() as uow:
                    await run.checkpoint(uow.session, done=orders)
                    await uow.commit()
            text.flush()
            text.detach()
            key = f"report-{run.id}.csv"
            await self.storage.save(key, _chunks(output), "text/csv", _MAX_REPORT_BYTES)
        return JobOutcome(
            result={"orders": orders, "lines": lines, "from": run.params["from"],
                    "to": run.params["to"]},
            result_key=key,
        )  # fmt: skip

    async def _page(self, paid: Any, after: tuple[datetime | None, Any] | None) -> list[Order]:
        query = (
            select(Order)
            .where(paid)
            .options(selectinload(Order.items))
            .order_by(Order.paid_at, Order.id)
            .limit(PAGE)
        )
        if after is not None:
            paid_at, order_id = after
            query = query.where(
                or_(Order.paid_at > paid_at, and_(Order.paid_at == paid_at, Order.id > order_id))
            )
        async with self.database.session() as session:
            return list(await session.scalars(query))


def _write_order(writer: Any, order: Order) -> int:
    paid_at = order.paid_at.astimezone(UTC).isoformat() if order.paid_at else ""
    for item in order.items:
        writer.writerow(
            (
                str(order.id),
                paid_at,
                order.status,
                str(order.user_id),
                spreadsheet_safe(item.sku),
                spreadsheet_safe(item.name),
                item.quantity,
                item.unit_price_cents,
                item.line_total_cents,
                order.currency,
            )
        )
    return len(order.items)


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    file.seek(0)
    while chunk := file.read(64 * 1024):
        yield chunk
