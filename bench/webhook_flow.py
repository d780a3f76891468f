"""Webhooks under load: orders placed through HTTP reach a local receiver as signed webhooks.

A web instance takes the orders and an `agora worker` runs the relay, the fan-out and the
dispatcher, with RabbitMQ between them, as in production; a receiver in this process records
when each `order.created` arrives. Reported: events per second from `POST /orders` to the
receiver, the end-to-end lag (receipt minus the event's `timestamp`: commit, outbox, relay,
broker, fan-out, queue, HTTP) at p50 and p99, and the rate of a burst of deliveries.
"""

import asyncio
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


class Receipts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lags: list[float] = []
        self.times: list[float] = []
        self.ids: set[str] = set()

    def add(self, message_id: str, sent_at: str) -> None:
        now = time.time()
        with self.lock:
            if message_id in self.ids:
                return
            self.ids.add(message_id)
            self.times.append(now)
            self.lags.append((now - datetime.fromisoformat(sent_at).timestamp()) * 1000)


@contextmanager
def receiver() -> Iterator[tuple[str, Receipts]]:
    receipts = Receipts()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            payload = json.loads(body)
            receipts.add(self.headers["webhook-id"], payload["timestamp"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", receipts
    finally:
        server.shutdown()
        server.server_close()


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if ordered else 0.0


def _wait(receipts: Receipts, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while len(receipts.ids) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def measure_webhooks(
    base: str,
    admin: dict[str, str],
    place_orders: Callable[[], tuple[Any, int]],
    result_of: Callable[..., Any],
) -> list[Any]:
    """`place_orders()` runs the order load and returns (its wrk result, orders created)."""
    results = []
    with receiver() as (url, receipts):
        endpoint = httpx.post(
            f"{base}/api/v1/webhook-endpoints",
            json={"url": url, "events": ["order.created"], "description": "bench"},
            headers=admin,
            timeout=30,
        ).json()["data"]
        try:
            load, created = place_orders()
            _wait(receipts, created, 120)
            received = len(receipts.ids)
            span = max(receipts.times) - min(receipts.times) if receipts.times else 0.0
            flow = result_of(
                "POST /orders -> webhook received",
                received / span if span else 0.0,
                statistics.median(receipts.lags) if receipts.lags else 0.0,
                _percentile(receipts.lags, 99),
            )
            flow.notes = (
                f"{received} of {created} orders delivered; lag = receipt - event time; "
                f"orders at {load.requests_per_second:.0f}/s"
            )
            results.append(flow)

            # A burst: 2,000 test events queued by 32 clients at once; the rate at which the
            # receiver gets them is the dispatcher's (or the queueing's, if that is slower).
            burst = 2000
            before = len(receipts.ids)
            started = time.monotonic()
            asyncio.run(_queue_test_events(base, admin, endpoint["id"], burst, clients=32))
            queued_in = time.monotonic() - started
            _wait(receipts, before + burst, 120)
            with receipts.lock:
                times = receipts.times[before:]
            drained = len(times)
            span = max(times) - min(times) if times else 0.0
            deliveries = result_of(
                "webhook deliveries, 2,000 test events", drained / span if span else 0.0, 0, 0
            )
            deliveries.notes = f"{drained} of {burst} received; queued in {queued_in:.1f} s"
            results.append(deliveries)
        finally:
            httpx.delete(
                f"{base}/api/v1/webhook-endpoints/{endpoint['id']}", headers=admin, timeout=30
            )
    return results


async def _queue_test_events(
    base: str, admin: dict[str, str], endpoint_id: str, count: int, *, clients: int
) -> None:
    async with httpx.AsyncClient(base_url=base, headers=admin, timeout=30) as client:
        remaining = iter(range(count))

        async def one_client() -> None:
            for _ in remaining:
                await client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/test-events")

        await asyncio.gather(*(one_client() for _ in range(clients)))
