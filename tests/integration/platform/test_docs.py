"""API docs are served from packaged assets, reference no external host, and render under CSP."""

import re

import httpx
import pytest

from agora.platform.http.security_headers import API_CSP

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_reference_no_external_host(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert not EXTERNAL.search(response.text), response.text
    assert "cdn" not in response.text.lower()
    for asset in re.findall(r"""(?:src|href)="([^"]+)\"""", response.text):
        fetched = await client.get(asset)
        assert fetched.status_code == 200, asset
        assert fetched.headers["cache-control"] == "public, max-age=86400"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_have_their_own_strict_csp(client: httpx.AsyncClient, path: str) -> None:
    csp = (await client.get(path)).headers["content-security-policy"]
    assert csp != API_CSP
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "default-src 'none'" in csp


async def test_swagger_assets_are_swagger_ui_5(client: httpx.AsyncClient) -> None:
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert b"SwaggerUIBundle" in bundle.content
    assert b"openapi" in bundle.content  # renders OpenAPI 3.1 documents


async def test_openapi_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "Agora"
    assert document["info"]["description"].strip()


async def test_both_pages_load_a_document_that_matches_the_routes(
    client: httpx.AsyncClient,
) -> None:
    """The pages point at the served document; every path in it is served with exactly the
    methods it documents (the 405 `Allow` of a method nobody serves tells), and each operation
    has a description and a success answer: a page that renders nothing useful fails."""
    swagger = (await client.get("/docs")).text
    redoc = (await client.get("/redoc")).text
    url = re.search(r'data-openapi-url="([^"]+)"', swagger)
    assert url is not None and f'spec-url="{url.group(1)}"' in redoc
    init = await client.get("/docs/swagger-init.js")
    assert init.status_code == 200 and "dataset.openapiUrl" in init.text  # read by the page

    document = (await client.get(url.group(1))).json()
    assert len(document["paths"]) >= 25
    for path, item in document["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "01900000-0000-7000-8000-000000000000", path)
        refused = await client.request("TRACE", concrete)
        assert refused.status_code == 405, (path, refused.status_code)
        allowed = {m.strip().lower() for m in refused.headers["allow"].split(",")}
        assert allowed - {"head", "options"} == set(item), (path, allowed, set(item))
        for method, operation in item.items():
            assert operation.get("description") or operation.get("summary"), (method, path)
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
