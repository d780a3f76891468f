"""Webhook delivery rules, free of I/O: verdicts, backoff, Retry-After, the address guard (over
a fake resolver), signatures (checked with the Standard Webhooks reference library)."""

import ipaddress
import random
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import InvalidToken
from standardwebhooks import Webhook, WebhookVerificationError

from agora.webhooks.addresses import AddressGuard, RefusedUrl, parse, public_part
from agora.webhooks.domain import Outcome, RetryPolicy, Verdict, parse_retry_after, verdict
from agora.webhooks.signing import SecretBox, new_secret, signature_header

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("outcome", "status", "expected"),
    [
        (Outcome.SUCCEEDED, 200, Verdict.DELIVERED),
        (Outcome.SUCCEEDED, 204, Verdict.DELIVERED),
        (Outcome.HTTP_ERROR, 500, Verdict.RETRY),
        (Outcome.HTTP_ERROR, 503, Verdict.RETRY),
        (Outcome.HTTP_ERROR, 408, Verdict.RETRY),
        (Outcome.HTTP_ERROR, 429, Verdict.RETRY),
        (Outcome.TIMEOUT, None, Verdict.RETRY),
        (Outcome.CONNECTION_ERROR, None, Verdict.RETRY),
        (Outcome.HTTP_ERROR, 410, Verdict.GONE),
        (Outcome.HTTP_ERROR, 400, Verdict.FAILED),
        (Outcome.HTTP_ERROR, 401, Verdict.FAILED),
        (Outcome.HTTP_ERROR, 404, Verdict.FAILED),
        (Outcome.HTTP_ERROR, 301, Verdict.FAILED),
        (Outcome.HTTP_ERROR, 307, Verdict.FAILED),
        (Outcome.REFUSED_ADDRESS, None, Verdict.FAILED),
        (Outcome.ERROR, None, Verdict.RETRY),
    ],
)
def test_what_an_attempt_means(outcome: Outcome, status: int | None, expected: Verdict) -> None:
    assert verdict(outcome, status) is expected


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(base_seconds=5, cap_seconds=3600)
    rng = random.Random(7)
    for attempt, ceiling in ((1, 5), (2, 10), (5, 80), (12, 3600), (500, 3600)):
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread, not fixed


def test_retries_stop_when_the_window_closes() -> None:
    policy = RetryPolicy(base_seconds=5, cap_seconds=60)
    rng = random.Random(1)
    until = NOW + timedelta(days=3)
    soon = policy.next_attempt(attempt=1, now=NOW, retry_until=until, retry_after=None, rng=rng)
    assert soon is not None and NOW <= soon <= NOW + timedelta(seconds=5)
    late = until - timedelta(seconds=1)
    assert (
        policy.next_attempt(attempt=3, now=late, retry_until=until, retry_after=120, rng=rng)
        is None
    )


def test_retry_after_is_honoured_within_a_bound() -> None:
    policy = RetryPolicy(max_retry_after_seconds=3600)
    rng = random.Random(1)
    until = NOW + timedelta(days=3)
    at = policy.next_attempt(attempt=1, now=NOW, retry_until=until, retry_after=30, rng=rng)
    assert at == NOW + timedelta(seconds=30)
    capped = policy.next_attempt(attempt=1, now=NOW, retry_until=until, retry_after=10**9, rng=rng)
    assert capped == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Tue, 01 Dec 2026 12:01:00 GMT", 60.0),
        ("Tue, 01 Dec 2026 11:00:00 GMT", 0.0),  # in the past: now
        ("soon", None),
        ("", None),
        (None, None),
        ("-5", None),
        ("\u00b2", None),  # a digit to str.isdigit, not to Retry-After
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


class FakeResolver:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError("Name or service not known")
        return self.answers[host]


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.1"],
        ["93.184.215.14", "10.0.0.1"],  # one inside is enough to refuse
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["::1"],
        ["::ffff:10.0.0.1"],
        ["fd00::1"],
        ["100.64.0.1"],  # carrier-grade NAT
        ["fe80::1%eth0"],
        ["64:ff9b::a00:1"],  # NAT64 of 10.0.0.1
        ["2002:7f00:1::"],  # 6to4 of 127.0.0.1
        ["::a9fe:a9fe"],  # IPv4-compatible 169.254.169.254
        ["fec0::1"],  # site-local
        ["168.63.129.16"],  # a cloud metadata service on a public address
    ],
)
async def test_a_name_resolving_inside_is_refused(addresses: list[str]) -> None:
    guard = AddressGuard(FakeResolver({"hooks.shop.example": addresses}))
    with pytest.raises(RefusedUrl) as refused:
        await guard.resolve(parse("https://hooks.shop.example/agora"))
    assert refused.value.code == "url_address_not_allowed"


async def test_public_addresses_pass_and_allowed_networks_are_let_through() -> None:
    resolver = FakeResolver({"hooks.shop.example": ["93.184.215.14"], "inside": ["10.1.2.3"]})
    guard = AddressGuard(resolver, [ipaddress.ip_network("10.1.0.0/16")])
    assert await guard.resolve(parse("https://hooks.shop.example/x")) == "93.184.215.14"
    assert await guard.resolve(parse("http://inside:8080/x")) == "10.1.2.3"
    with pytest.raises(RefusedUrl, match="does not resolve"):
        await guard.resolve(parse("http://unknown.example/x"))


def test_a_url_is_taken_apart_for_the_request() -> None:
    target = parse("https://Hooks.Shop.example:8443/in/agora?source=agora#top")
    assert (target.scheme, target.host, target.port) == ("https", "hooks.shop.example", 8443)
    assert target.path == "/in/agora?source=agora"
    assert target.host_header == "hooks.shop.example:8443"
    assert parse("http://[2001:db8::1]/").host_header == "[2001:db8::1]"
    assert parse("https://shop.example").path == "/"


def test_signatures_verify_with_the_reference_library_and_both_secrets_sign() -> None:
    old, new = new_secret(), new_secret()
    assert old.startswith("whsec_") and old != new
    now = datetime.now(UTC)
    body = b'{"type":"order.paid","timestamp":"2026-12-01T12:00:00Z","data":{}}'
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature_header([new, old], "msg_1", now, body),
    }
    assert Webhook(new).verify(body, headers)["type"] == "order.paid"
    assert Webhook(old).verify(body, headers)["type"] == "order.paid"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace(b"paid", b"cancelled"), headers)


def test_secrets_are_sealed_at_rest() -> None:
    box = SecretBox(b"instance-secret-0123456789abcdef")
    secret = new_secret()
    sealed = box.seal(secret)
    assert secret not in sealed and box.open(sealed) == secret
    with pytest.raises(InvalidToken):
        SecretBox(b"another-instance-secret-01234567").open(sealed)


def test_retry_after_zero_still_waits_the_first_backoff_step() -> None:
    policy = RetryPolicy(base_seconds=5)
    at = policy.next_attempt(
        attempt=1, now=NOW, retry_until=NOW + timedelta(days=1), retry_after=0, rng=random.Random()
    )
    assert at == NOW + timedelta(seconds=5)


@pytest.mark.parametrize(
    "url",
    ["https://shop.example/\x01", "https://shop .example/", "https://shop.example:0/", "http://"],
)
def test_urls_no_client_could_send_are_refused(url: str) -> None:
    with pytest.raises(RefusedUrl) as refused:
        parse(url)
    assert refused.value.code == "url_invalid"


def test_international_names_are_sent_in_their_ascii_form() -> None:
    target = parse("https://b\u00fccher.example/hooks")
    assert target.host == "xn--bcher-kva.example"
    assert target.host_header == "xn--bcher-kva.example"


def test_the_disabled_event_shows_no_query_string() -> None:
    assert public_part("https://u:p@shop.example:8443/in?token=abc#x") == "https://shop.example/in"
