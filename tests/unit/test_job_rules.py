"""Pure rules of imports, reports and idempotent uploads."""

from agora.catalog.imports import ImportRow, parse_row
from agora.ordering.reports import spreadsheet_safe
from agora.platform.http.idempotency import canonical_body

CELLS = {
    "sku": "KETTLE-1",
    "name": "Kettle",
    "description": "",
    "priceCents": "4500",
    "currency": "",
    "status": "",
    "tags": "",
    "stock": "",
}


def test_empty_optional_cells_take_the_defaults_of_a_new_product() -> None:
    row = parse_row(2, CELLS)
    assert isinstance(row, ImportRow)
    assert (row.currency, row.status.value, row.stock, row.tags) == ("USD", "draft", 0, [])


def test_tags_are_split_on_bars_and_normalised() -> None:
    row = parse_row(2, {**CELLS, "tags": "Coffee| kitchen ||coffee"})
    assert isinstance(row, ImportRow)
    assert row.tags == ["coffee", "kitchen"]


def test_a_number_that_is_not_whole_is_reported_once() -> None:
    errors = parse_row(7, {**CELLS, "priceCents": "12.5", "stock": "x"})
    assert isinstance(errors, list)
    assert [(e["row"], e["field"], e["code"]) for e in errors] == [
        (7, "priceCents", "invalid_integer"),
        (7, "stock", "invalid_integer"),
    ]


def test_formula_like_cells_are_kept_as_text() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheet_safe(text) == "'" + text
    for text in ("Kettle", "1-2", "a=b", ""):
        assert spreadsheet_safe(text) == text


def test_two_tries_of_one_upload_fingerprint_alike_whatever_their_boundaries() -> None:
    def body(boundary: bytes, content: bytes = b"a,b\n") -> bytes:
        return (
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
            b'filename="p.csv"\r\n\r\n' + content + b"\r\n--" + boundary + b"--\r\n"
        )

    def canonical(boundary: bytes, content: bytes = b"a,b\n") -> bytes:
        kind = b"multipart/form-data; boundary=" + boundary
        return canonical_body(kind, body(boundary, content))

    assert canonical(b"abc123") == canonical(b"zzz999")
    assert canonical(b"abc123") != canonical(b"abc123", b"a,c\n")
