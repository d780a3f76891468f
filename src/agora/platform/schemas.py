"""The base of every DTO: camelCase on the wire, snake_case in Python."""

import re
from typing import Annotated, Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
)
from pydantic.alias_generators import to_camel

from agora.platform.inputs import INT64_MAX, INT64_MIN


def _integral(value: Any) -> Any:
    # JSON has one number type: 3.0 is the integer 3 (JSON Schema agrees). Past 64 bits it
    # stays a float and is refused, like any integer Agora cannot store (agora.platform.inputs).
    if isinstance(value, float) and value.is_integer() and INT64_MIN <= value <= INT64_MAX:
        return int(value)
    return value


Integer = Annotated[StrictInt, BeforeValidator(_integral)]
"""An integer in a request body: a JSON number without a fraction (`3` or `3.0`), never the
string `"3"` or `true` (a client bug to report, not a value to coerce)."""

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_8601(value: Any) -> Any:
    # Pydantic would read a number (or a string of one) as Unix time; Agora's timestamps are
    # ISO 8601 with an offset, as documented, and anything else is a client bug to report.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(
            "expected an ISO 8601 date and time with an offset, e.g. 2027-01-01T00:00:00Z"
        )
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_8601)]
"""A moment in a request: ISO 8601 with an offset (`2027-01-01T00:00:00Z`), never Unix time."""


class ApiModel(BaseModel):
    """Base for request and response bodies.

    Accepts camelCase keys (and the Python names), always writes camelCase, and reads ORM objects.
    Unknown keys in a request body are rejected by `ApiInput` below, never silently dropped.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        from_attributes=True,
    )


def reserved_domain(email: str) -> bool:
    """Whether the address is on a special-use domain (`.test`, `.invalid`, `.local`...),
    which never receives mail. Such an address is well-formed (format: email) nonetheless."""
    domain = email.rpartition("@")[2].lower()
    return any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAIN_NAMES)


def _email(value: str) -> str:
    # The syntax of `format: email`, no DNS. email-validator also refuses special-use domains
    # as syntax; they are well-formed, so the check runs on the same name under `.example`
    # (services refuse them with a 422 of their own: such an address receives no mail).
    local, _, domain = value.rpartition("@")
    checked = f"{local}@{domain}.example" if reserved_domain(value) else value
    try:
        validate_email(checked, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"not a valid email address: {error}") from None
    return value


Email = Annotated[
    str,
    Field(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(_email),
]
"""An email address in a request, checked for syntax as `format: email` promises."""

VISIBLE = r"[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
"""Pattern of required text: at least one character that is not white space. Text is stored as
sent (not trimmed), so that what the schema accepts and what Agora accepts are the same. The
white space is spelled out: `\\S` means other things to Python (which counts U+0085 as space)
and to the ECMA-262 patterns of JSON Schema (which does not)."""


class ApiInput(ApiModel):
    """Base for request bodies: unknown keys are a 400, so that mass assignment cannot happen.

    Use `Integer` (above) and `StrictBool` for numbers and flags: `"5"` or `true` where a
    quantity belongs is a client bug to report, not a value to coerce.
    """

    model_config = ConfigDict(extra="forbid")


def api_fields(model: type[ApiModel]) -> frozenset[str]:
    """The wire (camelCase) names of a DTO's fields, e.g. for a sparse-fieldset whitelist."""
    return frozenset(info.alias or name for name, info in model.model_fields.items())
