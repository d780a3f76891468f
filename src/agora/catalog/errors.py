"""Errors of the catalog module (see `agora.platform.errors` for the tree)."""

from agora.platform.errors import (
    Conflict,
    NotFound,
    RuleViolation,
    UnsupportedMediaType,
)


class ProductNotFound(NotFound):
    code = "product_not_found"
    default_message = "No such product."


class CategoryNotFound(NotFound):
    code = "category_not_found"
    default_message = "No such category."


class ImageNotFound(NotFound):
    code = "image_not_found"
    default_message = "No such image."


class DuplicateSku(Conflict):
    code = "duplicate_sku"
    default_message = "A product with this SKU exists already."


class DuplicateCategory(Conflict):
    code = "duplicate_category"
    default_message = "A category with this name or slug exists already."


class IllegalTransition(RuleViolation):
    code = "illegal_status_transition"


class UnknownCategory(RuleViolation):
    code = "unknown_category"
    default_message = "The category does not exist."


class UnsupportedImage(UnsupportedMediaType):
    code = "unsupported_image"
    default_message = "Only JPEG, PNG and WebP images are accepted (judged by content, not name)."


class UploadNotFound(NotFound):
    code = "upload_not_found"
    default_message = "No completed upload with this key."
