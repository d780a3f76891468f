"""Product images: multipart upload (<= 10 MiB), or a signed URL for large files, then attach."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from agora.catalog.api.dependencies import Editor, Images
from agora.catalog.models import ProductImage
from agora.catalog.schemas import ImageAttach, ImageRead, UploadCreate, UploadTicket
from agora.catalog.service import ImageService
from agora.platform.envelope import Envelope
from agora.platform.errors import BadRequest, UnsupportedMediaType, translate_validation_errors
from agora.platform.idempotency import Attempt, IdempotencyAttempt
from agora.platform.responses import json_response, location
from agora.platform.routing import api_router, media_type
from agora.platform.security import OptionalPrincipal

router = api_router(prefix="/api/v1", tags=["images"])

UPLOADS_PATH = "/api/v1/uploads"
"""Where signed uploads go: `PUT {UPLOADS_PATH}/{key}` (`receive_upload`)."""

_CHUNK = 64 * 1024
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "additionalProperties": False,
                }
            },
            "application/json": {"schema": ImageAttach.model_json_schema(by_alias=True)},
        },
    }
}


def _read(request: Request, image: ProductImage) -> ImageRead:
    return ImageRead(
        id=image.id,
        product_id=image.product_id,
        url=location(request, f"/api/v1/images/{image.id}"),
        content_type=image.content_type,
        size=image.size_bytes,
        created_at=image.created_at,
    )


async def file_chunks(file: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await file.read(_CHUNK):
        yield chunk


async def _add_image(
    request: Request, product_id: uuid.UUID, images: ImageService, attempt: Attempt
) -> ProductImage:
    """The image sent as multipart `file` (streamed to storage), or attached by `uploadKey`."""
    kind = media_type(request.headers.get("content-type"))
    if kind == "multipart/form-data":
        async with request.form(max_files=1, max_fields=2) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise BadRequest(
                    "Send the image as the multipart field `file`.", code="required", field="file"
                )
            image = await images.upload(product_id, file_chunks(file), attempt)
    elif kind == "application/json":
        try:
            attach = ImageAttach.model_validate(orjson.loads(await request.body()))
        except orjson.JSONDecodeError as error:
            raise BadRequest(
                f"The request body is not valid JSON: {error}.", code="malformed_json"
            ) from None
        except ValidationError as error:
            raise translate_validation_errors(error.errors()) from None
        image = await images.attach(product_id, attach.upload_key, attempt)
    else:
        raise UnsupportedMediaType(
            "Send multipart/form-data with a `file`, or application/json with `uploadKey`.",
            field="Content-Type",
        )
    return image


@router.post(
    "/products/{product_id:uuid}/images",
    status_code=201,
    response_model=Envelope[ImageRead],
    openapi_extra=_UPLOAD_BODY,
)
async def add_product_image(
    product_id: uuid.UUID,
    request: Request,
    _: Editor,
    attempt: IdempotencyAttempt,
    images: Images,
) -> Response:
    """Add an image: multipart `file` (JPEG, PNG or WebP by content), or `{uploadKey}`."""
    image = await _add_image(request, product_id, images, attempt)
    read = _read(request, image)
    return json_response(
        Envelope(data=read), status_code=201, headers={"Location": read.url}, etag=False
    )


@router.get("/products/{product_id:uuid}/images", response_model=Envelope[list[ImageRead]])
async def list_product_images(
    product_id: uuid.UUID, request: Request, viewer: OptionalPrincipal, images: Images
) -> Response:
    """The images of a product, oldest first."""
    found = await images.list(product_id, viewer=viewer)
    return json_response(Envelope(data=[_read(request, image) for image in found]))


@router.get(
    "/images/{image_id:uuid}",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}}},
)
async def get_image(image_id: uuid.UUID, viewer: OptionalPrincipal, images: Images) -> Response:
    """The image file, with its real content type; cached for a year (names never change)."""
    return await images.serve(image_id, viewer=viewer)


@router.post("/uploads", status_code=201, response_model=Envelope[UploadTicket])
async def create_upload(
    body: UploadCreate, request: Request, _: Editor, images: Images
) -> Response:
    """A signed URL to `PUT` one large image to; then attach it with `{uploadKey}`."""
    base = request.app.state.runtime.settings.public_url or str(request.base_url)
    key, signed = images.ticket(body.content_type, base.rstrip("/") + UPLOADS_PATH)
    ticket = UploadTicket(
        key=key,
        url=signed.url,
        method="PUT",
        headers=signed.headers,
        expires_at=datetime.fromtimestamp(signed.expires_at, tz=UTC),
        max_bytes=request.app.state.runtime.settings.max_signed_upload_bytes,
    )
    return json_response(Envelope(data=ticket), status_code=201, etag=False)


@router.put(
    UPLOADS_PATH.removeprefix("/api/v1") + "/{key}", status_code=201, include_in_schema=False
)
async def receive_upload(
    key: str,
    request: Request,
    images: Images,
    content_type: Annotated[str, Query(alias="contentType")],
    max_bytes: Annotated[int, Query(alias="maxBytes")],
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query(max_length=64)],
) -> Response:
    """The target of a signed upload URL (local storage)."""
    if media_type(request.headers.get("content-type")) != content_type:
        raise UnsupportedMediaType(f"This URL accepts {content_type} only.", field="Content-Type")
    size = await images.receive(
        key,
        content_type=content_type,
        max_bytes=max_bytes,
        expires=expires,
        signature=signature,
        chunks=request.stream(),
    )
    return json_response(Envelope(data={"key": key, "size": size}), status_code=201, etag=False)
