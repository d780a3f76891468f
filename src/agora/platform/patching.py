"""Applying PATCH documents: JSON Merge Patch (RFC 7386) and JSON Patch (RFC 6902).

A patch is applied to the client's view of the resource (its JSON representation); the result is
then validated like a full replacement, so both kinds of PATCH obey the same rules as PUT.
"""

import copy
from typing import Any

import jsonpatch
import jsonpointer
import orjson

from agora.platform.errors import BadRequest, RuleViolation

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
