"""Applying PATCH documents: JSON Merge Patch (RFC 7386) and JSON Patch (RFC 6902).

A patch is applied to the client's view of the resource (its JSON representation); the result is
then validated like a full replacement, so both kinds of PATCH obey the same rules as PUT.
"""

import copy
from typing import Any

import jsonpatch
import jsonpointer
import orjson
from pydantic import BaseModel

from agora.platform.errors import BadRequest, RuleViolation

SAFE_INTEGER = 2**53 - 1

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

MAX_PATCH_OPERATIONS = 100
MAX_PATCH_RESULT_BYTES = 64 * 1024
"""Far above any resource Agora has (a product's editable view is under 32 KiB)."""


class MalformedPatch(BadRequest):
    code = "malformed_patch"
    default_message = "The patch document is not valid."


class PatchFailed(RuleViolation):
    code = "patch_failed"
    default_message = "The patch cannot be applied to the current resource."


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, `null` removes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(document: dict[str, Any], operations: Any) -> Any:
    """RFC 6902. A malformed patch is a 400; one that cannot apply (or fails a `test`) a 422.

    The work is bounded, not only the patch's size: each `copy` can double the document, so
    the operations run one at a time, the bytes copied in all are at most
    `MAX_PATCH_RESULT_BYTES`, and so is the document after every step.
    """
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise MalformedPatch("A JSON Patch is an array of operation objects.", field="body")
    if len(operations) > MAX_PATCH_OPERATIONS:
        raise MalformedPatch(
            f"A JSON Patch may have at most {MAX_PATCH_OPERATIONS} operations.", field="body"
        )
    for index, operation in enumerate(operations):
        kind = operation.get("op")
        if not isinstance(kind, str) or kind not in _MEMBERS:
            raise MalformedPatch(
                f"Operation {index} has no valid op (one of {', '.join(_MEMBERS)}).",
                field=f"body[{index}].op",
            )
        unknown = set(operation) - _MEMBERS[kind]
        if unknown:
            # RFC 6902 ignores members an operation does not define; Agora refuses unknown
            # members everywhere (a misspelt member is a bug to report, not to skip).
            raise MalformedPatch(
                f"Operation {index} has members it does not take: {', '.join(sorted(unknown))}.",
                field=f"body[{index}]",
            )
    try:
        steps = [jsonpatch.JsonPatch([operation]) for operation in operations]
        result = copy.deepcopy(document)
        copied = 0
        for index, (operation, step) in enumerate(zip(operations, steps, strict=True)):
            source = operation.get("from")
            if operation.get("op") == "copy" and isinstance(source, str):
                copied += _size(jsonpointer.resolve_pointer(result, source))
                if copied > MAX_PATCH_RESULT_BYTES:
                    raise _too_large(index, "copies")
            result = step.apply(result, in_place=True)
            if _size(result) > MAX_PATCH_RESULT_BYTES:
                raise _too_large(index, "result")
        return result
    except jsonpatch.InvalidJsonPatch as error:
        raise MalformedPatch(f"Invalid JSON Patch: {error}.", field="body") from None
    except (
        jsonpatch.JsonPatchConflict,
        jsonpatch.JsonPatchTestFailed,
        jsonpointer.JsonPointerException,
    ) as error:
        raise PatchFailed(f"The patch cannot be applied: {error}.", field="body") from None


def _size(value: Any) -> int:
    return len(orjson.dumps(value))


def _too_large(index: int, what: str) -> PatchFailed:
    limit = MAX_PATCH_RESULT_BYTES
    message = (
        f"Operation {index} would copy more than {limit} bytes in all."
        if what == "copies"
        else f"Operation {index} would make the document larger than {limit} bytes."
    )
    return PatchFailed(message, code="patch_too_large", field=f"body[{index}]")


_MEMBERS: dict[Any, frozenset[str]] = {
    **dict.fromkeys(("add", "replace", "test"), frozenset({"op", "path", "value"})),
    "remove": frozenset({"op", "path"}),
    **dict.fromkeys(("move", "copy"), frozenset({"op", "path", "from"})),
}


def _operation(ops: list[str], value: dict[str, Any] | None, *members: str) -> dict[str, Any]:
    pointer = {"type": "string", "description": "JSON Pointer (RFC 6901), e.g. /name."}
    properties: dict[str, Any] = {"op": {"enum": ops}, "path": pointer}
    if "from" in members:
        properties["from"] = pointer
    if value is not None:
        properties["value"] = value
        members = (*members, "value")
    return {
        "type": "object",
        "required": ["op", "path", *members],
        "properties": properties,
        "additionalProperties": False,
    }


def json_patch_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a JSON Patch (RFC 6902) of `model`'s JSON (for OpenAPI): a `value`
    is a field's value (text, an integer, a list of text, null) or the whole document."""
    document = merge_patch_schema(model)
    value = {
        "anyOf": [
            {"type": "string"},
            # Integers every JSON parser keeps exact (I-JSON): no product value needs more.
            {"type": "integer", "minimum": -SAFE_INTEGER, "maximum": SAFE_INTEGER},
            {"type": "array", "items": {"type": "string"}},
            {"type": "null"},
            document,
        ]
    }
    return {
        "type": "array",
        "maxItems": MAX_PATCH_OPERATIONS,
        "items": {
            "oneOf": [
                _operation(["add", "replace", "test"], value),
                _operation(["remove"], None),
                _operation(["move", "copy"], None, "from"),
            ]
        },
    }


def merge_patch_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a merge patch of `model` (for OpenAPI): the same fields, none of them
    required; `null` resets a field that has a default (a field without one may not be null)."""
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.pop("$defs", {})
    return _optional(_inline(schema, definitions))


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            target = _inline(definitions[reference.removeprefix("#/$defs/")], definitions)
            return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    required = set(schema.pop("required", ()))
    schema.pop("title", None)
    properties: dict[str, Any] = {}
    for name, field in schema.get("properties", {}).items():
        field = {key: value for key, value in field.items() if key not in ("title", "default")}
        if field.get("type") == "object":
            field = _optional(field)  # a merge patch merges nested objects too
        if name not in required and "anyOf" not in field:
            field = {"anyOf": [field, {"type": "null"}]}
        properties[name] = field
    schema["properties"] = properties
    return schema
