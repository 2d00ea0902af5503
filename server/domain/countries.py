"""Countries (ISO 3166-1 alpha-2) and the six ITU-D regions."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Literal, get_args

Region = Literal["africa", "americas", "arab-states", "asia-pacific", "cis", "europe"]
REGIONS: tuple[str, ...] = get_args(Region)


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    name: str
    region: str


def parse_countries(text: str) -> dict[str, Country]:
    """The countries of a ``code,name,region`` CSV (lines starting with ``#`` are comments)."""
    lines = (line for line in text.splitlines(True) if not line.startswith("#"))
    rows = csv.DictReader(io.StringIO("".join(lines)))
    countries = {}
    for row in rows:
        if row["region"] not in REGIONS:
            raise ValueError(f"{row['code']}: unknown region {row['region']!r}")
        countries[row["code"]] = Country(row["code"], row["name"], row["region"])
    return countries
