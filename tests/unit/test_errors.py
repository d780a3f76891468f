from agora.platform.errors import (
    BadRequest,
    Conflict,
    FieldError,
    NotFound,
    Unauthorized,
    field_path,
    translate_validation_errors,
)


def test_field_path() -> None:
    assert field_path(("body", "items", 0, "quantity")) == "items[0].quantity"
    assert field_path(("query", "limit")) == "limit"
    assert field_path(("body",)) is None
    assert field_path(("header", "x-api-key")) == "x-api-key"


def test_subclass_codes_and_defaults() -> None:
    class InsufficientStock(Conflict):
        code = "insufficient_stock"

    error = InsufficientStock("Only 2 left.", field="quantity")
    assert error.status_code == 409
    assert error.errors == [FieldError("quantity", "insufficient_stock", "Only 2 left.")]
    assert NotFound().message == "The resource was not found."
    assert Unauthorized().headers == {"WWW-Authenticate": "Bearer"}


def test_validation_errors_translate_per_field() -> None:
    error = translate_validation_errors(
        [
            {"type": "missing", "loc": ("body", "email"), "msg": "Field required"},
            {"type": "int_parsing", "loc": ("query", "limit"), "msg": "Input should be an int"},
        ]
    )
    assert error.status_code == 400
    assert [(e.field, e.code) for e in error.errors] == [
        ("email", "required"),
        ("limit", "invalid_type"),
    ]


def test_malformed_json_names_the_reason() -> None:
    error = translate_validation_errors(
        [
            {
                "type": "json_invalid",
                "loc": ("body", 3),
                "msg": "JSON decode error",
                "ctx": {"error": "unexpected end"},
            }
        ]
    )
    assert isinstance(error, BadRequest)
    assert error.message == "The request body is not valid JSON: unexpected end."
