"""The arq worker as it runs in production: ``gnrp worker`` processes, a Redis of the test's own
(fresh keys, and one that can be restarted), PostgreSQL, and a real SMTP server."""

from __future__ import annotations

import asyncio
import os
import pickle
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from arq.connections import ArqRedis, create_pool
from sqlmodel import select

from server.db.models import Digest
from server.domain.digest import due_period
from server.services.context import Services
from server.settings import Settings
from tests.conftest import ClientFactory
from tests.live.conftest import ON_POSTGRES
from tests.live.servers import RedisServer
from tests.workers.conftest import SmtpServer
from tests.workers.test_digests import _followers_of_kenya, _three_events
from tests.workers.worker_process import DIED
from workers.settings import ArqDigestQueue, queue_name, redis_settings, serialize_job

pytestmark = [ON_POSTGRES, pytest.mark.timeout(120)]

JOB_TIMEOUT = 2  # seconds: arq runs a dead worker's job again 10 s after this


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_dir: Path, name: str, *argv: str) -> None:
        self.log_path = log_dir / f"{name}.log"
        command = argv or ("-m", "server.cli", "worker")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *command], env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                found.append(orjson.loads(line))
        return found

    async def exited(self, deadline: float = 30) -> int:
        end = time.monotonic() + deadline
        while self.process.poll() is None:
            if time.monotonic() > end:
                raise TimeoutError(f"the worker did not exit:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)
        return self.process.returncode

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


class Rig:
    """Workers and the Redis they share, for one test."""

    def __init__(self, settings: Settings, redis: RedisServer, smtp: SmtpServer, tmp: Path) -> None:
        self.redis = redis
        self.smtp = smtp
        self.tmp = tmp
        self.settings = settings
        self.workers: list[WorkerProcess] = []
        self.env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": redis.url,
            "SMTP_URL": smtp.url,
            "SECRET_KEY": settings.secret_key,
            "BASE_URL": settings.base_url,
            "WORKER_JOB_TIMEOUT": str(JOB_TIMEOUT),
            "MAIL_RETRY_SECONDS": "1",
            "DIGEST_EVERY_SECONDS": "3600",
            "LOG_LEVEL": "INFO",
        }

    def worker(self, *argv: str, **env: str) -> WorkerProcess:
        name = f"worker{len(self.workers) + 1}"
        process = WorkerProcess({**self.env, **env}, self.tmp, name, *argv)
        self.workers.append(process)
        return process

    async def pool(self) -> ArqRedis:
        return await create_pool(
            redis_settings(self.redis.url),
            job_serializer=serialize_job,
            job_deserializer=orjson.loads,
            default_queue_name=queue_name(self.settings),
        )

    async def enqueue(self, user_id: int, period: str) -> bool:
        pool = await self.pool()
        try:
            return await ArqDigestQueue(pool, queue_name(self.settings)).enqueue_digest(
                user_id, period
            )
        finally:
            await pool.aclose()

    async def idle(self, deadline: float = 40) -> None:
        """Wait until no digest job is queued or running (the cron's next run always is)."""
        pool = await self.pool()
        try:
            end = time.monotonic() + deadline
            while True:
                queue = await pool.zrange(queue_name(self.settings), 0, -1)
                queued = [job for job in queue if job.startswith(b"digest:")]
                running = await pool.keys("arq:in-progress:digest:*")
                if not queued and not running:
                    return
                if time.monotonic() > end:
                    raise TimeoutError(f"still busy: {queued} queued, {running} running")
                await asyncio.sleep(0.1)
        finally:
            await pool.aclose()

    async def messages(self, count: int, deadline: float = 40) -> None:
        end = time.monotonic() + deadline
        while len(self.smtp.sink.messages) < count:
            if time.monotonic() > end:
                logs = "\n".join(w.log()[-2000:] for w in self.workers)
                raise TimeoutError(
                    f"{count} e-mails expected, got {len(self.smtp.sink.messages)}\n{logs}"
                )
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def rig(
    settings: Settings, redis: RedisServer, smtp: SmtpServer, tmp_path: Path
) -> AsyncIterator[Rig]:
    made = Rig(settings, redis, smtp, tmp_path)
    try:
        yield made
    finally:
        made.stop()


def _period(services: Services) -> str:
    return due_period("daily", services.clock(), hour=services.settings.digest_hour).key


async def _digest(services: Services, user_id: int) -> Digest:
    async with services.read() as session:
        return (await session.exec(select(Digest).where(Digest.user_id == user_id))).one()


async def test_the_same_job_enqueued_twice_runs_once(
    new_client: ClientFactory, services: Services, rig: Rig
) -> None:
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    await _three_events(moderator)
    period = _period(services)
    assert await rig.enqueue(user.id, period) is True
    assert await rig.enqueue(user.id, period) is False
    rig.worker()
    await rig.messages(1)
    await rig.idle()
    assert await rig.enqueue(user.id, period) is False  # its result is kept: still one job
    assert len(rig.smtp.sink.messages) == 1
    assert (await _digest(services, user.id)).status == "sent"


async def test_two_workers_running_the_cron_run_each_slot_once(
    new_client: ClientFactory, services: Services, rig: Rig
) -> None:
    moderator, users = await _followers_of_kenya(new_client, services, 2)
    await _three_events(moderator)
    first = rig.worker(DIGEST_EVERY_SECONDS="1")
    second = rig.worker(DIGEST_EVERY_SECONDS="1")
    await rig.messages(2)

    def runs() -> list[str]:
        return [
            line["job"]
            for worker in (first, second)
            for line in worker.lines()
            if line.get("message") == "digests planned"
        ]

    end = time.monotonic() + 30
    while len(set(runs())) < 4:
        assert time.monotonic() < end, "the cron did not run four times"
        await asyncio.sleep(0.1)
    slots = runs()
    assert len(slots) == len(set(slots)), slots  # no slot ran in both workers
    await rig.idle()
    assert sorted(m["To"] for m in rig.smtp.sink.messages) == sorted(u.email for u in users)


async def test_a_worker_killed_after_claiming_and_before_sending_sends_once_after_restart(
    new_client: ClientFactory, services: Services, rig: Rig
) -> None:
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    await _three_events(moderator)
    dying = rig.worker("-m", "tests.workers.worker_process", "die-before-send")
    assert await rig.enqueue(user.id, _period(services))
    assert await dying.exited() == DIED
    assert rig.smtp.sink.messages == []
    assert (await _digest(services, user.id)).status == "claimed"
    rig.worker()  # arq runs the dead worker's job again once its in-progress mark expires
    await rig.messages(1)
    await rig.idle()
    assert len(rig.smtp.sink.messages) == 1
    assert (await _digest(services, user.id)).status == "sent"


async def test_a_worker_killed_after_sending_and_before_marking_resends_once(
    new_client: ClientFactory, services: Services, rig: Rig
) -> None:
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    await _three_events(moderator)
    period = _period(services)
    dying = rig.worker("-m", "tests.workers.worker_process", "die-after-send")
    assert await rig.enqueue(user.id, period)
    assert await dying.exited() == DIED
    assert len(rig.smtp.sink.messages) == 1
    rig.worker(DIGEST_EVERY_SECONDS="1")  # with the cron on, which must not add a third
    await rig.messages(2)
    await rig.idle()
    first, second = rig.smtp.sink.messages
    assert first["Message-ID"] == second["Message-ID"]
    digest = await _digest(services, user.id)
    assert digest.status == "sent" and digest.attempts == 2
    # A few cron slots later, still two.
    worker = rig.workers[-1]
    end = time.monotonic() + 20
    while sum(line.get("message") == "digests planned" for line in worker.lines()) < 3:
        assert time.monotonic() < end
        await asyncio.sleep(0.1)
    await rig.idle()
    assert len(rig.smtp.sink.messages) == 2


async def test_the_worker_survives_a_redis_restart_and_takes_the_next_job(
    new_client: ClientFactory, services: Services, rig: Rig
) -> None:
    moderator, [before, after] = await _followers_of_kenya(new_client, services, 2)
    await _three_events(moderator)
    period = _period(services)
    worker = rig.worker()
    assert await rig.enqueue(before.id, period)
    await rig.messages(1)
    rig.redis.stop()
    await asyncio.sleep(2)  # the outage itself: the worker polls (and fails) several times
    rig.redis.start()
    assert worker.process.poll() is None, worker.log()[-3000:]
    assert await rig.enqueue(after.id, period)
    await rig.messages(2)
    assert [m["To"] for m in rig.smtp.sink.messages] == [before.email, after.email]
    assert worker.process.poll() is None


class PlantedPayload:
    """What a pickle could do when loaded: here, leave a file behind."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


async def test_a_pickled_payload_in_the_queue_is_refused_not_run(
    new_client: ClientFactory, services: Services, rig: Rig, tmp_path: Path
) -> None:
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    await _three_events(moderator)
    marker = tmp_path / "unpickled"
    job = {
        "t": 1,
        "f": "send_digest",
        "a": (user.id, _period(services), PlantedPayload(marker)),
        "k": {},
        "et": int(time.time() * 1000),
    }
    pool = await rig.pool()
    try:
        await pool.set("arq:job:planted", pickle.dumps(job))
        await pool.zadd(queue_name(rig.settings), {"planted": time.time() * 1000})
    finally:
        await pool.aclose()
    worker = rig.worker()
    end = time.monotonic() + 30
    while "deserializing job planted failed" not in worker.log():
        assert time.monotonic() < end, worker.log()[-3000:]
        await asyncio.sleep(0.05)
    await rig.idle()
    assert not marker.exists()
    assert rig.smtp.sink.messages == []
    async with services.read() as session:
        assert (await session.exec(select(Digest))).all() == []
    # The worker goes on with real jobs.
    assert await rig.enqueue(user.id, _period(services))
    await rig.messages(1)
    assert worker.process.poll() is None


async def test_an_smtp_4xx_is_retried_by_arq_after_its_backoff(
    new_client: ClientFactory, services: Services, rig: Rig
) -> None:
    moderator, [user] = await _followers_of_kenya(new_client, services, 1)
    await _three_events(moderator)
    rig.smtp.sink.defer = 2
    worker = rig.worker()
    assert await rig.enqueue(user.id, _period(services))
    await rig.messages(1)
    await rig.idle()
    assert rig.smtp.sink.deferred == 2 and len(rig.smtp.sink.messages) == 1
    # MAIL_RETRY_SECONDS=1: the first retry after 1 s, the second after 2 s.
    assert "retrying job in 1.00s" in worker.log() and "retrying job in 2.00s" in worker.log()
    digest = await _digest(services, user.id)
    assert digest.status == "sent" and digest.attempts == 3
