from agora.platform.etags import compute_etag, if_match, none_match, parse_etags


def test_etag_is_a_quoted_digest_of_the_bytes() -> None:
    tag = compute_etag(b'{"a":1}')
    assert tag.startswith('"') and tag.endswith('"') and len(tag) == 24
    assert compute_etag(b'{"a":1}') == tag
    assert compute_etag(b'{"a":2}') != tag


def test_parse() -> None:
    assert parse_etags(None) is None
    assert parse_etags("*") == "*"
    assert parse_etags('"a", W/"b" ,junk') == frozenset({'"a"', 'W/"b"'})
    assert parse_etags("junk") is None


def test_if_none_match_uses_weak_comparison_and_ignores_coding() -> None:
    tag = '"abc"'
    assert none_match('"abc"', tag)
    assert none_match('W/"abc"', tag)
    assert none_match('"abc-gzip"', tag)
    assert none_match('"x", "abc"', tag)
    assert none_match("*", tag)
    assert not none_match('"xyz"', tag)
    assert not none_match(None, tag)


def test_if_match_uses_strong_comparison() -> None:
    tag = '"abc"'
    assert if_match(None, tag)
    assert if_match('"abc"', tag)
    assert if_match('"abc-gzip"', tag)
    assert not if_match('W/"abc"', tag)
    assert not if_match('"xyz"', tag)
    assert not if_match("garbage", tag)
    assert if_match("*", tag)
    assert not if_match("*", None)
    assert not if_match('"abc"', None)
