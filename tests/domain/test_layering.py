"""server/domain is pure: it imports no database, Redis, web framework or job queue."""

from __future__ import annotations

import ast
from pathlib import Path

import server.domain

FORBIDDEN = (
    "sqlalchemy",
    "sqlmodel",
    "redis",
    "starlette",
    "arq",
    "asyncpg",
    "aiosqlite",
    "server.",
)
ALLOWED_INSIDE = ("server.domain",)


def test_domain_imports_nothing_with_side_effects() -> None:
    root = Path(server.domain.__file__).parent
    offences = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith(ALLOWED_INSIDE):
                    continue
                if name.startswith(FORBIDDEN) or name in {"server"}:
                    offences.append(f"{path.name}: {name}")
    assert offences == []
    assert len(list(root.rglob("*.py"))) >= 5  # the check looked at real modules
