"""One structured JSON access-log line per request, with ids, and the error detail in logs only."""

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from agora.app import create_app
from agora.platform.observability import configure_logging, flush_access_log
from agora.settings import Settings
from tests.conftest import http_client
from tests.support import chassis


@pytest.fixture
async def logged(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[tuple[httpx.AsyncClient, io.BytesIO]]:
    app = create_app(make_settings(log_level="info"))
    app.include_router(chassis.router)
    sink = io.BytesIO()
    configure_logging("info", "json", stream=sink)
    try:
        async with LifespanManager(app), http_client(app) as client:
            yield client, sink
    finally:
        configure_logging("warning", "json")


def _lines(sink: io.BytesIO) -> list[dict[str, Any]]:
    flush_access_log()  # access lines are written in batches
    return [orjson.loads(line) for line in sink.getvalue().splitlines()]


async def test_one_json_line_per_request(logged: tuple[httpx.AsyncClient, io.BytesIO]) -> None:
    client, sink = logged
    response = await client.get("/health?probe=1", headers={"X-Request-ID": "req-123"})
    access = [line for line in _lines(sink) if line.get("logger") == "agora.access"]
    assert len(access) == 1
    line = access[0]
    assert line["event"] == "request"
    assert line["method"] == "GET"
    assert line["path"] == "/health"
    assert line["status"] == 200
    assert line["request_id"] == "req-123" == response.headers["x-request-id"]
    assert len(line["trace_id"]) == 32
    assert line["client"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "info" and line["ts"].endswith("Z")


async def test_unhandled_error_is_logged_with_trace_id_but_not_returned(
    logged: tuple[httpx.AsyncClient, io.BytesIO],
) -> None:
    client, sink = logged
    response = await client.get("/api/v1/_chassis/boom")
    assert response.status_code == 500
    lines = _lines(sink)
    error = next(line for line in lines if line["event"] == "unhandled_error")
    assert error["request_id"] == response.headers["x-request-id"]
    assert "RuntimeError: SELECT password_hash" in error["exception"]
    access = next(line for line in lines if line.get("logger") == "agora.access")
    assert access["status"] == 500


async def test_access_lines_reach_the_sink_within_a_moment(
    logged: tuple[httpx.AsyncClient, io.BytesIO],
) -> None:
    client, sink = logged
    await client.get("/health?x=1")
    before = sink.getvalue()
    await asyncio.sleep(0.25)  # the batch is written within 100 ms without any flush call
    after = sink.getvalue()
    assert b'"logger":"agora.access"' not in before or after != before
    assert b'"path":"/health"' in after
