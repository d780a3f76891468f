import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agora.catalog.cache import CatalogChanges
from agora.catalog.errors import ProductNotFound
from agora.catalog.events import InventoryLow
from agora.catalog.repository import InventoryRepository
from agora.platform import events
from agora.platform.db import Database, utcnow


@dataclass(frozen=True)
class StockLevel:
    product_id: uuid.UUID
    quantity: int
    updated_at: datetime


def record_if_low(
    session: AsyncSession, product_id: uuid.UUID, before: int, after: int, threshold: int
) -> None:
    """Record `inventory.low` when stock crosses down to the threshold (once per crossing)."""
    if before > threshold >= after:
        events.record(
            session, InventoryLow(product_id=product_id, quantity=after, threshold=threshold)
        )


class InventoryService:
    """Stock levels. Ordering takes and gives back stock through `take` and `give_back`,
    inside its own unit of work, so that stock and orders change in one transaction."""

    def __init__(self, database: Database, changes: CatalogChanges, *, low_stock: int) -> None:
        self.database = database
        self.changes = changes
        self.threshold = low_stock

    async def get(self, product_id: uuid.UUID) -> StockLevel:
        async with self.database.session() as session:
            row = await InventoryRepository(session).get(product_id)
        if row is None:
            raise ProductNotFound()
        return StockLevel(row.product_id, row.quantity, row.updated_at)

    async def set(self, product_id: uuid.UUID, quantity: int) -> StockLevel:
        """Set the stock level (a stock count, a delivery)."""
        async with self.database.unit_of_work() as uow:
            inventory = InventoryRepository(uow.session)
            if await inventory.get(product_id) is None:
                raise ProductNotFound()
            row = await inventory.lock(product_id)
            if row is None:  # pragma: no cover - checked just above, under the write lock
                raise ProductNotFound()
            before = row.quantity
            row.quantity = quantity
            row.updated_at = utcnow()
            record_if_low(uow.session, product_id, before, quantity, self.threshold)
            await uow.commit()
            level = StockLevel(product_id, row.quantity, row.updated_at)
        await self.changes.product(product_id)
        return level

    async def take(self, session: AsyncSession, product_id: uuid.UUID, quantity: int) -> int | None:
        """Take `quantity` from stock inside the caller's transaction; None if not enough."""
        remaining = await InventoryRepository(session).take(product_id, quantity)
        if remaining is not None:
            record_if_low(session, product_id, remaining + quantity, remaining, self.threshold)
        return remaining

    async def give_back(self, session: AsyncSession, product_id: uuid.UUID, quantity: int) -> None:
        """Return stock inside the caller's transaction (a cancelled order)."""
        await InventoryRepository(session).give_back(product_id, quantity)

    async def changed(self, product_ids: list[uuid.UUID]) -> None:
        """After the caller commits: drop cached copies of these products."""
        for product_id in product_ids:
            await self.changes.product(product_id)
