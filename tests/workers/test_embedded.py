"""The embedded default: ``gnrp serve`` with no REDIS_URL and no SMTP_URL runs the digest cron
and jobs itself and writes each digest to OUTBOX_DIR as an .eml file."""

from __future__ import annotations

import asyncio
import os
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import select

from server.db.models import Digest
from server.services.context import Services
from tests.conftest import ClientFactory
from tests.live.servers import SITE, ServerProcess
from tests.workers.test_digests import _followers_of_kenya, _three_events
from workers.mail import OutboxMailer

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@ON_SQLITE
async def test_gnrp_serve_without_redis_or_smtp_writes_each_digest_once_to_the_outbox(
    new_client: ClientFactory, services: Services, tmp_path: Path
) -> None:
    moderator, users = await _followers_of_kenya(new_client, services, 2)
    initiative = await _three_events(moderator)
    outbox = tmp_path / "outbox"
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "SMTP_URL")}
    server = ServerProcess(
        env={
            **env,
            "DATABASE_URL": services.settings.database_url,
            "SECRET_KEY": services.settings.secret_key,
            "BASE_URL": SITE,
            "ALLOWED_HOSTS": "127.0.0.1",
            "OUTBOX_DIR": str(outbox),
            "DIGEST_EVERY_SECONDS": "1",
        },
        log_dir=tmp_path,
        name="embedded",
    )
    server.start()
    try:
        end = time.monotonic() + 30
        while len(list(outbox.glob("*.eml"))) < 2:
            assert time.monotonic() < end, server.log_path.read_text()[-3000:]
            await asyncio.sleep(0.1)
        # Several more cron runs: still one file per user, and no half-written one.
        log = server.log_path
        end = time.monotonic() + 30
        while log.read_text().count('"digests planned"') < 4:
            assert time.monotonic() < end, log.read_text()[-3000:]
            await asyncio.sleep(0.1)
    finally:
        server.stop()
    files = sorted(outbox.iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    messages = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert sorted(str(m["To"]) for m in messages) == sorted(u.email for u in users)
    for message in messages:
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert initiative["title"] in text
    # The outbox would overwrite a resend of the same Message-ID: the rows say each was sent once.
    async with services.read() as session:
        digests = (await session.exec(select(Digest))).all()
    assert sorted((d.user_id, d.status, d.attempts) for d in digests) == sorted(
        (u.id, "sent", 1) for u in users
    )


async def test_the_outbox_keeps_one_file_per_message_id(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "new" / "outbox")
    for body in ("first", "second"):
        message = EmailMessage()
        message["To"] = "a@example.org"
        message["Message-ID"] = "<digest.2026-12-03.7.abc@gnrp.test>"
        message.set_content(body)
        await mailer.send(message)
    [written] = (tmp_path / "new" / "outbox").iterdir()
    assert written.name == "digest.2026-12-03.7.abc_gnrp.test.eml"
    assert b"second" in written.read_bytes()
