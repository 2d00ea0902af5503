"""Initiatives as CSV, in the columns the importer reads, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

IMPORT_COLUMNS = (
    "country", "title", "summary", "theme", "stakeholder", "instrument", "status", "phase",
    "announced_on", "starts_on", "ends_on", "sources", "language",
)  # fmt: skip
EXPORT_COLUMNS = ("id", *IMPORT_COLUMNS, "verification", "updated_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def csv_rows(initiatives: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(EXPORT_COLUMNS)
    yield flush()
    for initiative in initiatives:
        values = {
            **initiative,
            "sources": " ".join(initiative["sources"]),
            "verification": initiative["verification"]["state"],
        }
        writer.writerow([neutralise(str(values.get(c) or "")) for c in EXPORT_COLUMNS])
        yield flush()
