"""The arq worker: ``WorkerSettings`` (what every worker runs) and ``build_worker`` (the parts
that come from the environment: Redis, the cron's schedule, timeouts).

Jobs go over Redis as JSON. A payload that is not JSON (a pickle planted in the queue, say) is
refused as undecodable and never run."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from arq import cron
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Function, Worker, func
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.app import build_services
from server.settings import Settings
from workers.digests import digest_job_id, plan_digests, send_digest
from workers.mail import Mailer, build_mailer


def serialize_job(value: Any) -> bytes:
    # Results may hold an exception: stored as its repr, never as a pickle.
    return orjson.dumps(value, default=repr)


def deserialize_job(raw: bytes) -> Any:
    return orjson.loads(raw)


def queue_name(settings: Settings) -> str:
    return f"{settings.redis_prefix}digests"


def redis_settings(url: str) -> RedisSettings:
    """Connection settings that ride out a Redis restart: every command is retried with
    backoff (up to about two minutes) instead of failing, and the connect is retried too."""
    return dataclasses.replace(
        RedisSettings.from_dsn(url),
        conn_retries=30,
        conn_retry_delay=1,
        retry_on_timeout=True,
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionError, OSError],
        retry=Retry(ExponentialBackoff(cap=5.0, base=0.1), retries=40),
    )


class ArqDigestQueue:
    """Digest jobs on arq's queue. The job id makes a second enqueue of one digest a no-op."""

    def __init__(self, pool: ArqRedis, queue: str) -> None:
        self._pool = pool
        self._queue = queue

    async def enqueue_digest(self, user_id: int, period: str) -> bool:
        job = await self._pool.enqueue_job(
            "send_digest",
            user_id,
            period,
            _job_id=digest_job_id(user_id, period),
            _queue_name=self._queue,
        )
        return job is not None


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["services"] = build_services(settings)
    ctx.setdefault("mailer", build_mailer(settings))
    ctx["queue"] = ArqDigestQueue(ctx["redis"], queue_name(settings))


async def shutdown(ctx: dict[str, Any]) -> None:
    services = ctx.get("services")
    if services is not None:
        await services.close()


class WorkerSettings:
    """What every GNRP worker runs, as arq reads it. ``build_worker`` adds the rest."""

    functions: tuple[Function, ...] = (func(send_digest, name="send_digest"),)
    job_serializer = staticmethod(serialize_job)
    job_deserializer = staticmethod(deserialize_job)
    on_startup = staticmethod(startup)
    on_shutdown = staticmethod(shutdown)


def cron_schedule(every_seconds: int) -> dict[str, Any]:
    """arq cron fields for "every N seconds": N under a minute runs on those seconds of every
    minute, otherwise on every N/60th minute at second 0."""
    if every_seconds < 60:
        step = max(every_seconds, 1)
        return {"second": set(range(0, 60, step))}
    step = max(every_seconds // 60, 1)
    return {"minute": set(range(0, 60, step)), "second": 0}


def build_worker(
    settings: Settings, *, mailer: Mailer | None = None, burst: bool = False
) -> Worker:
    """A worker for ``settings``. Every worker runs the cron (``DIGEST_EVERY_SECONDS=0`` turns
    it off); arq gives each run a job id per time slot, so with several workers each slot still
    runs once."""
    if not settings.redis_url:
        raise ValueError("the worker needs REDIS_URL; without it `gnrp serve` sends digests")
    ctx: dict[str, Any] = {"settings": settings}
    if mailer is not None:
        ctx["mailer"] = mailer
    crons = [
        cron(
            plan_digests,
            name="plan_digests",
            unique=True,
            # The slot's result is kept, so that a worker whose clock runs late cannot enqueue a
            # slot again once another worker has finished it.
            keep_result=max(settings.digest_every_seconds, 60),
            timeout=settings.worker_job_timeout,
            **cron_schedule(settings.digest_every_seconds),
        )
    ]
    return Worker(
        functions=WorkerSettings.functions,
        cron_jobs=crons if settings.digest_every_seconds > 0 else [],
        queue_name=queue_name(settings),
        redis_settings=redis_settings(settings.redis_url),
        job_serializer=WorkerSettings.job_serializer,
        job_deserializer=WorkerSettings.job_deserializer,
        on_startup=WorkerSettings.on_startup,
        on_shutdown=WorkerSettings.on_shutdown,
        ctx=ctx,
        burst=burst,
        job_timeout=settings.worker_job_timeout,
        max_tries=settings.worker_max_tries,
        timezone=None,
    )
