"""The audit log: hash-chained, append-only, readable by moderators, verified end to end."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select, update

from server.db.models import AuditEntry
from server.services.audit import verify_chain
from server.services.context import Services
from tests.conftest import ClientFactory
from tests.helpers import make_room, signed_in


async def _three_actions(client_factory: ClientFactory, services: Services) -> None:
    moderator = await client_factory()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="one")
    await make_room(moderator, slug="two")
    await moderator.patch("/api/rooms/one", json={"title": "One, renamed"})


async def test_entries_chain_and_moderators_read_them(
    new_client: ClientFactory, services: Services
) -> None:
    await _three_actions(new_client, services)
    report = await verify_chain(services)
    assert report.broken is None and report.entries == 3
    async with services.read() as session:
        entries = (await session.exec(select(AuditEntry).order_by(AuditEntry.seq))).all()  # type: ignore[arg-type]
    assert [e.seq for e in entries] == [1, 2, 3]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))

    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    listed = (await moderator.get("/api/audit")).json()["entries"]
    assert [e["action"] for e in listed] == ["room.update", "room.create", "room.create"]
    only = (await moderator.get("/api/audit?target=room:one")).json()["entries"]
    assert [e["action"] for e in only] == ["room.update", "room.create"]
    assert (await moderator.get("/api/audit?action=room.update")).json()["entries"][0]["data"] == {
        "changed": {"title": "One, renamed"}
    }
    member = await new_client()
    await signed_in(member, services)
    assert (await member.get("/api/audit")).status_code == 403
    assert (await (await new_client()).get("/api/audit")).status_code == 401


async def test_tampering_with_one_row_is_found_and_named(
    new_client: ClientFactory, services: Services
) -> None:
    await _three_actions(new_client, services)
    async with services.write() as tx:
        await tx.session.exec(
            update(AuditEntry).where(AuditEntry.seq == 2).values(reason="nothing to see")  # type: ignore[arg-type]
        )
    report = await verify_chain(services)
    assert report.broken is not None and report.broken.seq == 2
    assert "contents" in report.why


def test_gnrp_audit_verify_names_the_broken_entry(tmp_path: Path) -> None:
    database = tmp_path / "audit.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PASSWORD_MEMORY_KIB": "1024"}

    def gnrp(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            capture_output=True, text=True, env=env, check=False, timeout=100,
        )  # fmt: skip

    assert gnrp("migrate").returncode == 0
    assert gnrp("demo").returncode == 0  # sample rooms: two audited actions
    intact = gnrp("audit", "verify")
    assert intact.returncode == 0 and "intact: 2 entries" in intact.stdout
    import sqlite3

    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM audit_entries WHERE seq = 1")
    broken = gnrp("audit", "verify")
    assert broken.returncode == 1
    # The first entry left is where the chain no longer holds: entry 1 is missing.
    assert "broken at entry 2" in broken.stderr and "expected entry 1" in broken.stderr
