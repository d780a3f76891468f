"""Applying PATCH documents: JSON Merge Patch (RFC 7386) and JSON Patch (RFC 6902).

A patch is applied to the client's view of the resource (its JSON representation); the result is
then validated like a full replacement, so both kinds of PATCH obey the same rules as PUT.
"""

import copy
from typing import Any

import jsonpatch
import jsonpointer

from agora.platform.errors import BadRequest, RuleViolation

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


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
    """RFC 6902. A malformed patch is a 400; one that cannot apply (or fails a `test`) a 422."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise MalformedPatch("A JSON Patch is an array of operation objects.", field="body")
    if len(operations) > 100:
        raise MalformedPatch("A JSON Patch may have at most 100 operations.", field="body")
    try:
        patch = jsonpatch.JsonPatch(operations)
        return patch.apply(copy.deepcopy(document))
    except jsonpatch.InvalidJsonPatch as error:
        raise MalformedPatch(f"Invalid JSON Patch: {error}.", field="body") from None
    except (
        jsonpatch.JsonPatchConflict,
        jsonpatch.JsonPatchTestFailed,
        jsonpointer.JsonPointerException,
    ) as error:
        raise PatchFailed(f"The patch cannot be applied: {error}.", field="body") from None
