"""Digests end to end in one process: cron, claim, render, SMTP to a real server (aiosmtpd),
unsubscribe, and what happens when the sender dies or the server says no. The same job code
runs under arq in tests/workers/test_worker.py."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from arq import Retry
from sqlmodel import col, select

from server.db.models import Digest, Notification, User
from server.domain.digest import due_period, unsubscribe_token
from server.services.context import Services
from tests.api.test_initiatives import MEASURE
from tests.conftest import ClientFactory
from tests.helpers import count, make_room, make_thread, signed_in
from tests.workers.conftest import SmtpServer
from workers.digests import deliver_digest, preview_digest
from workers.mail import Mailer, SmtpMailer
from workers.scheduler import InProcessScheduler


async def _run_cron(services: Services, mailer: Mailer) -> dict[str, int]:
    scheduler = InProcessScheduler(services, mailer)
    planned = await scheduler.run_cron()
    await scheduler.drain()
    return planned


async def _followers_of_kenya(
    new_client: ClientFactory, services: Services, how_many: int
) -> tuple[httpx.AsyncClient, list[Any]]:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    users = []
    for _ in range(how_many):
        client = await new_client()
        users.append(await signed_in(client, services))
        response = await client.put("/api/subscriptions/country:KE", json={"level": "live"})
        assert response.status_code == 200
    return moderator, users


async def _three_events(moderator: httpx.AsyncClient) -> dict[str, Any]:
    created = await moderator.post("/api/initiatives", json=MEASURE)
    assert created.status_code == 201, created.text
    initiative: dict[str, Any] = created.json()["initiative"]
    path = f"/api/initiatives/{initiative['id']}"
    edited = await moderator.patch(path, json={"kind": "update", "note": "n", "phase": "recovery"})
    assert edited.status_code == 200
    verified = await moderator.put(f"{path}/verification", json={"state": "verified", "note": ""})
    assert verified.status_code == 200
    return initiative


def _period(services: Services) -> str:
    return due_period("daily", services.clock(), hour=services.settings.digest_hour).key


async def _digest(services: Services, user_id: int) -> Digest:
    async with services.read() as session:
        return (await session.exec(select(Digest).where(Digest.user_id == user_id))).one()


def _unsubscribe_path(message: EmailMessage) -> str:
    header = str(message["List-Unsubscribe"]).strip()
    found = re.fullmatch(r"<http://gnrp\.test(/unsubscribe\?token=[\w.-]+)>", header)
    assert found, header
    return found.group(1)


async def test_two_followers_three_events_one_email_each_then_none(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator, users = await _followers_of_kenya(new_client, services, 2)
    initiative = await _three_events(moderator)
    mailer = SmtpMailer(smtp.url)

    assert (await _run_cron(services, mailer))["queued"] == 2
    messages = smtp.sink.messages
    assert sorted(m["To"] for m in messages) == sorted(u.email for u in users)
    for user in users:
        [message] = smtp.sink.to(user.email)
        digest = await _digest(services, user.id)
        assert digest.status == "sent" and digest.period == _period(services)
        assert message["Message-ID"] == digest.message_id
        assert message["Message-ID"].endswith("@gnrp.test>")
        assert message["From"] == services.settings.mail_from
        assert message["Subject"].startswith("Your GNRP Live daily digest: 3 updates")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Auto-Submitted"] == "auto-generated"
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "== Kenya ==" in text
        for reason in ("(New measure)", "(Measure updated)", "(Measure verified)"):
            assert f"{initiative['title']} {reason}" in text
        assert f"http://gnrp.test/initiatives/{initiative['id']}" in text
        assert f'href="http://gnrp.test/initiatives/{initiative["id"]}"' in html
        async with services.read() as session:
            carried = (
                await session.exec(select(Notification).where(Notification.user_id == user.id))
            ).all()
        assert [n.digest_id for n in carried] == [digest.id] * 3

    # The cron again: nothing new, no second e-mail, for either of them.
    assert (await _run_cron(services, mailer))["queued"] == 0
    assert len(smtp.sink.messages) == 2

    # The one-click unsubscribe (RFC 8058): the mail provider POSTs, with no cookie and no
    # login; the link alone turns the digest off. A GET only asks.
    path = _unsubscribe_path(smtp.sink.to(users[0].email)[0])
    outsider = await new_client()
    outsider.headers.pop("Origin")
    asked = await outsider.get(path)
    assert asked.status_code == 200 and "Stop digest e-mails" in asked.text
    assert await _digest_setting(services, users[0].id) == "daily"
    one_click = await outsider.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200 and "no more digest e-mails" in one_click.text
    assert await _digest_setting(services, users[0].id) == "off"
    assert await _digest_setting(services, users[1].id) == "daily"


async def _digest_setting(services: Services, user_id: int) -> str:
    async with services.read() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.digest


async def test_a_forged_or_altered_unsubscribe_link_changes_nothing(
    new_client: ClientFactory, services: Services
) -> None:
    client = await new_client()
    user = await signed_in(client, services)
    good = unsubscribe_token(services.settings.secret_key, user.id)
    other_user = f"{user.id + 1}.{good.split('.')[1]}"
    for token in ["", "abc", f"{user.id}.", f"{user.id}.{'0' * 32}", other_user, good + "x"]:
        response = await client.post(f"/unsubscribe?token={token}")
        assert response.status_code == 400, token
    assert await _digest_setting(services, user.id) == "daily"


async def test_nothing_new_sends_nothing_and_read_notifications_are_not_mailed(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator, [reader, quiet] = await _followers_of_kenya(new_client, services, 2)
    mailer = SmtpMailer(smtp.url)
    assert (await _run_cron(services, mailer))["due"] == 0
    await _three_events(moderator)
    async with services.write() as tx:
        rows = await tx.session.exec(select(Notification).where(Notification.user_id == reader.id))
        for row in rows.all():
            row.read_at = tx.now
            tx.session.add(row)
    assert (await _run_cron(services, mailer))["queued"] == 1
    assert [m["To"] for m in smtp.sink.messages] == [quiet.email]
    # The digest of someone with nothing new is claimed as empty and sends nothing.
    assert (
        await deliver_digest(
            services, mailer, user_id=reader.id, period=_period(services), attempt=1
        )
        == "nothing new"
    )
    assert (await _digest(services, reader.id)).status == "empty"
    assert len(smtp.sink.messages) == 1


async def test_a_digest_whose_rooms_the_reader_can_no_longer_read_sends_nothing(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator, reader_client = await new_client(), await new_client()
    await signed_in(moderator, services, role="moderator")
    reader = await signed_in(reader_client, services, role="regulator")
    await make_room(moderator, slug="regulators-desk", visibility="regulators")
    followed = await reader_client.put(
        "/api/subscriptions/room:regulators-desk", json={"level": "digest"}
    )
    assert followed.status_code == 200
    await make_thread(moderator, slug="regulators-desk", title="For regulators only")
    assert await count(services, Notification) == 1
    demoted = await moderator.patch(f"/api/users/{reader.id}", json={"role": "member"})
    assert demoted.status_code == 200, demoted.text

    mailer = SmtpMailer(smtp.url)
    assert (
        await deliver_digest(
            services, mailer, user_id=reader.id, period=_period(services), attempt=1
        )
        == "nothing new"
    )
    assert smtp.sink.messages == []
    assert (await _digest(services, reader.id)).status == "empty"
    assert (await _run_cron(services, mailer))["due"] == 0  # the period is done
    assert smtp.sink.messages == []


async def test_preview_prints_the_next_digest_without_sending_or_marking(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="crisis")
    reader_client = await new_client()
    reader = await signed_in(reader_client, services)
    await reader_client.put("/api/subscriptions/room:crisis", json={"level": "digest"})
    thread = await make_thread(moderator, slug="crisis", title="Traffic peaks at night")
    await moderator.post(
        f"/api/threads/{thread['id']}/messages", json={"body": f"@{reader.handle} any data?"}
    )
    text = await preview_digest(services, user_id=reader.id, now=services.clock())
    assert text is not None
    assert text.startswith("Subject: Your GNRP Live daily digest: 2 updates")
    assert "== Crisis ==" in text and "Traffic peaks at night" in text
    assert "New thread by " in text and "Mention by " in text
    assert await count(services, Digest) == 0 and smtp.sink.messages == []
    async with services.read() as session:
        rows = (
            await session.exec(select(Notification).where(Notification.user_id == reader.id))
        ).all()
    assert all(row.digest_id is None for row in rows)


class DiesBeforeSending:
    """The process dies after the claim, before a byte reaches the SMTP server."""

    async def send(self, message: EmailMessage) -> None:
        raise SystemExit("killed")


class DiesAfterSending:
    """The process dies once the server has the message, before the digest is marked."""

    def __init__(self, inner: Mailer) -> None:
        self.inner = inner

    async def send(self, message: EmailMessage) -> None:
        await self.inner.send(message)
        raise SystemExit("killed")


async def _deliver(
    services: Services, mailer: Mailer, user_id: int, period: str, attempt: int
) -> str:
    return await deliver_digest(services, mailer, user_id=user_id, period=period, attempt=attempt)


def _later(services: Services, seconds: float) -> None:
    moment = services.clock() + timedelta(seconds=seconds)
    services.clock = lambda: moment


async def _claimed_by_an_attempt_that_died(
    new_client: ClientFactory, services: Services
) -> tuple[Any, str]:
    """A follower of Kenya with three events, whose digest an attempt claimed and then died."""
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    await _three_events(moderator)
    period = _period(services)
    with pytest.raises(SystemExit):
        await deliver_digest(
            services, DiesBeforeSending(), user_id=user.id, period=period, attempt=1
        )
    return user, period


async def test_killed_after_claiming_and_before_sending_sends_exactly_once(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    user, period = await _claimed_by_an_attempt_that_died(new_client, services)
    mailer = SmtpMailer(smtp.url)
    # Restarted at once, the claim is still leased to the dead attempt: nobody sends yet.
    assert await _deliver(services, mailer, user.id, period, 1) == "busy"
    assert smtp.sink.messages == []
    # Once the lease has run out, the retry (or the next cron run) sends it, once.
    _later(services, services.settings.worker_job_timeout + 1)
    assert (await _run_cron(services, mailer))["queued"] == 1
    assert len(smtp.sink.messages) == 1
    assert (await _digest(services, user.id)).status == "sent"
    assert await _deliver(services, mailer, user.id, period, 2) == "done"
    assert len(smtp.sink.messages) == 1


async def test_a_claimed_digest_is_not_resent_once_the_reader_has_turned_digests_off(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    user, period = await _claimed_by_an_attempt_that_died(new_client, services)
    async with services.write() as tx:
        row = await tx.session.get(User, user.id)
        assert row is not None
        row.digest = "off"
        tx.session.add(row)
    _later(services, services.settings.worker_job_timeout + 1)
    mailer = SmtpMailer(smtp.url)
    assert await _deliver(services, mailer, user.id, period, 2) == "off"
    digest = await _digest(services, user.id)
    assert digest.status == "failed" and "turned off" in digest.error
    assert (await _run_cron(services, mailer))["due"] == 0  # no longer stale: never retried
    assert smtp.sink.messages == []


async def test_killed_after_sending_and_before_marking_resends_the_same_message_id_once(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    await _three_events(moderator)
    period = _period(services)
    mailer = SmtpMailer(smtp.url)
    with pytest.raises(SystemExit):
        await deliver_digest(
            services, DiesAfterSending(mailer), user_id=user.id, period=period, attempt=1
        )
    # New notifications after the claim wait for the next period: the resend is the same mail.
    await moderator.post("/api/initiatives", json={**MEASURE, "title": "Later measure"})
    _later(services, services.settings.worker_job_timeout + 1)
    assert await _deliver(services, mailer, user.id, period, 2) == "resent"
    first, second = smtp.sink.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first.get_body(("plain",)).get_content() == second.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Later measure" not in second.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    digest = await _digest(services, user.id)
    assert digest.status == "sent" and digest.attempts == 2
    _later(services, services.settings.worker_job_timeout + 1)
    await _run_cron(services, mailer)  # the later measure is for the next period, not this one
    assert await _deliver(services, mailer, user.id, period, 3) == "done"
    assert len(smtp.sink.messages) == 2


async def test_a_4xx_is_retried_with_backoff_and_then_sent(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    await _three_events(moderator)
    period = _period(services)
    mailer = SmtpMailer(smtp.url)
    smtp.sink.defer = 2
    waits = []
    for attempt in (1, 2):
        with pytest.raises(Retry) as retried:
            await deliver_digest(services, mailer, user_id=user.id, period=period, attempt=attempt)
        waits.append(retried.value.defer_score)
        digest = await _digest(services, user.id)
        assert digest.status == "claimed" and digest.error.startswith("451")
    base = services.settings.mail_retry_seconds * 1000
    assert waits == [base, 2 * base]  # exponential backoff
    assert await _deliver(services, mailer, user.id, period, 3) == "resent"
    assert len(smtp.sink.messages) == 1 and smtp.sink.deferred == 2
    assert (await _digest(services, user.id)).status == "sent"


async def test_a_4xx_on_the_last_try_marks_the_digest_failed(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    await _three_events(moderator)
    smtp.sink.defer = 100
    last = services.settings.worker_max_tries
    outcome = await deliver_digest(
        services, SmtpMailer(smtp.url), user_id=user.id, period=_period(services), attempt=last
    )
    assert outcome == "failed"
    digest = await _digest(services, user.id)
    assert digest.status == "failed" and digest.error.startswith(f"gave up after {last} tries: 451")


async def test_a_5xx_for_one_recipient_fails_theirs_and_sends_the_others(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator, [refused, fine] = await _followers_of_kenya(new_client, services, 2)
    await _three_events(moderator)
    smtp.sink.refuse[refused.email] = "550 5.1.1 No such mailbox"
    await _run_cron(services, SmtpMailer(smtp.url))
    assert [m["To"] for m in smtp.sink.messages] == [fine.email]
    failed = await _digest(services, refused.id)
    assert failed.status == "failed" and failed.error == "550 5.1.1 No such mailbox"
    assert (await _digest(services, fine.id)).status == "sent"
    # A failed period is not retried by the next cron run.
    await _run_cron(services, SmtpMailer(smtp.url))
    assert len(smtp.sink.messages) == 1


async def test_weekly_readers_get_one_digest_per_iso_week(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    patched = await (await _client_of(new_client, services, user)).patch(
        "/api/me", json={"digest": "weekly"}
    )
    assert patched.status_code == 200
    await _three_events(moderator)
    mailer = SmtpMailer(smtp.url)
    await _run_cron(services, mailer)
    [message] = smtp.sink.messages
    assert message["Subject"].startswith("Your GNRP Live weekly digest")
    assert re.fullmatch(r"\d{4}-W\d{2}", (await _digest(services, user.id)).period)
    await moderator.post("/api/initiatives", json={**MEASURE, "title": "Second"})
    await _run_cron(services, mailer)  # same week: the news waits for next week's digest
    assert len(smtp.sink.messages) == 1


async def _client_of(new_client: ClientFactory, services: Services, user: Any) -> httpx.AsyncClient:
    client = await new_client()
    response = await client.post(
        "/api/auth/login", json={"email": user.email, "password": "correct horse battery"}
    )
    assert response.status_code == 200
    return client


def test_periods_are_days_and_iso_weeks_from_the_digest_hour() -> None:
    utc = datetime.fromisoformat
    assert due_period("daily", utc("2026-12-03T06:59:00+00:00"), hour=7).key == "2026-12-02"
    assert due_period("daily", utc("2026-12-03T07:00:00+00:00"), hour=7).key == "2026-12-03"
    # 2026-12-07 is a Monday: weekly digests are due from its digest hour.
    assert due_period("weekly", utc("2026-12-07T06:00:00+00:00"), hour=7).key == "2026-W49"
    assert due_period("weekly", utc("2026-12-07T07:00:00+00:00"), hour=7).key == "2026-W50"
    assert due_period("weekly", utc("2026-12-13T23:00:00+00:00"), hour=7).key == "2026-W50"


async def test_digests_are_only_for_those_who_want_them(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator, [off, disabled] = await _followers_of_kenya(new_client, services, 2)
    await _three_events(moderator)
    async with services.write() as tx:
        for user_id, values in ((off.id, {"digest": "off"}), (disabled.id, {"disabled": True})):
            user = await tx.session.get(User, user_id)
            assert user is not None
            for name, value in values.items():
                setattr(user, name, value)
            tx.session.add(user)
    assert (await _run_cron(services, SmtpMailer(smtp.url)))["due"] == 0
    outcome = await deliver_digest(
        services, SmtpMailer(smtp.url), user_id=off.id, period=_period(services), attempt=1
    )
    assert outcome == "off" and smtp.sink.messages == []
    async with services.read() as session:
        assert (await session.exec(select(Digest).where(col(Digest.user_id) == off.id))).all() == []


async def test_gnrp_digest_preview_prints_the_text_and_sends_nothing(
    new_client: ClientFactory, services: Services, smtp: SmtpServer
) -> None:
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    initiative = await _three_events(moderator)
    env = {
        **os.environ,
        "DATABASE_URL": services.settings.database_url,
        "SECRET_KEY": services.settings.secret_key,
        "BASE_URL": services.settings.base_url,
        "SMTP_URL": smtp.url,
    }

    async def preview(email: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "digest", "preview", "--user", email,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    code, out, _ = await preview(user.email.upper())
    assert code == 0 and out.startswith("Subject: Your GNRP Live daily digest: 3 updates")
    assert f"{initiative['title']} (Measure verified)" in out and "/unsubscribe?token=" in out
    code, out, err = await preview("nobody@example.org")
    assert code == 1 and out == "" and "no account" in err
    assert smtp.sink.messages == [] and await count(services, Digest) == 0
