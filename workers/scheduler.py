"""The embedded default's scheduler: without Redis, the web process runs the worker's cron and
digest jobs itself, the same functions with the same retries."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from arq import Retry

from server.services.context import Services
from workers.digests import digest_job_id, plan_digests, send_digest
from workers.mail import Mailer

log = logging.getLogger("gnrp.scheduler")


class InProcessScheduler:
    """Runs ``plan_digests`` every ``digest_every_seconds`` and each queued digest as a task.
    A job id already queued or running is not queued again, as with arq."""

    def __init__(self, services: Services, mailer: Mailer) -> None:
        self._services = services
        self._mailer = mailer
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None

    def context(self) -> dict[str, Any]:
        return {"services": self._services, "mailer": self._mailer, "queue": self}

    def start(self) -> None:
        self._loop = asyncio.create_task(self._every_slot(), name="digest-cron")

    async def stop(self) -> None:
        tasks = [*self._jobs.values(), *([self._loop] if self._loop else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._jobs.clear()

    async def run_cron(self) -> dict[str, int]:
        return await plan_digests(self.context())

    async def drain(self) -> None:
        """Wait for the queued digests to finish (for the CLI and tests)."""
        while self._jobs:
            await asyncio.gather(*list(self._jobs.values()), return_exceptions=True)

    async def enqueue_digest(self, user_id: int, period: str) -> bool:
        job_id = digest_job_id(user_id, period)
        if job_id in self._jobs:
            return False
        task = asyncio.create_task(self._run(user_id, period), name=job_id)
        self._jobs[job_id] = task
        task.add_done_callback(lambda _: self._jobs.pop(job_id, None))
        return True

    async def _every_slot(self) -> None:
        every = self._services.settings.digest_every_seconds
        while True:
            # On the slot boundaries, as arq's cron would run it.
            await asyncio.sleep(every - time.time() % every)
            try:
                await self.run_cron()
            except Exception:
                log.exception("digest cron failed; trying again next slot")

    async def _run(self, user_id: int, period: str) -> None:
        for attempt in range(1, self._services.settings.worker_max_tries + 1):
            try:
                await send_digest({**self.context(), "job_try": attempt}, user_id, period)
                return
            except Retry as retry:
                await asyncio.sleep((retry.defer_score or 0) / 1000)
            except Exception:
                log.exception("digest failed", extra={"user": user_id, "period": period})
                return
