"""The caching headers every response leaves with: Cache-Control, 304, internal headers."""

from agora.platform.http.caching import SHARED_HEADER, TAGS_HEADER, finish
from agora.platform.http.headers import read_request_headers, request_headers

ETAG = b'"abc"'


def _finish(
    headers: list[tuple[bytes, bytes]], if_none_match: bytes | None = None, status: int = 200
) -> tuple[int, dict[bytes, bytes]]:
    status = finish(status, headers, dict(headers), if_none_match)
    return status, dict(headers)


def _json(*extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", b"2"), *extra]


def test_a_response_without_cache_control_is_not_stored() -> None:
    assert _finish(_json())[1][b"cache-control"] == b"no-store"
    public = _finish(_json((b"cache-control", b"public, max-age=60")))[1]
    assert public[b"cache-control"] == b"public, max-age=60"


def test_internal_cache_headers_never_leave() -> None:
    _, sent = _finish(_json((TAGS_HEADER, b"product:1"), (SHARED_HEADER, b"shared")))
    assert TAGS_HEADER not in sent and SHARED_HEADER not in sent


def test_304_when_if_none_match_matches_the_etag() -> None:
    headers = _json((b"etag", ETAG), (b"cache-control", b"private, no-store"), (b"vary", b"X"))
    status, sent = _finish(headers, b'"other", W/"abc"')
    assert status == 304
    # The validators and cache headers of the 200 it stands for, none of its body's metadata.
    assert sent == {b"etag": ETAG, b"cache-control": b"private, no-store", b"vary": b"X"}


def test_a_gzip_etag_matches_its_identity_form_and_back() -> None:
    coded = _json((b"etag", b'"abc-gzip"'), (b"content-encoding", b"gzip"))
    status, sent = _finish(coded, ETAG)
    assert status == 304 and sent[b"etag"] == b'"abc-gzip"'
    assert _finish(_json((b"etag", ETAG)), b'"abc-gzip"')[0] == 304


def test_no_304_otherwise() -> None:
    assert _finish(_json((b"etag", ETAG)), b'"other"')[0] == 200
    assert _finish(_json((b"etag", ETAG)), None)[0] == 200
    assert _finish(_json(), ETAG)[0] == 200  # nothing to compare with
    assert _finish(_json((b"etag", ETAG)), ETAG, status=201)[0] == 201
    assert _finish(_json((b"etag", ETAG)), ETAG, status=404)[0] == 404


def test_request_headers_are_read_once_and_the_first_of_repeated_ones_counts() -> None:
    scope = {"headers": [(b"accept", b"a"), (b"host", b"h"), (b"accept", b"b")]}
    headers, size = read_request_headers(scope)
    assert headers == {b"accept": b"a", b"host": b"h"}
    assert size == len(b"acceptahosthacceptb")
    scope["headers"] = []  # what is read is kept: no layer reads the list again
    assert request_headers(scope) is headers
