"""`?q=` text search: PostgreSQL full-text search with a GIN index, SQLite LIKE.

The PostgreSQL expression is exactly the one `ix_products_search` indexes, so the planner uses
the index; every word of the query must appear (the `simple` configuration: no stemming).
SQLite has no such index and matches the phrase as a case-insensitive substring.
"""

from typing import Any

from sqlalchemy import Boolean, ColumnElement
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class matches_text(FunctionElement[bool]):
    """`matches_text(document, query)`: True when the text document matches the search query."""

    type = Boolean()
    inherit_cache = True
    name = "matches_text"


@compiles(matches_text, "postgresql")
def _postgresql(element: matches_text, compiler: Any, **kw: Any) -> str:
    document, query = list(element.clauses)
    return (
        f"to_tsvector('simple', {compiler.process(document, **kw)}) "
        f"@@ plainto_tsquery('simple', {compiler.process(query, **kw)})"
    )


@compiles(matches_text)
def _portable(element: matches_text, compiler: Any, **kw: Any) -> str:
    document, query = list(element.clauses)
    needle = compiler.process(query, **kw)
    haystack = compiler.process(document, **kw)
    # LIKE wildcards in the query match themselves: escape \, % and _ with a backslash.
    escaped = rf"replace(replace(replace({needle}, '\', '\\'), '%', '\%'), '_', '\_')"
    return rf"lower({haystack}) LIKE '%' || lower({escaped}) || '%' ESCAPE '\'"


def text_search(document: ColumnElement[str], query: str) -> ColumnElement[bool]:
    return matches_text(document, query)
