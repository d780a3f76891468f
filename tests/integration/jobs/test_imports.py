"""POST /products/imports: a CSV checked as it arrives, imported row by row by a job."""

import uuid
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from agora.jobs.models import Job
from agora.settings import Settings
from tests.integration.jobs.conftest import HEADER, job, run_jobs, upload
from tests.support.assertions import assert_error
from tests.support.auth import Caller
from tests.support.catalog import make_product
from tests.support.random_refs import unique


def _sku() -> str:
    return unique("imp").replace("_", "-")[:60]


async def test_valid_rows_are_imported_and_each_invalid_one_is_reported_by_row_and_field(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    existing = await make_product(client, editor, admin=admin)
    good, tagged, dup = _sku(), _sku(), _sku()
    csv = "\r\n".join(
        [
            HEADER,
            f"{good},Pour-over kettle,Gooseneck,4500,EUR,active,coffee|kitchen,7",  # row 2
            f"{tagged},Burr grinder,,12000,,,,",  # row 3: defaults
            '"bad sku!",Thing,,100,USD,draft,,1',  # row 4: sku
            f"{_sku()},,,100,USD,draft,,1",  # row 5: name missing
            f"{_sku()},Cheap,,-5,USD,draft,,1",  # row 6: negative price
            f"{_sku()},Odd,,12.50,USD,draft,,1",  # row 7: not a whole number
            f"{_sku()},Gone,,100,USD,archived,,1",  # row 8: archived
            f"{dup},First,,100,USD,draft,,1",  # row 9
            f"{dup},Second,,100,USD,draft,,1",  # row 10: duplicate in the file
            f"{existing['sku']},Taken,,100,USD,draft,,1",  # row 11: already in the catalog
            f"{_sku()},Wide,,100,USD,draft,,1,extra",  # row 12: a cell too many
            "",
        ]
    ).encode()
    response = await upload(client, editor, csv)
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    queued = response.json()["data"]
    assert location.endswith(f"/api/v1/jobs/{queued['id']}")
    assert queued["status"] == "queued" and queued["type"] == "product_import"

    assert await run_jobs(app) >= 1
    done = await job(client, editor, location)
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"done": 11, "total": 11}
    assert done["finishedAt"] is not None and done["error"] is None
    result = done["result"]
    assert (result["imported"], result["failed"]) == (3, 8)
    reported = {(e["row"], e["field"], e["code"]) for e in result["errors"]}
    assert reported == {
        (4, "sku", "invalid_format"),
        (5, "name", "too_short"),
        (6, "priceCents", "out_of_range"),
        (7, "priceCents", "invalid_integer"),
        (8, "status", "invalid_status"),
        (10, "sku", "duplicate_sku"),
        (11, "sku", "duplicate_sku"),
        (12, None, "too_many_cells"),
    }, result["errors"]

    events = await client.get(
        "/api/v1/events", params={"type": "product.created", "limit": 100}, headers=admin.headers
    )
    created = {e["payload"]["sku"]: e["payload"]["id"] for e in events.json()["data"]}
    assert {good, tagged, dup} <= created.keys()  # each announced, as any new product is
    kettle = (await client.get(f"/api/v1/products/{created[good]}")).json()["data"]
    assert (kettle["priceCents"], kettle["currency"], kettle["stock"]) == (4500, "EUR", 7)
    assert kettle["tags"] == ["coffee", "kitchen"] and kettle["description"] == "Gooseneck"
    grinder = await client.get(f"/api/v1/products/{created[tagged]}", headers=editor.headers)
    grinder_data = grinder.json()["data"]
    assert (grinder_data["status"], grinder_data["currency"], grinder_data["stock"]) == (
        "draft",
        "USD",
        0,
    )
    first = await client.get(f"/api/v1/products/{created[dup]}", headers=editor.headers)
    assert first.json()["data"]["name"] == "First"


async def test_a_retried_upload_with_the_same_key_gets_the_same_job_and_imports_once(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller
) -> None:
    sku = _sku()
    csv = f"{HEADER}\n{sku},Kettle,,100,USD,draft,,1\n".encode()
    key = unique("import")
    first = await upload(client, editor, csv, key=key)
    second = await upload(client, editor, csv, key=key)
    assert first.status_code == second.status_code == 202
    assert first.json()["data"]["id"] == second.json()["data"]["id"]
    assert second.headers.get("idempotent-replayed") == "true"
    await run_jobs(app)
    third = await upload(client, editor, csv, key=key)
    assert third.json()["data"]["id"] == first.json()["data"]["id"]
    await run_jobs(app)
    done = await job(client, editor, first.headers["location"])
    assert done["result"]["imported"] == 1


async def test_a_file_that_cannot_be_imported_is_refused_at_once(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    cases = {
        "invalid_columns": b"sku,name,price\nA,B,1\n",
        "empty_file": b"",
        "invalid_encoding": f"{HEADER}\nA1,Cr\xe8me,,1,USD,draft,,1\n".encode("latin-1"),
        "binary_file": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    }
    for code, content in cases.items():
        response = await upload(client, editor, content)
        assert_error(response, 422, code)
        assert response.json()["errors"][0]["field"] == "file"
    unknown = await upload(client, editor, f"{HEADER},color\nA,B,,1,USD,draft,,1,red\n".encode())
    assert_error(unknown, 422, "invalid_columns")
    assert "unknown 'color'" in unknown.json()["message"]
    missing = await upload(client, editor, b"sku,name,priceCents\nA,B,1\n")
    assert "missing description, currency, status, tags, stock" in missing.json()["message"]
    not_multipart = await client.post(
        "/api/v1/products/imports", content=b"sku\n", headers={**editor.headers,
        "Content-Type": "text/csv"}
    )  # fmt: skip
    assert_error(not_multipart, 415)
    no_file = await client.post(
        "/api/v1/products/imports", files={"other": ("x", b"1")}, headers=editor.headers
    )
    assert_error(no_file, 400, "required")


async def test_a_file_past_the_limit_is_413_while_it_streams(
    client: httpx.AsyncClient, editor: Caller, settings: Settings
) -> None:
    """200 MB are refused without being read whole: the body limit stops the stream."""
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        boundary = b"--agora-boundary\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        yield b"Content-Type: text/csv\r\n\r\n" + HEADER.encode() + b"\n"
        row = b"SKU-1,Name,,100,USD,draft,,1\n" * 4096
        while sent < 200 * 1024 * 1024:
            sent += len(row)
            yield row
        yield b"\r\n--agora-boundary--\r\n"

    response = await client.post(
        "/api/v1/products/imports",
        content=body(),
        headers={
            **editor.headers,
            "Content-Type": "multipart/form-data; boundary=agora-boundary",
        },
    )
    assert_error(response, 413)
    assert sent < settings.import_max_bytes + 8 * 1024 * 1024  # stopped early, not read whole


async def test_a_job_is_its_creators_and_the_admins_and_nobody_elses(
    client: httpx.AsyncClient, editor: Caller, admin: Caller, customer: Caller
) -> None:
    response = await upload(client, editor, f"{HEADER}\n{_sku()},K,,1,USD,draft,,1\n".encode())
    location = response.headers["location"]
    assert (await client.get(location, headers=editor.headers)).status_code == 200
    assert (await client.get(location, headers=admin.headers)).status_code == 200
    assert_error(await client.get(location, headers=customer.headers), 404)
    assert_error(await client.get(location), 401)
    assert_error(await client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=admin.headers), 404)
    assert_error(await upload(client, customer, f"{HEADER}\n".encode()), 403)


async def test_a_file_with_more_rows_than_allowed_fails_and_imports_nothing(
    app: FastAPI, client: httpx.AsyncClient, editor: Caller, admin: Caller
) -> None:
    limit = app.state.runtime.settings.import_max_rows
    app.state.runtime.settings.__dict__["import_max_rows"] = 3  # this instance, this test
    handler = app.state.job_runner.handlers["product_import"]
    handler.max_rows = 3
    try:
        skus = [_sku() for _ in range(4)]
        rows = "".join(f"{sku},K,,1,USD,draft,,1\n" for sku in skus)
        response = await upload(client, editor, f"{HEADER}\n{rows}".encode())
        await run_jobs(app)
    finally:
        handler.max_rows = limit
        app.state.runtime.settings.__dict__["import_max_rows"] = limit
    failed = await job(client, editor, response.headers["location"])
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "too_many_rows"
    assert failed["result"] is None and failed["resultUrl"] is None
    async with app.state.runtime.database.session() as session:
        row = await session.get(Job, uuid.UUID(failed["id"]))
    assert row is not None and row.input_key is not None
    assert await app.state.runtime.storage.size(row.input_key) is None  # the upload is gone
    events = await client.get(
        "/api/v1/events", params={"type": "product.created", "limit": 100}, headers=admin.headers
    )
    assert not {e["payload"]["sku"] for e in events.json()["data"]} & set(skus)
