"""The shipped country list (server/data/countries.csv), read once per process."""

from __future__ import annotations

from functools import cache
from importlib import resources

from server.domain.countries import Country, parse_countries
from server.domain.errors import invalid_field


@cache
def countries() -> dict[str, Country]:
    text = resources.files("server.data").joinpath("countries.csv").read_text(encoding="utf-8")
    return parse_countries(text)


def known_country(code: str, *, field: str = "country") -> Country:
    country = countries().get(code.strip().upper())
    if country is None:
        raise invalid_field(field, f"{code[:10]!r} is not an ISO 3166-1 alpha-2 country code")
    return country
