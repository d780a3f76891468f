"""Webhooks end to end: an event committed by a request reaches a real HTTP receiver, signed as
Standard Webhooks says (verified with its reference library), retried by the rules, logged.

The receiver is a real server on 127.0.0.1 (allowed for these tests by
AGORA_WEBHOOK_ALLOWED_NETWORKS); the relay, the fan-out and the dispatcher run in the
instance's background, through RabbitMQ on the PostgreSQL pass.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from standardwebhooks import Webhook

from tests.support.auth import Caller
from tests.support.catalog import make_product
from tests.support.receiver import Answer, receiving

Make = Callable[..., Awaitable[dict[str, Any]]]
ENDPOINTS = "/api/v1/webhook-endpoints"


async def _deliveries(
    client: httpx.AsyncClient, admin: Caller, endpoint_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{ENDPOINTS}/{endpoint_id}/deliveries", headers=admin.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


async def _settled(
    client: httpx.AsyncClient,
    admin: Caller,
    endpoint_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    within: float = 15.0,
) -> list[dict[str, Any]]:
    """The endpoint's deliveries once `done` holds for them."""
    async with asyncio.timeout(within):
        while True:
            found = await _deliveries(client, admin, endpoint_id)
            if found and done(found):
                return found
            await asyncio.sleep(0.05)


def _final(deliveries: list[dict[str, Any]]) -> bool:
    return all(d["status"] != "pending" for d in deliveries)


async def _test_event(client: httpx.AsyncClient, admin: Caller, endpoint_id: str) -> dict[str, Any]:
    sent = await client.post(f"{ENDPOINTS}/{endpoint_id}/test-events", headers=admin.headers)
    assert sent.status_code == 202, sent.text
    delivery: dict[str, Any] = sent.json()["data"]
    return delivery


async def test_a_committed_event_reaches_the_receiver_signed(
    hooks_client: httpx.AsyncClient,
    hooks_admin: Caller,
    hooks_editor: Caller,
    endpoint_for: Make,
) -> None:
    async with receiving() as receiver:
        endpoint = await endpoint_for(receiver.url, ["product.created"])
        assert endpoint["secret"].startswith("whsec_") and endpoint["enabled"] is True
        product = await make_product(hooks_client, hooks_editor)
        (received,) = await receiver.wait_for(1)

    payload = Webhook(endpoint["secret"]).verify(received.body, received.headers)
    assert payload["type"] == "product.created"
    assert payload["data"]["id"] == product["id"] and payload["data"]["sku"] == product["sku"]
    assert payload["timestamp"].endswith("Z")
    assert received.headers["content-type"] == "application/json"
    assert received.headers["host"] == f"127.0.0.1:{receiver.port}"
    events = await hooks_client.get(
        "/api/v1/events",
        params={"subjectId": product["id"], "type": "product.created"},
        headers=hooks_admin.headers,
    )
    (event,) = events.json()["data"]
    assert received.headers["webhook-id"] == event["id"]  # the event's id: stable, correlatable

    (delivery,) = await _settled(hooks_client, hooks_admin, endpoint["id"], _final)
    assert delivery["status"] == "succeeded" and delivery["eventId"] == event["id"]
    (attempt,) = delivery["attempts"]
    assert attempt["outcome"] == "succeeded" and attempt["statusCode"] == 200
    assert attempt["responseBody"] == "ok" and attempt["durationMs"] >= 0
    # Reading an endpoint never shows its secret again.
    again = await hooks_client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=hooks_admin.headers)
    assert "secret" not in again.json()["data"] and endpoint["secret"] not in again.text


async def test_server_errors_are_retried_with_the_same_webhook_id(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller, endpoint_for: Make
) -> None:
    async with receiving(Answer(500), Answer(503), Answer(200)) as receiver:
        endpoint = await endpoint_for(receiver.url)
        await _test_event(hooks_client, hooks_admin, endpoint["id"])
        first, second, third = await receiver.wait_for(3)
        (delivery,) = await _settled(hooks_client, hooks_admin, endpoint["id"], _final)

    assert (
        first.headers["webhook-id"] == second.headers["webhook-id"] == third.headers["webhook-id"]
    )
    for received in (first, second, third):  # each attempt signed afresh
        Webhook(endpoint["secret"]).verify(received.body, received.headers)
    assert delivery["status"] == "succeeded" and delivery["attemptCount"] == 3
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 503, 200]
    assert [a["outcome"] for a in delivery["attempts"]] == ["http_error", "http_error", "succeeded"]


async def test_429_is_retried_after_its_retry_after(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller, endpoint_for: Make
) -> None:
    async with receiving(Answer(429, {"Retry-After": "1"}), Answer(200)) as receiver:
        endpoint = await endpoint_for(receiver.url)
        await _test_event(hooks_client, hooks_admin, endpoint["id"])
        (delivery,) = await _settled(hooks_client, hooks_admin, endpoint["id"], _final)
    first, second = (datetime.fromisoformat(a["attemptedAt"]) for a in delivery["attempts"])
    assert second - first >= timedelta(seconds=0.9)  # not the 0.05 s backoff of these tests
    assert delivery["status"] == "succeeded"


async def test_other_client_errors_and_redirects_are_not_retried(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller, endpoint_for: Make
) -> None:
    async with receiving() as inside:
        redirect = Answer(301, {"Location": f"http://127.0.0.1:{inside.port}/internal"})
        async with (
            receiving(Answer(400, body=b"bad signature?")) as refusing,
            receiving(redirect) as moving,
        ):
            rejected = await endpoint_for(refusing.url)
            moved = await endpoint_for(moving.url)
            await _test_event(hooks_client, hooks_admin, rejected["id"])
            await _test_event(hooks_client, hooks_admin, moved["id"])
            (refused,) = await _settled(hooks_client, hooks_admin, rejected["id"], _final)
            (redirected,) = await _settled(hooks_client, hooks_admin, moved["id"], _final)
            await asyncio.sleep(0.3)  # time for a retry that must not come
            assert len(refusing.received) == 1 and len(moving.received) == 1
        assert inside.received == []  # the redirect was not followed
    assert refused["status"] == "failed" and refused["attemptCount"] == 1
    assert refused["attempts"][0]["responseBody"] == "bad signature?"
    assert redirected["status"] == "failed"
    assert redirected["attempts"][0]["statusCode"] == 301
    assert "not followed" in redirected["attempts"][0]["error"]


async def test_410_gone_disables_the_endpoint_with_an_event(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller, endpoint_for: Make
) -> None:
    async with receiving(Answer(410)) as receiver:
        endpoint = await endpoint_for(receiver.url)
        await _test_event(hooks_client, hooks_admin, endpoint["id"])
        (delivery,) = await _settled(hooks_client, hooks_admin, endpoint["id"], _final)
    assert delivery["status"] == "failed"
    found = await hooks_client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=hooks_admin.headers)
    assert found.json()["data"]["enabled"] is False
    assert found.json()["data"]["disabledReason"] == "gone"
    events = await hooks_client.get(
        "/api/v1/events", params={"subjectId": endpoint["id"]}, headers=hooks_admin.headers
    )
    (event,) = events.json()["data"]
    assert event["type"] == "webhook_endpoint.disabled" and event["payload"]["reason"] == "gone"
    # A disabled endpoint gets no test event until it is enabled again.
    refused = await hooks_client.post(
        f"{ENDPOINTS}/{endpoint['id']}/test-events", headers=hooks_admin.headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "webhook_endpoint_disabled"


async def test_a_hanging_receiver_times_out_and_is_retried(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller, endpoint_for: Make
) -> None:
    async with receiving(Answer(200, delay=5), Answer(200)) as receiver:
        endpoint = await endpoint_for(receiver.url)
        await _test_event(hooks_client, hooks_admin, endpoint["id"])
        (delivery,) = await _settled(hooks_client, hooks_admin, endpoint["id"], _final)
    timed_out, delivered = delivery["attempts"]
    assert timed_out["outcome"] == "timeout" and timed_out["statusCode"] is None
    assert 900 <= timed_out["durationMs"] < 3000  # the 1 s timeout of these tests
    assert delivered["outcome"] == "succeeded"


async def test_a_huge_answer_is_read_only_in_part(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller, endpoint_for: Make
) -> None:
    async with receiving(Answer(200, body=b"", stream_bytes=50 * 1024 * 1024)) as receiver:
        endpoint = await endpoint_for(receiver.url)
        await _test_event(hooks_client, hooks_admin, endpoint["id"])
        (delivery,) = await _settled(hooks_client, hooks_admin, endpoint["id"], _final)
        await asyncio.sleep(0.2)  # the receiver notices the connection closed
    (attempt,) = delivery["attempts"]
    assert attempt["outcome"] == "succeeded" and len(attempt["responseBody"]) == 1024
    (sent,) = receiver.sent
    assert sent < 8 * 1024 * 1024  # it stopped reading: far from the 50 MB on offer


async def test_a_redelivery_sends_the_same_message_again(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller, endpoint_for: Make
) -> None:
    async with receiving(Answer(400), Answer(200)) as receiver:
        endpoint = await endpoint_for(receiver.url)
        queued = await _test_event(hooks_client, hooks_admin, endpoint["id"])
        await _settled(hooks_client, hooks_admin, endpoint["id"], _final)
        again = await hooks_client.post(
            f"/api/v1/webhook-deliveries/{queued['id']}/redeliveries", headers=hooks_admin.headers
        )
        assert again.status_code == 202 and again.json()["data"]["status"] == "pending"
        first, second = await receiver.wait_for(2)
        (delivery,) = await _settled(hooks_client, hooks_admin, endpoint["id"], _final)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == queued["messageId"]
    assert delivery["status"] == "succeeded" and delivery["attemptCount"] == 2
    payload = Webhook(endpoint["secret"]).verify(second.body, second.headers)
    assert payload["type"] == "webhook.test" and payload["data"]["endpointId"] == endpoint["id"]


async def test_after_a_rotation_both_secrets_sign(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller, endpoint_for: Make
) -> None:
    async with receiving() as receiver:
        endpoint = await endpoint_for(receiver.url)
        rotated = await hooks_client.post(
            f"{ENDPOINTS}/{endpoint['id']}/secret-rotations", headers=hooks_admin.headers
        )
        assert rotated.status_code == 201, rotated.text
        new_secret = rotated.json()["data"]["secret"]
        assert new_secret.startswith("whsec_") and new_secret != endpoint["secret"]
        expires = datetime.fromisoformat(rotated.json()["data"]["previousSecretExpiresAt"])
        assert timedelta(hours=23) < expires - datetime.now(expires.tzinfo) <= timedelta(hours=24)
        await _test_event(hooks_client, hooks_admin, endpoint["id"])
        (received,) = await receiver.wait_for(1)
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    Webhook(new_secret).verify(received.body, received.headers)
    Webhook(endpoint["secret"]).verify(received.body, received.headers)


async def test_an_endpoint_failing_past_the_window_is_given_up_and_disabled(
    hooks_app: FastAPI, hooks_client: httpx.AsyncClient, hooks_admin: Caller, endpoint_for: Make
) -> None:
    clock = hooks_app.state.runtime.clock

    async def endpoint_state() -> dict[str, Any]:
        found = await hooks_client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=hooks_admin.headers)
        state: dict[str, Any] = found.json()["data"]
        return state

    async with receiving(Answer(500)) as receiver:
        endpoint = await endpoint_for(receiver.url)
        await _test_event(hooks_client, hooks_admin, endpoint["id"])
        await _settled(hooks_client, hooks_admin, endpoint["id"], lambda d: d[0]["attemptCount"])
        try:
            clock.offset = timedelta(days=3, hours=1)  # past the delivery's 3 days of retries
            (given_up,) = await _settled(hooks_client, hooks_admin, endpoint["id"], _final)
            assert given_up["status"] == "failed" and given_up["nextAttemptAt"] is None
            assert (await endpoint_state())["enabled"] is True  # failing for 3 days: not yet
            clock.offset = timedelta(days=5, hours=1)
            await _test_event(hooks_client, hooks_admin, endpoint["id"])
            await _settled(  # its attempt fails, 5 days after its first failure
                hooks_client, hooks_admin, endpoint["id"], lambda d: d[0]["attemptCount"] > 0
            )
            assert (await endpoint_state())["disabledReason"] == "failing"
            waiting = await _deliveries(hooks_client, hooks_admin, endpoint["id"])
            assert [d["status"] for d in waiting] == ["pending", "failed"]  # newest first

            # Enabled again by an admin, what waited is delivered.
            receiver.answer_with(Answer(200))
            enabled = await hooks_client.patch(
                f"{ENDPOINTS}/{endpoint['id']}", json={"enabled": True}, headers=hooks_admin.headers
            )
            assert enabled.json()["data"]["enabled"] is True
            assert enabled.json()["data"]["disabledReason"] is None
            delivered, _ = await _settled(hooks_client, hooks_admin, endpoint["id"], _final)
        finally:
            clock.offset = timedelta(0)
    assert delivered["status"] == "succeeded"
    assert delivered["attempts"][-1]["statusCode"] == 200


async def test_an_answer_with_nul_bytes_is_logged(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller, endpoint_for: Make
) -> None:
    async with receiving(Answer(200, body=b"ok\x00ok")) as receiver:
        endpoint = await endpoint_for(receiver.url)
        await _test_event(hooks_client, hooks_admin, endpoint["id"])
        (delivery,) = await _settled(hooks_client, hooks_admin, endpoint["id"], _final)
    assert delivery["status"] == "succeeded"  # PostgreSQL stores no NUL in text: replaced
    assert delivery["attempts"][0]["responseBody"] == "ok\ufffdok"


async def test_answers_that_hand_out_signing_secrets_are_never_stored(
    hooks_client: httpx.AsyncClient, hooks_admin: Caller
) -> None:
    """An Idempotency-Key does not keep a copy of a signing secret: a repeat runs again."""
    headers = {**hooks_admin.headers, "Idempotency-Key": "endpoint-1"}
    body = {"url": "http://127.0.0.1:9/hooks", "events": ["refund.created"]}
    made = []
    for _ in range(2):
        response = await hooks_client.post(ENDPOINTS, json=body, headers=headers)
        assert response.status_code == 201 and "idempotent-replayed" not in response.headers
        made.append(response.json()["data"])
    assert made[0]["secret"] != made[1]["secret"]
    rotation = f"{ENDPOINTS}/{made[0]['id']}/secret-rotations"
    secrets = []
    for _ in range(2):
        response = await hooks_client.post(
            rotation, headers={**hooks_admin.headers, "Idempotency-Key": "rotate-1"}
        )
        assert response.status_code == 201 and "idempotent-replayed" not in response.headers
        secrets.append(response.json()["data"]["secret"])
    assert secrets[0] != secrets[1]
    for endpoint in made:
        await hooks_client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=hooks_admin.headers)
