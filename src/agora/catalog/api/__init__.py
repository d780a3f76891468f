"""Catalog routes: products (v1 and v2), categories, inventory, images and uploads; one module
each, plus the dependencies and the read headers they share."""
