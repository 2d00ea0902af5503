"""The gnrp command: migrate, and user create reading the password from stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


def _gnrp(args: list[str], *, database: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PASSWORD_MEMORY_KIB": "1024"}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=100,
    )


def test_migrate_then_create_an_admin_from_stdin(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    assert _gnrp(["migrate"], database=database).returncode == 0

    created = _gnrp(
        ["user", "create", "--email", "Chair@Regulator.example", "--role", "admin"],
        database=database,
        stdin="a strong admin password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "created admin chair@regulator.example" in created.stdout

    duplicate = _gnrp(
        ["user", "create", "--email", "chair@regulator.example", "--role", "admin"],
        database=database,
        stdin="a strong admin password\n",
    )
    assert duplicate.returncode == 1
    assert "email: taken" in duplicate.stderr

    weak = _gnrp(["user", "create", "--email", "x@example.org"], database=database, stdin="short\n")
    assert weak.returncode == 1 and "password" in weak.stderr
