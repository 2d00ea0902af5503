"""`gnrp import initiatives` and `gnrp demo`: every row checked first, all or nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.db.models import Initiative
from server.services.context import Services
from server.services.importing import check_file, import_rows
from tests.helpers import count, make_user

pytestmark = pytest.mark.timeout(120)
SAMPLE = Path(__file__).resolve().parent.parent / "server" / "data" / "initiatives-sample.csv"
HEADER = SAMPLE.read_text().splitlines()[0]


def test_the_shipped_sample_checks_clean() -> None:
    checked = check_file(SAMPLE.read_bytes())
    assert checked.problems == [] and len(checked.rows) == 40


def test_bad_files_and_rows_are_reported_by_line() -> None:
    assert (
        check_file(b"\x89PNG\r\n\x1a\n\x00\x00binary")
        .problems[0]
        .reason.startswith("not a CSV file")
    )
    assert check_file("caf\xe9".encode("latin-1")).problems[0].reason.startswith("not a CSV file")
    missing = check_file(b"country,title\nKE,x\n").problems
    assert missing[0].line == 1 and "missing columns: summary" in missing[0].reason

    good = SAMPLE.read_text().splitlines()[1]
    rows = [
        HEADER,
        good,
        good.replace("US,", "XX,", 1),
        good,
        good.replace(",spectrum,", ",weather,"),
    ]
    problems = check_file("\n".join(rows).encode()).problems
    assert [p.line for p in problems] == [3, 5]
    assert "country" in problems[0].reason and "theme" in problems[1].reason


async def test_an_import_writes_all_rows_or_none(services: Services) -> None:
    await make_user(services, role="admin", handle="importer")
    good = SAMPLE.read_text().splitlines()[1]
    bad_file = "\n".join([HEADER, good, good.replace(",2020-03-15,", ",15/03/2020,")]).encode()
    checked = check_file(bad_file)
    assert [p.line for p in checked.problems] == [3]
    assert await count(services, Initiative) == 0  # checking writes nothing

    checked = check_file(SAMPLE.read_bytes())
    assert await import_rows(services, rows=checked.rows, email="importer@example.org") == 40
    assert await count(services, Initiative) == 40


def _gnrp(args: list[str], database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PASSWORD_MEMORY_KIB": "1024"}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True, text=True, env=env, check=False, timeout=100,
    )  # fmt: skip


def test_the_commands_report_and_import(tmp_path: Path) -> None:
    database = tmp_path / "import.db"
    assert _gnrp(["migrate"], database).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, SAMPLE.read_text().splitlines()[1].replace("US,", "ZZ,", 1)]))
    no_admin = _gnrp(["import", "initiatives", str(SAMPLE)], database)
    assert no_admin.returncode == 1 and "no admin account" in no_admin.stderr
    demo = _gnrp(["demo"], database)
    assert demo.returncode == 0 and "40 sample measures" in demo.stdout
    refused = _gnrp(["import", "initiatives", str(bad)], database)
    assert refused.returncode == 1
    assert f"{bad}:2: country" in refused.stderr and "nothing imported" in refused.stderr
    again = _gnrp(["demo"], database)
    assert "already there" in again.stdout
    imported = _gnrp(["import", "initiatives", str(SAMPLE)], database)
    assert imported.returncode == 0 and "imported 40 initiatives" in imported.stdout
