"""Catalog: products, categories, inventory and product images.

Other modules use `agora.catalog.service.InventoryService` (take and give back stock inside
their own transaction) and `ProductService.get` (prices at order time); nothing else.
"""
