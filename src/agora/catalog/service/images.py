import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from starlette.responses import Response

from agora.catalog.domain import image_type
from agora.catalog.errors import ImageNotFound, ProductNotFound, UnsupportedImage, UploadNotFound
from agora.catalog.models import ProductImage
from agora.catalog.repository import ImageRepository, ProductRepository
from agora.catalog.schemas import ProductRecord
from agora.catalog.service.products import ProductService
from agora.platform.db import Database
from agora.platform.errors import Conflict, Forbidden
from agora.platform.idempotency import NO_KEY, Attempt
from agora.platform.ids import new_id
from agora.platform.security import Principal
from agora.platform.storage import LocalStorage, SignedUpload, Storage

_SNIFF = 12  # enough bytes to tell JPEG, PNG and WebP apart
IMAGE_ADDED = "image_added"
"""Recovery point of an idempotent upload: the image is committed."""
IMMUTABLE = "public, max-age=31536000, immutable"


async def _peek(chunks: AsyncIterator[bytes], size: int) -> tuple[bytes, AsyncIterator[bytes]]:
    """The first `size` bytes of a stream, and the whole stream again."""
    head = b""
    seen: list[bytes] = []
    async for chunk in chunks:
        seen.append(chunk)
        head += chunk
        if len(head) >= size:
            break

    async def replay() -> AsyncIterator[bytes]:
        for chunk in seen:
            yield chunk
        async for chunk in chunks:
            yield chunk

    return head[:size], replay()


class ImageService:
    def __init__(
        self,
        database: Database,
        storage: Storage,
        products: ProductService,
        *,
        max_image_bytes: int,
        max_upload_bytes: int,
        upload_ttl_seconds: int,
    ) -> None:
        self.database = database
        self.storage = storage
        self.products = products
        self.max_image_bytes = max_image_bytes  # an image sent in a multipart request
        self.max_upload_bytes = max_upload_bytes  # a large image sent to a signed upload URL
        self.upload_ttl_seconds = upload_ttl_seconds

    async def upload(
        self, product_id: uuid.UUID, chunks: AsyncIterator[bytes], attempt: Attempt = NO_KEY
    ) -> ProductImage:
        """Store an image sent with the request; its type comes from its bytes, not its name."""
        added = await self._added(attempt)
        if added is not None:
            return added
        await self._require_product(product_id)
        head, stream = await _peek(chunks, _SNIFF)
        kind = image_type(head)
        if kind is None:
            raise UnsupportedImage(field="file")
        key = new_id().hex
        size = await self.storage.save(key, stream, kind, self.max_image_bytes)
        return await self._add(product_id, key, kind, size, attempt)

    async def attach(
        self, product_id: uuid.UUID, upload_key: str, attempt: Attempt = NO_KEY
    ) -> ProductImage:
        """Make a file uploaded through a signed URL an image of the product."""
        added = await self._added(attempt)
        if added is not None:
            return added
        await self._require_product(product_id)
        size = await self.storage.size(upload_key)
        if size is None:
            raise UploadNotFound(field="uploadKey")
        kind = image_type(await self.storage.read_prefix(upload_key, _SNIFF))
        if kind is None:
            await self.storage.delete(upload_key)
            raise UnsupportedImage(field="uploadKey")
        async with self.database.session() as session:
            if await ImageRepository(session).key_used(upload_key):
                raise Conflict("This upload is attached already.", field="uploadKey")
        return await self._add(product_id, upload_key, kind, size, attempt)

    async def list(self, product_id: uuid.UUID, *, viewer: Principal | None) -> list[ProductImage]:
        await self.products.get(product_id, viewer=viewer)
        async with self.database.session() as session:
            return await ImageRepository(session).of_product(product_id)

    async def serve(self, image_id: uuid.UUID, *, viewer: Principal | None) -> Response:
        """The image itself. Images of unpublished products are for editors only."""
        async with self.database.session() as session:
            image = await ImageRepository(session).get(image_id)
        if image is None:
            raise ImageNotFound()
        try:
            product: ProductRecord = await self.products.get(image.product_id, viewer=viewer)
        except ProductNotFound:
            raise ImageNotFound() from None
        public = product.status == "active"
        cache = IMMUTABLE if public else "private, max-age=300"
        return self.storage.serve(image.storage_key, image.content_type, cache)

    def ticket(self, content_type: str, uploads_url: str) -> tuple[str, SignedUpload]:
        """A signed, expiring URL to upload one large file to (under `uploads_url`)."""
        key = new_id().hex
        signed = self.storage.sign_upload(
            key,
            content_type,
            self.max_upload_bytes,
            self.upload_ttl_seconds,
            uploads_url,
        )
        return key, signed

    async def receive(
        self,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        expires: int,
        signature: str,
        chunks: AsyncIterator[bytes],
    ) -> int:
        """Store the body of a signed upload (local storage; S3 receives its uploads itself)."""
        if not isinstance(self.storage, LocalStorage):
            raise UploadNotFound()
        if not self.storage.signer.valid(key, content_type, max_bytes, expires, signature):
            raise Forbidden("The upload URL is invalid or has expired.", code="invalid_signature")
        if await self.storage.size(key) is not None:
            raise Conflict("This upload URL has been used already.")
        return await self.storage.save(key, chunks, content_type, max_bytes)

    async def _require_product(self, product_id: uuid.UUID) -> None:
        async with self.database.session() as session:
            if await ProductRepository(session).record(product_id) is None:
                raise ProductNotFound()

    async def _added(self, attempt: Attempt) -> ProductImage | None:
        """The image an interrupted attempt with the same Idempotency-Key added, if any."""
        resumed = attempt.resumed(IMAGE_ADDED)
        if resumed is None:
            return None
        async with self.database.session() as session:
            image = await ImageRepository(session).get(uuid.UUID(resumed["imageId"]))
        if image is None:  # pragma: no cover - images are never deleted
            raise ImageNotFound()
        return image

    async def _add(
        self, product_id: uuid.UUID, key: str, kind: str, size: int, attempt: Attempt
    ) -> ProductImage:
        image = ProductImage(
            id=new_id(),
            product_id=product_id,
            storage_key=key,
            content_type=kind,
            size_bytes=size,
            created_at=datetime.now(UTC),
        )
        async with self.database.unit_of_work() as uow:
            ImageRepository(uow.session).add(image)
            await attempt.reach(uow.session, IMAGE_ADDED, imageId=str(image.id))
            await uow.commit()
        return image
