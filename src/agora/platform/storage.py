"""File storage: a local directory by default, any S3-compatible service when configured.

Both keep files under keys Agora chooses (never a client's file name), stream uploads with a
size limit, and hand out signed, expiring upload URLs for large files: the local store signs
its own upload route's URLs (`{uploads_url}/{key}`) with HMAC; S3 presigns a `PUT` to the bucket.
"""

import asyncio
import base64
import hashlib
import hmac
import os
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import anyio
from starlette.responses import FileResponse, RedirectResponse, Response

from agora.platform.errors import NotFound, PayloadTooLarge
from agora.settings import Settings

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class SignedUpload:
    url: str
    method: str
    headers: dict[str, str]
    expires_at: int


class Storage(Protocol):
    async def save(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int
    ) -> int:
        """Store the stream under `key`; PayloadTooLarge past `max_bytes`. Returns the size."""
        ...

    async def read_prefix(self, key: str, size: int) -> bytes:
        """The first `size` bytes (to check what a file really is); NotFound if absent."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The whole file, in chunks (never all in memory); NotFound if absent."""
        ...

    async def size(self, key: str) -> int | None: ...

    async def delete(self, key: str) -> None: ...

    def serve(self, key: str, content_type: str, cache_control: str) -> Response:
        """A response that delivers the file to the client."""
        ...

    def sign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_in: int, uploads_url: str
    ) -> SignedUpload: ...


async def bytes_chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), _CHUNK):
        yield data[start : start + _CHUNK]


class UploadSigner:
    """HMAC signatures for the local store's upload URLs."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"agora.uploads\x00" + secret).digest()

    def _mac(self, key: str, content_type: str, max_bytes: int, expires: int) -> str:
        message = f"{key}\n{content_type}\n{max_bytes}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, key: str, content_type: str, max_bytes: int, expires: int) -> str:
        return self._mac(key, content_type, max_bytes, expires)

    def valid(
        self, key: str, content_type: str, max_bytes: int, expires: int, signature: str
    ) -> bool:
        if expires < time.time():
            return False
        return hmac.compare_digest(self._mac(key, content_type, max_bytes, expires), signature)


class LocalStorage:
    def __init__(self, root: Path, signer: UploadSigner) -> None:
        self.root = root
        self.signer = signer

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise NotFound("No such file.")
        return self.root / key

    async def save(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int
    ) -> int:
        target = self._path(key)
        await anyio.Path(self.root).mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        os.close(fd)
        size = 0
        try:
            async with await anyio.open_file(scratch, "wb") as file:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(
                            f"The file is larger than {max_bytes} bytes.", field="file"
                        )
                    await file.write(chunk)
            await anyio.Path(scratch).rename(target)
        finally:
            await anyio.Path(scratch).unlink(missing_ok=True)
        return size

    async def read_prefix(self, key: str, size: int) -> bytes:
        path = self._path(key)
        try:
            async with await anyio.open_file(path, "rb") as file:
                data: bytes = await file.read(size)
                return data
        except FileNotFoundError:
            raise NotFound("No such file.") from None

    async def read(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            file = await anyio.open_file(path, "rb")
        except FileNotFoundError:
            raise NotFound("No such file.") from None
        async with file:
            while chunk := await file.read(_CHUNK):
                yield chunk

    async def size(self, key: str) -> int | None:
        try:
            return (await anyio.Path(self._path(key)).stat()).st_size
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await anyio.Path(self._path(key)).unlink(missing_ok=True)

    def serve(self, key: str, content_type: str, cache_control: str) -> Response:
        path = self._path(key)
        if not path.is_file():
            raise NotFound("No such file.")
        return FileResponse(path, media_type=content_type, headers={"Cache-Control": cache_control})

    def sign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_in: int, uploads_url: str
    ) -> SignedUpload:
        expires = int(time.time()) + expires_in
        query = urlencode(
            {
                "contentType": content_type,
                "maxBytes": max_bytes,
                "expires": expires,
                "signature": self.signer.sign(key, content_type, max_bytes, expires),
            }
        )
        return SignedUpload(
            url=f"{uploads_url}/{key}?{query}",
            method="PUT",
            headers={"Content-Type": content_type},
            expires_at=expires,
        )


class S3Storage:
    """S3 or any compatible service (MinIO, R2...), through boto3 in worker threads."""

    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        if not settings.s3_bucket:
            raise ValueError("AGORA_S3_BUCKET is required when AGORA_STORAGE=s3")
        self.bucket = settings.s3_bucket
        secret = settings.s3_secret_access_key
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=Config(signature_version="s3v4", connect_timeout=5, read_timeout=30),
        )

    async def save(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int
    ) -> int:
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as buffer:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"The file is larger than {max_bytes} bytes.", field="file"
                    )
                buffer.write(chunk)
            buffer.seek(0)
            await asyncio.to_thread(
                self.client.upload_fileobj,
                buffer,
                self.bucket,
                key,
                ExtraArgs={"ContentType": content_type},
            )
        return size

    async def read_prefix(self, key: str, size: int) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = await asyncio.to_thread(
                self.client.get_object, Bucket=self.bucket, Key=key, Range=f"bytes=0-{size - 1}"
            )
        except ClientError:
            raise NotFound("No such file.") from None
        data: bytes = await asyncio.to_thread(answer["Body"].read)
        return data

    async def read(self, key: str) -> AsyncIterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            answer = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=key)
        except ClientError:
            raise NotFound("No such file.") from None
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, _CHUNK):
                yield chunk
        finally:
            body.close()

    async def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=key)
        except ClientError:
            return None
        return int(head["ContentLength"])

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)

    def serve(self, key: str, content_type: str, cache_control: str) -> Response:
        url = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key, "ResponseContentType": content_type},
            ExpiresIn=3600,
        )
        return RedirectResponse(
            url, status_code=307, headers={"Cache-Control": "private, max-age=300"}
        )

    def sign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_in: int, uploads_url: str
    ) -> SignedUpload:
        # The bucket enforces its own limits; the size is checked when the upload is attached.
        del uploads_url, max_bytes
        url = self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in,
        )
        return SignedUpload(
            url=url,
            method="PUT",
            headers={"Content-Type": content_type},
            expires_at=int(time.time()) + expires_in,
        )


def create_storage(settings: Settings, secret: bytes) -> Storage:
    if settings.storage == "s3":
        return S3Storage(settings)
    return LocalStorage(settings.data_dir / "files", UploadSigner(secret))
