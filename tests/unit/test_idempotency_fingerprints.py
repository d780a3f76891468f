"""When a repeat under one Idempotency-Key is the same request: path, query and body, with a
JSON body compared as JSON (key order and spacing do not matter; values and types do)."""

from agora.platform.http.idempotency import canonical_body, fingerprint

JSON = b"application/json"


def same(a: bytes, b: bytes, content_type: bytes = JSON) -> bool:
    path, query = "/api/v1/orders", b""
    return fingerprint(path, query, canonical_body(content_type, a)) == fingerprint(
        path, query, canonical_body(content_type, b)
    )


def test_key_order_and_spacing_do_not_matter() -> None:
    assert same(b'{"a": 1, "b": [1, 2]}', b'{"b":[1,2],"a":1}')
    assert same(b'{"x": {"q": 1, "p": 2}}', b'{"x":{"p":2,"q":1}}')
    assert same(b'{"a":1}', b'{"a":1}', b"application/merge-patch+json; charset=utf-8")


def test_values_types_and_array_order_do_matter() -> None:
    assert not same(b'{"a": 1}', b'{"a": 2}')
    assert not same(b'{"a": 1}', b'{"a": "1"}')
    assert not same(b'{"a": [1, 2]}', b'{"a": [2, 1]}')
    assert not same(b'{"a": 1}', b'{"a": 1, "b": null}')


def test_other_bodies_compare_as_bytes() -> None:
    assert not same(b'{"a":1,"b":2}', b'{"b":2,"a":1}', b"text/plain")
    assert not same(b"{not json", b"{not  json")  # unparsable JSON: its bytes
    assert canonical_body(JSON, b"") == b"raw:"


def test_path_and_query_are_part_of_the_request() -> None:
    body = canonical_body(JSON, b"{}")
    base = fingerprint("/api/v1/orders", b"", body)
    assert base != fingerprint("/api/v1/payments", b"", body)
    assert base != fingerprint("/api/v1/orders", b"expand=user", body)
    # The separators keep path, query and body from running into each other.
    assert fingerprint("/a", b"b", b"c") != fingerprint("/ab", b"", b"c")
