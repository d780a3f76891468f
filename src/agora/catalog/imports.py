"""Product imports: a CSV checked as it is uploaded, then imported row by row by a job.

The upload is streamed to storage and refused at once (422) if it is not UTF-8 text or its
header is not the import's; the rows are validated by the job, which imports the valid ones
in batches and reports each invalid one by row number and field. Each batch commits with the
job's checkpoint, so a worker that dies mid-file resumes after the last committed batch and
no row is imported twice.
"""

import codecs
import csv
import io
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from pydantic import Field, ValidationError
from sqlalchemy import insert, select

from agora.catalog.cache import CatalogChanges
from agora.catalog.domain import MAX_STOCK, Status
from agora.catalog.events import ProductCreated
from agora.catalog.models import Inventory, Product, ProductTag
from agora.catalog.schemas import ProductWrite
from agora.jobs import Job, JobError, JobOutcome, JobQueue, JobRun
from agora.platform import events
from agora.platform.db import Database, utcnow
from agora.platform.errors import RuleViolation, ValidationFailed, translate_validation_errors
from agora.platform.idempotency import Attempt
from agora.platform.ids import new_id
from agora.platform.schemas import Integer
from agora.platform.security import Principal
from agora.platform.storage import Storage

JOB_TYPE = "product_import"
IMPORT_QUEUED = "import_queued"
"""Recovery point of an idempotent upload: the job is queued."""
COLUMNS = ("sku", "name", "description", "priceCents", "currency", "status", "tags", "stock")
BATCH = 500
MAX_ERRORS = 1000
"""Errors listed in the result (`failed` counts them all)."""

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_HEADER_BYTES = 64 * 1024


class ImportRow(ProductWrite):
    """One CSV row, as the product it creates (`POST /products` rules) and its stock."""

    stock: Integer = Field(default=0, ge=0, le=MAX_STOCK)


def _error(row: int, field: str | None, code: str, message: str) -> dict[str, Any]:
    return {"row": row, "field": field, "code": code, "message": message}


def parse_row(number: int, cells: dict[str, str]) -> ImportRow | list[dict[str, Any]]:
    """A row's product, or its errors (`row` counts the header as row 1, as a spreadsheet
    does). Empty `currency`, `status`, `description`, `tags`, `stock` take their defaults."""
    errors: list[dict[str, Any]] = []
    values: dict[str, Any] = {"sku": cells["sku"], "name": cells["name"]}
    for name in ("priceCents", "stock"):
        text = cells[name].strip()
        if name == "stock" and not text:
            continue
        if not _INTEGER.fullmatch(text):
            errors.append(_error(number, name, "invalid_integer", "Must be a whole number."))
        else:
            values[name] = int(text)
    for name in ("description", "currency", "status"):
        if cells[name].strip():
            values[name] = cells[name].strip() if name != "description" else cells[name]
    tags = [tag for tag in cells["tags"].split("|") if tag.strip()]
    if tags:
        values["tags"] = tags
    try:
        row = ImportRow.model_validate(values)
    except ValidationError as error:
        failed = translate_validation_errors(error.errors())
        details = failed.errors if isinstance(failed, ValidationFailed) else []
        reported = {error["field"] for error in errors}  # not also "required" for those
        errors.extend(
            _error(number, e.field, e.code, e.message) for e in details if e.field not in reported
        )
        return errors
    if errors:
        return errors
    if row.status == Status.ARCHIVED:
        return [_error(number, "status", "invalid_status", "A new product is draft or active.")]
    return row


# --- the upload ---------------------------------------------------------------------------


class UploadRefused(Exception):
    """The file cannot be imported at all (the route answers 422 with this)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def checked_upload(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Pass the upload through while checking it: UTF-8 text (a BOM is fine), no NUL bytes,
    and a header with exactly the import's columns (in any order)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    head: list[str] = []
    header_checked = False
    offset = 0
    async for chunk in chunks:
        if b"\x00" in chunk:
            raise UploadRefused("binary_file", "The file is binary, not CSV text.")
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as error:
            raise UploadRefused(
                "invalid_encoding",
                f"The file is not UTF-8 (byte {offset + error.start} is not valid).",
            ) from None
        offset += len(chunk)
        if not header_checked:
            head.append(text)
            joined = "".join(head)
            if "\n" in joined or "\r" in joined or len(joined) > _HEADER_BYTES:
                _check_header(joined)
                header_checked = True
        yield chunk
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UploadRefused("invalid_encoding", "The file ends inside a UTF-8 character.") from None
    if not header_checked:
        _check_header("".join(head) + tail)


def _check_header(text: str) -> None:
    first = next(csv.reader(io.StringIO(text)), None)
    if not first or not any(cell.strip() for cell in first):
        raise UploadRefused("empty_file", f"The file is empty; its header must be {_columns()}.")
    names = [cell.strip() for cell in first]
    missing = [name for name in COLUMNS if name not in names]
    unknown = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if names.count(name) > 1})
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown {', '.join(repr(name[:40]) for name in unknown[:5])}")
    if repeated:
        problems.append(f"repeated {', '.join(repeated)}")
    if problems:
        raise UploadRefused(
            "invalid_columns",
            f"The header must name the columns {_columns()} ({'; '.join(problems)}).",
        )


def _columns() -> str:
    return ",".join(COLUMNS)


class ImportService:
    """Accepts an import file and queues its job."""

    def __init__(
        self, database: Database, storage: Storage, queue: JobQueue, *, max_bytes: int
    ) -> None:
        self.database = database
        self.storage = storage
        self.queue = queue
        self.max_bytes = max_bytes

    async def submit(
        self, chunks: AsyncIterator[bytes], file_name: str, owner: Principal, attempt: Attempt
    ) -> Job:
        """Store the checked file and queue its import; a retried request (same
        Idempotency-Key) gets the job the first one queued."""
        resumed = attempt.resumed(IMPORT_QUEUED)
        if resumed is not None:
            async with self.database.session() as session:
                job = await session.get(Job, uuid.UUID(resumed["jobId"]))
            if job is not None:
                return job
        key = f"import-{new_id()}.csv"
        try:
            await self.storage.save(key, checked_upload(chunks), "text/csv", self.max_bytes)
        except UploadRefused as refused:
            raise RuleViolation(refused.message, code=refused.code, field="file") from None
        try:
            async with self.database.unit_of_work() as uow:
                job = self.queue.submit(
                    uow.session,
                    type=JOB_TYPE,
                    owner=owner,
                    params={"fileName": file_name[:200]},
                    input_key=key,
                )
                await attempt.reach(uow.session, IMPORT_QUEUED, jobId=str(job.id))
                await uow.commit()
        except BaseException:
            await self.storage.delete(key)
            raise
        return job


# --- the job ------------------------------------------------------------------------------


class ProductImport:
    """The `product_import` job's handler."""

    def __init__(
        self, database: Database, storage: Storage, changes: CatalogChanges, *, max_rows: int
    ) -> None:
        self.database = database
        self.storage = storage
        self.changes = changes
        self.max_rows = max_rows

    async def __call__(self, run: JobRun) -> JobOutcome:
        if run.input_key is None:
            raise JobError("missing_file", "The job has no file.")
        try:
            await self._run(run, run.input_key)
        except JobError:
            await self.storage.delete(run.input_key)  # the job fails for good: the file goes
            raise
        await self.storage.delete(run.input_key)
        state = run.state
        return JobOutcome(
            result={
                "imported": state["imported"],
                "failed": state["failed"],
                "errors": state["errors"],
            }
        )

    async def _run(self, run: JobRun, input_key: str) -> None:
        with tempfile.TemporaryFile() as copy:
            # A local copy to parse lazily (the store may be remote); never all in memory.
            async for chunk in self.storage.read(input_key):
                copy.write(chunk)
            if run.total is None:
                total = _count(copy)
                if total > self.max_rows:
                    raise JobError(
                        "too_many_rows",
                        f"The file has {total} rows; an import takes at most {self.max_rows}.",
                        field="file",
                    )
                async with self.database.unit_of_work() as uow:
                    await run.checkpoint(uow.session, done=0, total=total, state=_counts(0, 0, []))
                    await uow.commit()
            await self._import(run, copy)

    async def _import(self, run: JobRun, copy: Any) -> None:
        first_row: dict[str, int] = {}
        batch: list[_Record] = []
        for record in _records(copy, skip=run.done):
            batch.append(record)
            if len(batch) == BATCH:
                await self._batch(run, batch, first_row)
                batch = []
        if batch:
            await self._batch(run, batch, first_row)

    async def _batch(self, run: JobRun, batch: list["_Record"], first_row: dict[str, int]) -> None:
        imported, failed = run.state["imported"], run.state["failed"]
        errors: list[dict[str, Any]] = list(run.state["errors"])
        rows: list[tuple[int, ImportRow]] = []
        for record in batch:
            parsed = record.parse()
            if isinstance(parsed, list):
                failed += 1
                errors.extend(parsed)
                continue
            earlier = first_row.setdefault(parsed.sku, record.row)
            if earlier != record.row:
                failed += 1
                errors.append(
                    _error(record.row, "sku", "duplicate_sku", f"Row {earlier} has this SKU too.")
                )
                continue
            rows.append((record.row, parsed))
        now = utcnow()
        added: list[uuid.UUID] = []
        async with self.database.unit_of_work() as uow:
            session = uow.session
            taken = set(
                await session.scalars(
                    select(Product.sku).where(
                        Product.sku.in_([row.sku for _, row in rows]), Product.deleted_at.is_(None)
                    )
                )
            )
            products: list[dict[str, Any]] = []
            stock: list[dict[str, Any]] = []
            tags: list[dict[str, Any]] = []
            for number, row in rows:
                if row.sku in taken:
                    failed += 1
                    errors.append(
                        _error(
                            number,
                            "sku",
                            "duplicate_sku",
                            "A product with this SKU is already in the catalog.",
                        )
                    )
                    continue
                product_id = new_id()
                added.append(product_id)
                values = _product(product_id, row, now)
                products.append(values)
                stock.append({"product_id": product_id, "quantity": row.stock, "updated_at": now})
                tags.extend({"product_id": product_id, "tag": tag} for tag in row.tags)
                events.record(
                    session, ProductCreated.model_validate({**values, "stock": row.stock})
                )
            if products:
                await session.execute(insert(Product), products)
                await session.execute(insert(Inventory), stock)
                if tags:
                    await session.execute(insert(ProductTag), tags)
            imported += len(products)
            await run.checkpoint(
                session,
                done=batch[-1].ordinal,
                state=_counts(imported, failed, errors[:MAX_ERRORS]),
            )
            await uow.commit()
        await self.changes.products_added(added)


class _Record:
    """One data row of the file: its row number (the header is row 1, as in a spreadsheet),
    its place among the data rows (what a checkpoint counts), and its cells."""

    __slots__ = ("cells", "header", "ordinal", "row")

    def __init__(self, row: int, ordinal: int, header: list[str], cells: list[str]) -> None:
        self.row = row
        self.ordinal = ordinal
        self.header = header
        self.cells = cells

    def parse(self) -> ImportRow | list[dict[str, Any]]:
        if len(self.cells) > len(self.header):
            return [
                _error(
                    self.row,
                    None,
                    "too_many_cells",
                    f"The row has {len(self.cells)} cells; the header names {len(self.header)}.",
                )
            ]
        padded = self.cells + [""] * (len(self.header) - len(self.cells))
        return parse_row(self.row, dict(zip(self.header, padded, strict=True)))


def _counts(imported: int, failed: int, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"imported": imported, "failed": failed, "errors": errors}


def _product(product_id: uuid.UUID, row: ImportRow, now: Any) -> dict[str, Any]:
    return {
        "id": product_id,
        "sku": row.sku,
        "name": row.name,
        "description": row.description,
        "price_cents": row.price_cents,
        "currency": row.currency,
        "status": row.status.value,
        "category_id": None,
        "tags": list(row.tags),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _records(copy: Any, skip: int = 0) -> Iterator[_Record]:
    """The data rows after the first `skip` ones; blank lines are skipped (and not counted)."""
    copy.seek(0)
    text = io.TextIOWrapper(copy, encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text)
        header = [cell.strip() for cell in next(reader)]
        ordinal = 0
        for row, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            ordinal += 1
            if ordinal > skip:
                yield _Record(row, ordinal, header, cells)
    finally:
        text.detach()


def _count(copy: Any) -> int:
    """The file's data rows; a file the CSV reader cannot read fails the job here, before
    anything is imported."""
    counted = 0
    try:
        for record in _records(copy):
            counted = record.ordinal
    except csv.Error as error:
        raise JobError(
            "malformed_csv", f"The file is not valid CSV after row {counted + 1}: {error}."
        ) from None
    return counted
