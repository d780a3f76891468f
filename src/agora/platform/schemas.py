"""The base of every DTO: camelCase on the wire, snake_case in Python."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


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


class ApiInput(ApiModel):
    """Base for request bodies: unknown keys are a 400, so that mass assignment cannot happen.

    Use `StrictInt`/`StrictBool` (from pydantic) for numbers and flags: `"5"` or `true` where a
    quantity belongs is a client bug to report, not a value to coerce.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def api_fields(model: type[ApiModel]) -> frozenset[str]:
    """The wire (camelCase) names of a DTO's fields, e.g. for a sparse-fieldset whitelist."""
    return frozenset(info.alias or name for name, info in model.model_fields.items())
