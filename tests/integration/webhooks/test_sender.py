"""A delivery attempt connects to the address the guard checked, and checks again each time."""

import ipaddress
from datetime import UTC, datetime

from agora.webhooks.addresses import AddressGuard
from agora.webhooks.domain import Outcome
from agora.webhooks.sender import Sender
from tests.support.receiver import receiving


class Names:
    """A resolver whose answers a test changes (a name pointed elsewhere later)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked += 1
        return self.answers[host]


async def test_the_request_goes_to_the_checked_address_under_the_urls_name() -> None:
    names = Names({"hooks.shop.example": ["127.0.0.1"]})
    sender = Sender(
        AddressGuard(names, [ipaddress.ip_network("127.0.0.0/8")]), timeout=2, user_agent="t"
    )
    try:
        async with receiving() as receiver:
            url = f"http://hooks.shop.example:{receiver.port}/in?x=1"
            result = await sender.send(url, {"webhook-id": "m1"}, b"{}", datetime.now(UTC))
            (received,) = receiver.received
            # hooks.shop.example does not exist: reaching it proves no second lookup was made.
            assert result.outcome is Outcome.SUCCEEDED and names.asked == 1
            assert received.headers["host"] == f"hooks.shop.example:{receiver.port}"
            assert received.path == "/in?x=1" and received.headers["webhook-id"] == "m1"

            names.answers["hooks.shop.example"] = ["10.0.0.1"]  # pointed inside, later
            again = await sender.send(url, {}, b"{}", datetime.now(UTC))
            assert again.outcome is Outcome.REFUSED_ADDRESS and len(receiver.received) == 1
    finally:
        await sender.aclose()


async def test_without_an_allowed_network_loopback_is_refused_at_delivery() -> None:
    sender = Sender(AddressGuard(Names({"loopback": ["127.0.0.1"]})), timeout=2, user_agent="t")
    try:
        async with receiving() as receiver:
            result = await sender.send(
                f"http://loopback:{receiver.port}/", {}, b"{}", datetime.now(UTC)
            )
            assert result.outcome is Outcome.REFUSED_ADDRESS and receiver.received == []
    finally:
        await sender.aclose()


async def test_a_closed_port_is_a_connection_error() -> None:
    async with receiving() as receiver:
        port = receiver.port
    sender = Sender(
        AddressGuard(Names({"127.0.0.1": ["127.0.0.1"]}), [ipaddress.ip_network("127.0.0.0/8")]),
        timeout=2,
        user_agent="t",
    )
    try:
        result = await sender.send(f"http://127.0.0.1:{port}/", {}, b"{}", datetime.now(UTC))
    finally:
        await sender.aclose()
    assert result.outcome is Outcome.CONNECTION_ERROR and result.status_code is None
