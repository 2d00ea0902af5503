"""Importing initiatives from CSV (the columns of server/data/initiatives-sample.csv).

Every row is checked before anything is written; one bad row and nothing is imported, and every
bad row is reported with its line number and reason.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import get_args

from sqlmodel import col, select

from server.db.models import User
from server.domain.accounts import Stakeholder
from server.domain.content import THEMES
from server.domain.errors import DomainError, Invalid, NotFound
from server.domain.initiatives import INSTRUMENTS, PHASES, STATUSES
from server.feeds.spreadsheet import IMPORT_COLUMNS
from server.services.context import Services
from server.services.initiatives import InitiativeFields, checked_fields, insert_initiative

_CHOICES = {
    "theme": THEMES,
    "stakeholder": get_args(Stakeholder),
    "instrument": INSTRUMENTS,
    "status": STATUSES,
    "phase": PHASES,
}
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Problem:
    line: int  # 1 is the header line
    reason: str


@dataclass(frozen=True, slots=True)
class Checked:
    rows: list[InitiativeFields]
    problems: list[Problem]


def check_file(raw: bytes, *, title_prefix: str = "") -> Checked:
    """Parse and check every row; the problems found, or the rows ready to write."""
    if len(raw) > MAX_BYTES:
        return Checked([], [Problem(0, f"the file is over {MAX_BYTES // 2**20} MiB")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Checked([], [Problem(0, "not a CSV file: it is not UTF-8 text")])
    if "\x00" in text:
        return Checked([], [Problem(0, "not a CSV file: it holds binary data")])
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = reader.fieldnames or []
    except csv.Error as error:
        return Checked([], [Problem(1, f"not a CSV file: {error}")])
    missing = [column for column in IMPORT_COLUMNS if column not in header]
    if missing:
        return Checked([], [Problem(1, f"missing columns: {', '.join(missing)}")])
    rows: list[InitiativeFields] = []
    problems: list[Problem] = []
    try:
        for row in reader:
            line = reader.line_num
            try:
                rows.append(checked_fields(_fields(row, title_prefix)))
            except DomainError as error:
                problems.append(Problem(line, error.message))
    except csv.Error as error:
        problems.append(Problem(reader.line_num, f"not valid CSV: {error}"))
    if not rows and not problems:
        problems.append(Problem(1, "no rows to import"))
    return Checked(rows, problems)


def _fields(row: dict[str, str | None], title_prefix: str) -> InitiativeFields:
    values = {key: (value or "").strip() for key, value in row.items() if key}
    for name, choices in _CHOICES.items():
        if values[name] not in choices:
            raise Invalid(f"{name}: {values[name]!r} is not one of {', '.join(choices)}")
    return InitiativeFields(
        country=values["country"],
        title=title_prefix + values["title"],
        summary=values["summary"],
        theme=values["theme"],
        stakeholder=values["stakeholder"],
        instrument=values["instrument"],
        status=values["status"],
        phase=values["phase"],
        announced_on=_date(values, "announced_on"),
        starts_on=_date(values, "starts_on"),
        ends_on=_date(values, "ends_on"),
        sources=tuple(values["sources"].split()),
        language=values["language"] or "en",
    )


def _date(values: dict[str, str], name: str) -> date | None:
    if not values[name]:
        return None
    try:
        return date.fromisoformat(values[name])
    except ValueError:
        raise Invalid(f"{name}: {values[name]!r} is not a date (YYYY-MM-DD)") from None


async def import_rows(services: Services, *, rows: list[InitiativeFields], email: str) -> int:
    """Write checked rows in one transaction, published by the moderator or admin ``email``."""
    async with services.write() as tx:
        author = (
            await tx.session.exec(select(User).where(User.email == email.strip().lower()))
        ).first()
        if author is None or author.role not in ("moderator", "admin"):
            raise NotFound(f"no moderator or admin account {email!r}")
        for values in rows:
            await insert_initiative(tx, author=author, values=values)
    return len(rows)


async def first_admin_email(services: Services) -> str | None:
    async with services.read() as session:
        admin = (
            await session.exec(
                select(User)
                .where(col(User.role).in_(("admin", "moderator")))
                .order_by(col(User.role), col(User.id))
            )
        ).first()
    return admin.email if admin else None
