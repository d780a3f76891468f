import uuid

from fastapi import Response

from agora.catalog.api.dependencies import Inventory, StockReader, StockWriter
from agora.catalog.schemas import InventoryRead, InventoryUpdate
from agora.catalog.service.inventory import StockLevel
from agora.platform.envelope import Envelope
from agora.platform.responses import json_response
from agora.platform.routing import api_router

router = api_router(prefix="/api/v1/inventory", tags=["inventory"])


def _level(level: StockLevel) -> Response:
    return json_response(Envelope(data=InventoryRead.model_validate(level)))


@router.get("/{product_id:uuid}", response_model=Envelope[InventoryRead])
async def get_inventory(product_id: uuid.UUID, _: StockReader, inventory: Inventory) -> Response:
    """The stock level of a product (editors, admins)."""
    return _level(await inventory.get(product_id))


@router.put("/{product_id:uuid}", response_model=Envelope[InventoryRead])
async def set_inventory(
    product_id: uuid.UUID,
    body: InventoryUpdate,
    _: StockWriter,
    inventory: Inventory,
) -> Response:
    """Set the stock level (admins); falling to the low-stock threshold records `inventory.low`."""
    return _level(await inventory.set(product_id, body.quantity))
