"""What every request input must satisfy, whatever the route: one rule each, checked at the edge.

- **Text** never contains NUL (U+0000): PostgreSQL cannot store it, and no field of Agora's needs
  it. Applies to JSON strings and keys and to query parameter names and values.
- **Integers** fit a signed 64-bit column (-2^63 .. 2^63-1): both engines store no more, and a
  value beyond would fail in the driver instead of being refused with a field error.
- **Nesting**: a JSON document is at most `MAX_JSON_DEPTH` levels deep, so that no recursive
  step later (a merge patch, validation) can exhaust the stack.
- **Query parameters** appear once each, unless the route declares a list: a repeated scalar
  would otherwise silently take the last value.

Each violation is a 400 with one entry per offending field. The JSON checks walk the parsed
document only when a cheap scan of the raw bytes says one could fail (an escaped NUL, a run of
19 digits, more brackets than the depth limit), so a normal body costs three byte scans.
"""

import re
from collections.abc import Iterable
from typing import Any

from agora.platform.errors import FieldError, ValidationFailed

MAX_JSON_DEPTH = 32
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_ESCAPED_NUL = b"\\u0000"
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def text_is_clean(value: str) -> bool:
    return "\x00" not in value


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def json_problems(document: Any, raw: bytes) -> list[FieldError]:
    """Violations of the rules above in a parsed JSON body (`raw`: its bytes)."""
    if (
        _ESCAPED_NUL not in raw
        and raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH
        and _LONG_NUMBER.search(raw) is None
    ):
        return []
    problems: list[FieldError] = []
    stack: list[tuple[Any, str, int]] = [(document, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                problems.append(
                    FieldError(
                        path or "body",
                        "too_deep",
                        f"JSON may nest at most {MAX_JSON_DEPTH} levels.",
                    )
                )
                continue
            items: Iterable[tuple[Any, Any]] = (
                value.items() if isinstance(value, dict) else enumerate(value)
            )
            for key, item in items:
                if isinstance(key, str) and not text_is_clean(key):
                    problems.append(_nul(_path(path, key.replace("\x00", "\\u0000"))))
                    continue
                stack.append((item, _path(path, key), depth + 1))
        elif isinstance(value, str):
            if not text_is_clean(value):
                problems.append(_nul(path or "body"))
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not INT64_MIN <= value <= INT64_MAX
        ):
            problems.append(
                FieldError(
                    path or "body",
                    "out_of_range",
                    "Integers must fit in 64 bits (-2^63 to 2^63-1).",
                )
            )
    problems.sort(key=lambda problem: problem.field or "")
    return problems


def query_problems(
    items: Iterable[tuple[str, str]], repeatable: frozenset[str] = frozenset()
) -> list[FieldError]:
    """Violations in a query string's (name, value) pairs."""
    problems: list[FieldError] = []
    seen: set[str] = set()
    for name, value in items:
        if not (text_is_clean(name) and text_is_clean(value)):
            problems.append(_nul(name.replace("\x00", "\\u0000")))
        elif name in seen and name not in repeatable:
            problems.append(
                FieldError(name, "duplicate_parameter", f"{name!r} may be given only once.")
            )
        seen.add(name)
    return problems


def check_query(items: Iterable[tuple[str, str]], repeatable: frozenset[str] = frozenset()) -> None:
    problems = query_problems(items, repeatable)
    if problems:
        raise ValidationFailed(errors=problems)


def check_json(document: Any, raw: bytes) -> None:
    problems = json_problems(document, raw)
    if problems:
        raise ValidationFailed(errors=problems)


def _nul(field: str) -> FieldError:
    return FieldError(field, "invalid_character", "Text must not contain the NUL character.")
