from hypothesis import given
from hypothesis import strategies as st

from agora.platform.http.request_context import parse_traceparent, sane_request_id


@given(st.binary(max_size=200))
def test_request_id_is_kept_only_if_visible_ascii(value: bytes) -> None:
    kept = sane_request_id(value)
    if kept is not None:
        assert kept.encode() == value
        assert 1 <= len(kept) <= 128
        assert all(0x21 <= byte <= 0x7E for byte in value)


def test_request_id_examples() -> None:
    assert sane_request_id(b"abc-123_XYZ") == "abc-123_XYZ"
    assert sane_request_id(b"a" * 128) == "a" * 128
    assert sane_request_id(b"a" * 129) is None
    assert sane_request_id(b"with space") is None
    assert sane_request_id(b"") is None
    assert sane_request_id(None) is None


def test_traceparent() -> None:
    good = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert parse_traceparent(good) == ("4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert parse_traceparent(good.upper()) is None
    assert parse_traceparent(b"ff" + good[2:]) is None
    assert parse_traceparent(b"00-" + b"0" * 32 + b"-00f067aa0ba902b7-01") is None
    assert parse_traceparent(b"00-4bf92f3577b34da6a3ce929d0e0e4736-" + b"0" * 16 + b"-01") is None
    assert parse_traceparent(b"garbage") is None
