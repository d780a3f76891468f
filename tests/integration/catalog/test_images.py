"""Product images: type by magic bytes, size limits, signed uploads, local and S3 storage."""

import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from agora.settings import Settings
from tests.support.assertions import assert_error
from tests.support.auth import Caller, make_caller
from tests.support.catalog import make_product
from tests.support.instances import instances

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201ffa0c5e2"
    "670000000049454e44ae426082"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 100
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100
MiB = 1024 * 1024


async def _upload(
    client: httpx.AsyncClient,
    editor: Caller,
    product_id: str,
    name: str,
    data: bytes,
    declared: str,
) -> httpx.Response:
    return await client.post(
        f"/api/v1/products/{product_id}/images",
        files={"file": (name, data, declared)},
        headers=editor.headers,
    )


@pytest.mark.parametrize(
    ("name", "data", "declared", "expected"),
    [
        ("photo.png", PNG, "image/png", "image/png"),
        ("setup.exe", PNG, "application/x-msdownload", "image/png"),  # a PNG by content
        ("photo.jpg", JPEG, "image/jpeg", "image/jpeg"),
        ("photo.webp", WEBP, "image/webp", "image/webp"),
    ],
)
async def test_images_are_typed_by_their_bytes(
    client: httpx.AsyncClient, editor: Caller, name: str, data: bytes, declared: str, expected: str
) -> None:
    product = await make_product(client, editor)
    response = await _upload(client, editor, product["id"], name, data, declared)
    assert response.status_code == 201, response.text
    image = response.json()["data"]
    assert image["contentType"] == expected and image["size"] == len(data)
    assert name.split(".")[0] not in image["url"]  # stored under a new random name
    served = await client.get(image["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == expected
    assert served.content == data
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    listed = await client.get(f"/api/v1/products/{product['id']}/images")
    assert [item["id"] for item in listed.json()["data"]] == [image["id"]]


async def test_an_exe_named_png_is_415(client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor)
    response = await _upload(client, editor, product["id"], "cat.png", EXE, "image/png")
    assert_error(response, 415, "unsupported_image")


async def test_upload_limits_and_permissions(
    client: httpx.AsyncClient, editor: Caller, customer: Caller
) -> None:
    product = await make_product(client, editor)
    big = PNG + b"\x00" * (10 * MiB)
    assert_error(await _upload(client, editor, product["id"], "big.png", big, "image/png"), 413)
    assert_error(await _upload(client, customer, product["id"], "a.png", PNG, "image/png"), 403)
    no_file = await client.post(
        f"/api/v1/products/{product['id']}/images",
        files={"other": ("a.png", PNG)},
        headers=editor.headers,
    )
    assert_error(no_file, 400, "required")
    text = await client.post(
        f"/api/v1/products/{product['id']}/images",
        content=PNG,
        headers={**editor.headers, "Content-Type": "image/png"},
    )
    assert_error(text, 415)
    missing = await _upload(
        client, editor, "00000000-0000-7000-8000-000000000000", "a.png", PNG, "image/png"
    )
    assert_error(missing, 404)


async def test_images_of_drafts_are_not_public(client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor, status="draft")
    image = (await _upload(client, editor, product["id"], "a.png", PNG, "image/png")).json()["data"]
    assert_error(await client.get(image["url"]), 404)
    private = await client.get(image["url"], headers=editor.headers)
    assert private.status_code == 200 and private.headers["cache-control"].startswith("private")


async def test_signed_upload_then_attach(client: httpx.AsyncClient, editor: Caller) -> None:
    product = await make_product(client, editor)
    ticket = await client.post(
        "/api/v1/uploads", json={"contentType": "image/png"}, headers=editor.headers
    )
    assert ticket.status_code == 201, ticket.text
    data = ticket.json()["data"]
    assert data["method"] == "PUT" and data["maxBytes"] == 100 * MiB
    large = PNG + b"\x00" * (12 * MiB)  # over the multipart limit, fine for a signed upload
    put = await client.put(data["url"], content=large, headers=data["headers"])
    assert put.status_code == 201, put.text
    again = await client.put(data["url"], content=large, headers=data["headers"])
    assert_error(again, 409)
    attached = await client.post(
        f"/api/v1/products/{product['id']}/images",
        json={"uploadKey": data["key"]},
        headers=editor.headers,
    )
    assert attached.status_code == 201, attached.text
    assert attached.json()["data"]["size"] == len(large)
    twice = await client.post(
        f"/api/v1/products/{product['id']}/images",
        json={"uploadKey": data["key"]},
        headers=editor.headers,
    )
    assert_error(twice, 409)


async def test_signed_urls_cannot_be_tampered_with(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    data = (
        await client.post(
            "/api/v1/uploads", json={"contentType": "image/png"}, headers=editor.headers
        )
    ).json()["data"]
    url = httpx.URL(data["url"])
    tampered = url.copy_set_param("maxBytes", str(10**12))
    assert_error(
        await client.put(str(tampered), content=PNG, headers=data["headers"]),
        403,
        "invalid_signature",
    )
    expired = url.copy_set_param("expires", "1000")
    assert_error(await client.put(str(expired), content=PNG, headers=data["headers"]), 403)
    wrong_type = await client.put(str(url), content=PNG, headers={"Content-Type": "image/jpeg"})
    assert_error(wrong_type, 415)
    not_an_image = await client.post(
        "/api/v1/uploads", json={"contentType": "text/html"}, headers=editor.headers
    )
    assert_error(not_an_image, 400)


async def test_attaching_a_non_image_upload_is_415(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    product = await make_product(client, editor)
    data = (
        await client.post(
            "/api/v1/uploads", json={"contentType": "image/png"}, headers=editor.headers
        )
    ).json()["data"]
    assert (await client.put(data["url"], content=EXE, headers=data["headers"])).status_code == 201
    response = await client.post(
        f"/api/v1/products/{product['id']}/images",
        json={"uploadKey": data["key"]},
        headers=editor.headers,
    )
    assert_error(response, 415, "unsupported_image")
    unknown = await client.post(
        f"/api/v1/products/{product['id']}/images",
        json={"uploadKey": "0" * 32},
        headers=editor.headers,
    )
    assert_error(unknown, 404, "upload_not_found")


# --- S3 -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free local port, with an `agora-test` bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket="agora-test")
    yield endpoint
    server.stop()


@pytest.fixture
def s3_settings(s3_endpoint: str) -> dict[str, Any]:
    return {
        "storage": "s3",
        "s3_bucket": "agora-test",
        "s3_endpoint_url": s3_endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
    }


async def test_s3_storage(
    make_settings: Callable[..., Settings], s3_settings: dict[str, Any]
) -> None:
    async with instances(make_settings, 1, **s3_settings) as [(app, client)]:
        editor = await make_caller(app, client, "editor")
        product = await make_product(client, editor)
        image = (await _upload(client, editor, product["id"], "a.png", PNG, "image/png")).json()[
            "data"
        ]
        served = await client.get(image["url"])
        assert served.status_code == 307
        async with httpx.AsyncClient() as outside:
            fetched = await outside.get(served.headers["location"])
        assert fetched.status_code == 200 and fetched.content == PNG

        ticket = (
            await client.post(
                "/api/v1/uploads", json={"contentType": "image/webp"}, headers=editor.headers
            )
        ).json()["data"]
        assert urlsplit(ticket["url"]).netloc == urlsplit(s3_settings["s3_endpoint_url"]).netloc
        async with httpx.AsyncClient() as outside:
            put = await outside.put(ticket["url"], content=WEBP, headers=ticket["headers"])
        assert put.status_code == 200, put.text
        attached = await client.post(
            f"/api/v1/products/{product['id']}/images",
            json={"uploadKey": ticket["key"]},
            headers=editor.headers,
        )
        assert attached.status_code == 201, attached.text
        assert attached.json()["data"]["contentType"] == "image/webp"
