"""What the catalog publishes (outbox event types) and broadcasts (cache invalidation)."""

PRODUCT_CREATED = "product.created"
PRODUCT_UPDATED = "product.updated"
PRODUCT_DELETED = "product.deleted"
INVENTORY_LOW = "inventory.low"

# Broadcast to every instance after a product's committed change: drop cached copies.
PRODUCT_CHANGED_CHANNEL = "catalog.product_changed"
CATEGORIES_CHANGED_CHANNEL = "catalog.categories_changed"
