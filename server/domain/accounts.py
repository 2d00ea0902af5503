"""Rules for accounts: what a valid email, handle and password are."""

from __future__ import annotations

import re
from typing import Literal

from server.domain.errors import invalid_field

Stakeholder = Literal[
    "regulator", "policymaker", "operator", "international", "technical", "civil-society", "other"
]
DigestFrequency = Literal["off", "daily", "weekly"]

PASSWORD_MIN = 10
# argon2 hashes whatever it is given; a cap keeps a megabyte password from costing real CPU.
PASSWORD_MAX = 1024
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_HANDLE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,29}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def normalise_email(email: str) -> str:
    """Emails are unique whatever their case: stored and compared lower-cased."""
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise invalid_field("email", "is not an e-mail address")
    return email


def normalise_handle(handle: str) -> str:
    handle = handle.strip().lower().removeprefix("@")
    if not _HANDLE.match(handle):
        raise invalid_field(
            "handle",
            "must be 2 to 30 letters, digits, '.', '_' or '-', starting with one of the first two",
        )
    return handle


def suggest_handle(email: str) -> str:
    """A valid handle made from the part of an e-mail before the @ (for accounts made by admins)."""
    local = email.split("@", 1)[0].lower()
    handle = re.sub(r"[^a-z0-9_.-]", "", local).lstrip("_.-")[:30]
    return handle if len(handle) >= 2 else f"{handle or 'member'}-user"


def check_password(password: str, *, email: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise invalid_field("password", f"must be at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise invalid_field("password", f"must be at most {PASSWORD_MAX} characters")
    if password.strip().lower() == email.strip().lower():
        raise invalid_field("password", "must not be your e-mail address")


def normalise_country(code: str | None) -> str | None:
    if code is None or code == "":
        return None
    code = code.strip().upper()
    if not _COUNTRY.match(code):
        raise invalid_field("country", "must be an ISO 3166-1 alpha-2 code")
    return code


def check_language(language: str) -> str:
    if not _LANGUAGE.match(language):
        raise invalid_field("language", "must be a language tag such as 'en' or 'fr'")
    return language


def check_display_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise invalid_field("display_name", "must be 1 to 80 characters")
    return name
